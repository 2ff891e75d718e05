"""The run sandbox (issue 9, item 4), tested with tiny shell scripts through the same ``run_process`` the
simulator runs go through (no simulator needed)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from dvsmith.sim import sandbox
from dvsmith.sim.base import ProcessOutcome, run_process

SH = shutil.which("sh") or "/bin/sh"


def _alive(pid: int) -> bool:
    st = sandbox._stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def _run(script: str, work: Path, *, sandboxed: bool = False, timeout_s: float | None = 60) -> ProcessOutcome:
    work.mkdir(parents=True, exist_ok=True)
    return asyncio.run(
        run_process(
            [SH, "-c", script],
            cwd=work,
            env=dict(os.environ),
            stdout_path=work / "out.log",
            timeout_s=timeout_s,
            sandbox_writable=[work] if sandboxed else None,
        )
    )


def _pid(path: Path) -> int:
    for _ in range(200):  # the script writes it before it exits; the file is there when run_process returns
        if path.is_file() and path.read_text().strip():
            return int(path.read_text().split()[0])
        time.sleep(0.01)
    raise AssertionError(f"no pid written to {path}")


@pytest.fixture
def no_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVSMITH_SANDBOX", "none")


@pytest.fixture
def namespaces(monkeypatch: pytest.MonkeyPatch) -> sandbox.SandboxMode:
    monkeypatch.delenv("DVSMITH_SANDBOX", raising=False)
    mode = sandbox.detect_mode()
    if mode == "none":
        pytest.skip("neither bwrap nor unprivileged unshare works on this machine")
    return mode


def test_a_background_child_is_dead_before_run_process_returns(tmp_path: Path, no_sandbox: None) -> None:
    work = tmp_path / "run"
    out = _run(f'sleep 300 & echo $! > "{work}/child.pid"; echo simulator done', work)
    assert out.exit_code == 0 and out.sandbox == "none"
    pid = _pid(work / "child.pid")
    assert not _alive(pid), "the background child outlived the run"
    assert out.leftovers_killed >= 0


def test_a_late_writer_cannot_change_the_output(tmp_path: Path, no_sandbox: None) -> None:
    """Attack 3 of issue 9: a process started by the run rewrites the results after the simulator exits."""
    work = tmp_path / "run"
    (work).mkdir()
    (work / "t.coverage.dat").write_text("C 'real' 0\n")
    _run(f'(sleep 0.5; echo forged > "{work}/t.coverage.dat") & echo $! > "{work}/w.pid"', work)
    pid = _pid(work / "w.pid")
    time.sleep(1.0)
    assert (work / "t.coverage.dat").read_text() == "C 'real' 0\n"
    assert not _alive(pid)


def test_a_child_that_leaves_the_session_is_found_by_its_token(tmp_path: Path, no_sandbox: None) -> None:
    if not shutil.which("setsid"):
        pytest.skip("no setsid")
    work = tmp_path / "run"
    _run(f"setsid {SH} -c 'echo $$ > \"{work}/esc.pid\"; exec sleep 300' & sleep 0.2", work)
    pid = _pid(work / "esc.pid")
    assert not _alive(pid)


def test_a_timeout_kills_the_whole_group(tmp_path: Path, no_sandbox: None) -> None:
    work = tmp_path / "run"
    out = _run(f'sleep 300 & echo $! > "{work}/c.pid"; sleep 300', work, timeout_s=0.5)
    assert out.timed_out and out.exit_code is None
    assert not _alive(_pid(work / "c.pid"))


def _escapee(work: Path, *, sandboxed: bool) -> tuple[ProcessOutcome, list[int]]:
    """Run a script whose child clears its environment (no run token) and leaves the session (setsid);
    return the outcome and the escapee's survivors (found by a unique argument)."""
    if not shutil.which("setsid") or not shutil.which("env"):
        pytest.skip("no setsid/env")
    marker = f"300.{os.getpid()}{len(str(work))}"
    out = _run(f"setsid env -i sleep {marker} & sleep 0.3", work, sandboxed=sandboxed)
    time.sleep(0.1)
    survivors = [int(p) for p in os.listdir("/proc") if p.isdigit() and marker.encode() in _cmdline(int(p))]
    return out, [p for p in survivors if _alive(p)]


def test_without_namespaces_a_child_with_a_clean_environment_escapes(tmp_path: Path, no_sandbox: None) -> None:
    """The documented limit of the fallback (and the proof that the next test can fail)."""
    out, survivors = _escapee(tmp_path / "run", sandboxed=True)
    assert out.sandbox == "none"
    for pid in survivors:
        os.kill(pid, 9)
    assert survivors


def test_namespace_sandbox_kills_even_a_child_with_a_clean_environment(
    tmp_path: Path, namespaces: sandbox.SandboxMode
) -> None:
    out, survivors = _escapee(tmp_path / "run", sandboxed=True)
    assert out.sandbox == namespaces
    assert survivors == []


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_namespace_sandbox_is_read_only_outside_the_run_folder_and_offline(
    tmp_path: Path, namespaces: sandbox.SandboxMode
) -> None:
    work = tmp_path / "run"
    outside = tmp_path / "gym"
    outside.mkdir()
    (outside / "task.json").write_text("{}")
    probe = (
        "import socket, pathlib, sys\n"
        f"w = pathlib.Path({str(work)!r})\n"
        "(w / 'inside.txt').write_text('ok')\n"
        "try:\n"
        f"    pathlib.Path({str(outside / 'task.json')!r}).write_text('forged')\n"
        "    print('outside: written')\n"
        "except OSError as e:\n"
        "    print('outside: refused', e.errno)\n"
        "print('interfaces:', sorted(n for _, n in socket.if_nameindex()))\n"
    )
    (tmp_path / "probe.py").write_text(probe)
    out = _run(f'"{sys.executable}" "{tmp_path / "probe.py"}"', work, sandboxed=True)
    log = (work / "out.log").read_text()
    assert out.exit_code == 0, log
    assert out.sandbox == namespaces
    assert (work / "inside.txt").read_text() == "ok"
    assert "outside: refused" in log and (outside / "task.json").read_text() == "{}"
    assert "interfaces: ['lo']" in log


def test_the_mode_can_be_forced_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DVSMITH_SANDBOX", "none")
    assert sandbox.detect_mode() == "none"
    assert sandbox.wrap(["simv", "+a"], [tmp_path], "none") == ["simv", "+a"]
    wrapped = sandbox.wrap(["simv"], [tmp_path], "unshare")
    assert wrapped[-1] == "simv" and "--net" in wrapped and "--pid" in wrapped and str(tmp_path.resolve()) in wrapped
    assert sandbox.wrap(["simv"], [tmp_path], "bwrap")[-2:] == ["--", "simv"]
