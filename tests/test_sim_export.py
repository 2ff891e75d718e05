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


ONE_TASK = "status_test"


def test_harbor_oracle_gets_reward_1_and_nop_gets_0(get: Any, sim_env: dict[str, str], tmp_path: Path) -> None:
    b = get(FIXTURE)
    before = tree_digest(b.out / "gym")
    dest = tmp_path / "harbor"
    proc = cli(sim_env, "export", "harbor", str(b.out), str(dest), "--json")
    assert proc.returncode == 0, proc.stderr
    exported = orjson.loads(proc.stdout)
    valid = sorted(t["id"] for t in b.report["tasks"] if t["valid"])
    assert sorted(t["id"] for t in exported["tasks"]) == valid and exported["simulated"]
    # one task end to end: its oracle tree alone is the tree test_sim_e2e grades alone (one compile for
    # both); every other task's oracle alone would be a new compile each (the compile budget)
    for tid in [ONE_TASK]:
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


def test_eval_batch_on_ray_gives_the_same_results_as_local(get: Any, sim_env: dict[str, str],
                                                           tmp_path: Path) -> None:  # fmt: skip
    """Every valid task's oracle alone (the trees the Harbor test compiled: cache hits), plus one empty
    solution, graded by the local executor and by a local Ray cluster (``ray.init(num_cpus=2)``)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        if os.environ.get("DVSMITH_REQUIRE_SIM") == "1":  # CI installs the ray extra (.ci/run)
            pytest.fail("ray is not installed: the Ray executor cannot be compared (pip install 'dvsmith[ray]')")
        pytest.skip("ray is not installed")
    b = get(FIXTURE)
    valid = [ONE_TASK]  # its oracle-alone tree is compiled by test_sim_e2e and the Harbor test: a cache hit
    empty = tmp_path / "empty"
    empty.mkdir()
    jobs = [{"task": tid, "solution": [str(b.out / "oracle" / tid)]} for tid in valid]
    jobs.append({"task": valid[0], "solution": [str(empty)]})
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(orjson.dumps(j).decode() + "\n" for j in jobs))

    def grade(*extra: str, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
        proc = cli({**sim_env, **(env or {})}, "eval", str(b.out), "--batch", str(batch), "--json", *extra)
        assert proc.returncode == 1, proc.stdout + proc.stderr  # the empty solution fails
        doc = orjson.loads(proc.stdout)
        return doc if isinstance(doc, list) else [doc]

    local = grade()
    on_ray = grade("--executor", "ray", env={"DVSMITH_RAY_NUM_CPUS": "2"})
    assert [(r["task"], r["passed"], r["score"]) for r in on_ray] == [(r["task"], r["passed"], r["score"])
                                                                      for r in local]  # fmt: skip
    assert [r["passed"] for r in local] == [True] * len(valid) + [False]
    for a, r in zip(local, on_ray, strict=True):
        assert (r["compiled"], r["ran"], r["started"], r["uvm_errors"], r["coverage"]) == (
            a["compiled"], a["ran"], a["started"], a["uvm_errors"], a["coverage"])  # fmt: skip
        if r["log"]:  # the run's log came back to this machine, where the local executor writes it
            assert Path(r["log"]).is_file() and Path(r["compile_log"]).is_file()
            assert Path(r["log"]).name == Path(a["log"]).name
