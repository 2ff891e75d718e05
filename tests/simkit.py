"""Shared simulation fixtures: each fixture repository is ingested and built with ``--sim verilator``
once per test session (lazily, on first use), in one DVSMITH_HOME (``sim_env``), so every test file that
simulates reuses the same builds and the compile cache. Use the ``get`` fixture: ``get("a_class_per_file")``
returns a ``Built`` (``out``, ``proc``, ``report``, ``task(id)``).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
_LOCKS: list[Any] = []  # open lock files of the fixtures this session built (see ``get``)


def dvsmith(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``python -m dvsmith ARGS`` in a child process (the tests' one way to run the CLI as a user does)."""
    return subprocess.run(
        [sys.executable, "-m", "dvsmith", *args],
        capture_output=True, text=True, cwd=cwd, env={**os.environ, **(env or {})}, timeout=timeout,
    )  # fmt: skip


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return dvsmith(*args, env=env, timeout=3000)


class Built:
    def __init__(self, out: Path, proc: subprocess.CompletedProcess[str]) -> None:
        self.out = out
        self.proc = proc
        self.report: dict[str, Any] = orjson.loads(proc.stdout)

    def task(self, tid: str) -> dict[str, Any]:
        return orjson.loads((self.out / "tasks" / tid / "task.json").read_bytes())


@pytest.fixture(scope="session")
def builds(sim_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """Build each fixture once per session, lazily (see ``get``)."""
    return {}


@pytest.fixture(scope="session")
def get(builds: dict[str, Built], sim_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Any:
    def _get(name: str) -> Built:
        if name not in builds:
            # a fixed place per fixture: the design's paths end up in the generated C++, so a stable path
            # lets ccache serve a rerun on the same machine (a fresh machine compiles everything once)
            # per checkout, and locked for the session: two sessions building the same fixture at the
            # same place removed each other's build (seen: "No such file ... compile.log")
            checkout = hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
            base = Path(tempfile.gettempdir()) / f"dvsmith-e2e-{checkout}"
            base.mkdir(parents=True, exist_ok=True)
            lock = (base / f".{name}.lock").open("w")
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the session's process exits
            _LOCKS.append(lock)
            work = base / name
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            repo = work / name
            shutil.copytree(FIXTURES / name, repo)
            ing = cli(sim_env, "ingest", str(repo), "--json")
            assert ing.returncode == 0, ing.stderr
            proc = cli(sim_env, "build", name, "--provider", "offline", "--sim", "verilator",
                       "--out", str(work / "out"), "--json")  # fmt: skip
            assert proc.stdout, proc.stderr
            builds[name] = Built(work / "out", proc)
        return builds[name]

    return _get
