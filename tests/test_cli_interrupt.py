"""Ctrl-C during a build leaves no half-written output, and a rerun reuses every answer already cached."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson

from tests.fakeapi import FakeAPIServer, FakeConfig

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "a_class_per_file"


def test_interrupted_build_leaves_nothing_and_rerun_reuses_answers(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo)
    # request 0 (the warm-up call) answers at once; the fan-out calls hang long enough to interrupt them
    config = FakeConfig(latency=lambda i: 0.0 if i == 0 else 30.0)
    with FakeAPIServer(config) as server:
        env = {**os.environ, "ANTHROPIC_BASE_URL": server.base_url, "ANTHROPIC_API_KEY": "sk-test-interrupt"}
        run = [sys.executable, "-m", "dvsmith"]
        assert subprocess.run([*run, "ingest", str(repo)], env=env, capture_output=True).returncode == 0
        out = tmp_path / "out"
        proc = subprocess.Popen(
            [*run, "build", "--provider", "anthropic", "--out", str(out)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while server.request_count < 4 and time.monotonic() < deadline:  # warm-up done, fan-out in flight
            time.sleep(0.05)
        assert server.request_count >= 4
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode != 0
        assert "Traceback" not in err
        assert not out.exists()
        assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")], "temp output left behind"

        server.config.latency = 0.0
        server.reset()
        again = subprocess.run(
            [*run, "build", "--provider", "anthropic", "--out", str(out), "--json"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        report = orjson.loads(again.stdout)
        assert report["ai"]["cache_hits"] == 1  # the warm-up answer finished before Ctrl-C and was cached
        assert report["ai"]["calls"] == len(report["tasks"]) - 1


def test_ctrl_c_ends_the_command_even_when_the_work_swallows_the_cancellation() -> None:
    """The flake this file once had: an interrupted build that went on and exited 0 (a library turned the
    cancellation into its own error). The command now ends as interrupted whatever the work does."""
    import asyncio

    import pytest

    from dvsmith.cli.common import run_async as _run_async

    seen: list[str] = []

    async def stubborn() -> str:
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGINT)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen.append("cancelled")  # and swallowed, as an HTTP client may do
        return "finished anyway"

    with pytest.raises(KeyboardInterrupt):
        _run_async(stubborn())
    assert seen == ["cancelled"]  # Ctrl-C cancelled the work at once

    async def fine() -> str:
        return "done"

    assert _run_async(fine()) == "done"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Python's own handler is back


_TERM_SCRIPT = """
import os, sys
from pathlib import Path
import typer
from dvsmith.cli.common import guard as _guard
from dvsmith.cli.common import run_async as _run_async
from dvsmith.sim.base import run_process

out = Path(sys.argv[1])
try:
    _guard(lambda: _run_async(run_process(["sleep", "300"], cwd=out, env=dict(os.environ),
                                          stdout_path=out / "sim.log", sandbox_writable=[out])))
except typer.Exit as e:
    sys.exit(e.exit_code)
"""


def test_sigterm_kills_the_running_simulation_and_exits_143(tmp_path: Path) -> None:
    """`timeout`, `kill` or a cancelled CI job send SIGTERM: handled as Ctrl-C (the simulator's process
    group is killed, nothing is left running), exit 143. Before, the simulations outlived dvsmith."""
    proc = subprocess.Popen([sys.executable, "-c", _TERM_SCRIPT, str(tmp_path)], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    sleepers: list[int] = []
    while not sleepers and time.monotonic() < deadline:
        time.sleep(0.1)
        sleepers = _sleep_300_pids()
    assert sleepers, "the child simulation never started"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and "terminated" in err and "Traceback" not in err
    deadline = time.monotonic() + 10
    while _sleep_300_pids() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not set(_sleep_300_pids()) & set(sleepers)


def _sleep_300_pids() -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd[:2] == [b"sleep", b"300"]:
                pids.append(int(d.name))
    return pids
