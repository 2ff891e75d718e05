"""Exports and executors under real simulation (CI runs these; they need Verilator, g++ and UVM).

Compiles are shared with the other simulation tests through the session's DVSMITH_HOME (``sim_env``,
passed into every script's environment): the untouched workdir compiles nothing (every file to write is
missing), and a task's oracle put in place is the same tree as `dvsmith eval TASK ORACLE`, so the compile
cache serves it to every later test that grades the same task's oracle alone (the Ray comparison below).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from dvsmith.gym.writer import tree_digest
from tests.simkit import cli

pytestmark = pytest.mark.sim

FIXTURE = "a_class_per_file"


def _run(script: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=3000)


def test_harbor_oracle_gets_reward_1_and_nop_gets_0(get: Any, sim_env: dict[str, str], tmp_path: Path) -> None:
    b = get(FIXTURE)
    before = tree_digest(b.out / "gym")
    dest = tmp_path / "harbor"
    proc = cli(sim_env, "export", "harbor", str(b.out), str(dest), "--json")
    assert proc.returncode == 0, proc.stderr
    exported = orjson.loads(proc.stdout)
    valid = sorted(t["id"] for t in b.report["tasks"] if t["valid"])
    assert sorted(t["id"] for t in exported["tasks"]) == valid and exported["simulated"]
    for tid in valid:
        folder = dest / tid
        work = tmp_path / "app" / tid
        shutil.copytree(folder / "environment" / "gym", work)
        vdir = tmp_path / "verifier" / tid
        env = {
            **os.environ, **sim_env,
            "DVSMITH_WORKDIR": str(work), "DVSMITH_GYM": str(folder / "environment" / "gym"),
            "DVSMITH_VERIFIER_DIR": str(vdir), "DVSMITH_PYTHON": sys.executable,
        }  # fmt: skip
        nop = _run(folder / "tests" / "test.sh", env)
        assert nop.returncode == 0, nop.stderr
        assert float((vdir / "reward.txt").read_text()) == 0.0, (vdir / "reasons.txt").read_text()
        assert orjson.loads((vdir / "reward.json").read_bytes())["reward"] == 0

        solve = _run(folder / "solution" / "solve.sh", env)
        assert solve.returncode == 0, solve.stderr
        graded = _run(folder / "tests" / "test.sh", env)
        assert graded.returncode == 0, graded.stderr
        reasons = (vdir / "reasons.txt").read_text()
        assert float((vdir / "reward.txt").read_text()) == 1.0, reasons
        rj = orjson.loads((vdir / "reward.json").read_bytes())
        assert rj["reward"] == 1.0 and rj["passed"] == 1 and rj["health"] == 1
        assert rj["uvm_errors"] == 0 and rj["uvm_fatals"] == 0 and rj["test_started"] == 1
        assert any(k.startswith("coverage_") for k in rj), rj
        assert all(isinstance(v, int | float) for v in rj.values())
        assert (vdir / "log.txt").is_file() and (vdir / "compile_log.txt").is_file()
    assert tree_digest(b.out / "gym") == before
