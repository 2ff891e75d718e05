"""Real Verilator end to end, through the CLI: build every fixture with --sim verilator, then grade
oracles, empty solutions, protected-file edits and fake summaries with `dvsmith eval`.

One DVSMITH_HOME for the session (``sim_env``), so compiles are shared through the compile cache: each
fixture's build costs two compiles per compile unit, an empty solution reuses the gym's compile.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from dvsmith.gym.writer import tree_digest
from tests.simkit import cli

pytestmark = pytest.mark.sim

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
PASSING = ["a_class_per_file", "b_single_file", "c_default_seq", "d_two_benches"]
# fixtures with covergroups: measured under Verilator through dvsmith.sim.covergroups (lowering)
COVERGROUPS = {"a_class_per_file": "reg_coverage::apb_access_cg", "b_single_file": "tb_top::fifo_flags_cg"}


@pytest.mark.parametrize("name", PASSING)
def test_fixture_builds_and_every_task_is_proven_by_simulation(get: Any, name: str) -> None:
    b = get(name)
    r = b.report
    assert b.proc.returncode == 0, (b.proc.stderr, [t.get("invalid_reason") for t in r["tasks"]])
    units = {t["compile_unit"] for t in (b.task(t["id"]) for t in r["tasks"])}
    n = len(r["tasks"])
    sim = r["sim"]
    assert sim["compiles"] == 2 * len(units)  # gym + original per unit, whatever the number of tasks
    left_out = sum(1 for s in r.get("skipped_trivial", []) if s.get("when") == "simulation")
    assert sim["oracle_runs"] == n + left_out and sim["nop_runs"] == n + left_out
    assert all(sim["compile_ok"].values())
    assert {"compile", "run"} <= set(r["phases"])
    for t in r["tasks"]:
        assert t["valid"], t
        assert t["oracle"]["passed"] and t["oracle"]["uvm_errors"] == 0 and t["oracle"]["uvm_fatals"] == 0
        assert t["oracle"]["test_started"]
        assert Path(t["oracle"]["log"]).is_file() and Path(t["oracle"]["log"]).is_relative_to(b.out)
        assert t["oracle"]["coverage"], "the oracle run recorded no coverage"
        assert t["nop"] is not None and not t["nop"]["passed"]  # the gym alone fails every task
        task = b.task(t["id"])
        assert task["oracle_result"]["passed"]
        if name in COVERGROUPS:  # every test samples the fixture's covergroup: it is a functional target
            assert task["acceptance"]["functional_coverage"] == "measured"
            metrics = {c["metric"]: c for c in task["acceptance"]["coverage"]}
            target = metrics[f"functional:{COVERGROUPS[name]}"]
            assert target["oracle"] > 0 and target["weight"] == 2.0
        else:
            assert task["acceptance"]["functional_coverage"] == "unsupported"
        assert task["acceptance"]["coverage"], "no coverage target derived from the oracle"
        assert task["acceptance"]["require_probe"], "the oracle's run left no grader probe report"


def test_tests_reach_different_coverage(get: Any) -> None:
    r = get("a_class_per_file").report
    seen = {tuple(sorted(t["oracle"]["coverage"].items())) for t in r["tasks"]}
    assert len(seen) > 1, "every test reached exactly the same coverage"


def test_broken_reference_is_reported_invalid(get: Any) -> None:
    # f_make_subdir's borrow_test fails on purpose (the DUT saturates where the scoreboard wraps); hosted
    # by a fixture built anyway, so this check costs no compile of its own
    b = get("f_make_subdir")
    assert b.proc.returncode == 1
    by_name = {t["test_name"]: t for t in b.report["tasks"]}
    bad = by_name["borrow_test"]
    assert not bad["valid"]
    assert "UVM_ERROR" in bad["invalid_reason"]
    assert bad["nop"] is not None  # the reference ended (it did not hang): its nop check still ran
    assert all(t["valid"] for name, t in by_name.items() if name != "borrow_test")
    assert b.report["ok"] is False


@pytest.mark.parametrize("name", PASSING)
def test_eval_of_every_oracle_passes_with_full_score(get: Any, sim_env: dict[str, str], name: str,
                                                     tmp_path: Path) -> None:  # fmt: skip
    """Every valid task's oracle, graded in one batch with --combine (one compile per unit; none when
    the combined tree is byte-identical to the original, which the build already compiled)."""
    b = get(name)
    before = tree_digest(b.out / "gym")
    batch = tmp_path / "batch.jsonl"
    ids = [t["id"] for t in b.report["tasks"] if t["valid"]]
    batch.write_text("".join(
        orjson.dumps({"task": tid, "solution": [str(b.out / "oracle" / tid)]}).decode() + "\n" for tid in ids
    ))  # fmt: skip
    proc = cli(sim_env, "eval", str(b.out), "--batch", str(batch), "--combine", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = orjson.loads(proc.stdout)
    results = doc if isinstance(doc, list) else [doc]
    assert sorted(r["task"] for r in results) == sorted(ids)
    for r in results:
        assert r["passed"] and r["score"] == 1.0, r
        assert r["compiled"] and r["ran"] and r["started"]
        assert r["uvm_errors"] == 0 and r["uvm_fatals"] == 0
        assert len(r["combined_with"]) == sum(1 for t in ids if b.task(t)["compile_unit"] == b.task(r["task"])[
            "compile_unit"]) - 1  # fmt: skip
    if name == "a_class_per_file":  # one file per class: the combined tree is the original, already compiled
        assert all(r["compile_cached"] for r in results)
    assert tree_digest(b.out / "gym") == before  # the gym is never modified


def test_eval_of_one_oracle_alone_passes(get: Any, sim_env: dict[str, str]) -> None:
    b = get("a_class_per_file")
    before = tree_digest(b.out / "gym")
    oracle = b.out / "oracle" / "status_test"
    files = [str(p) for p in sorted(oracle.rglob("*")) if p.is_file()]  # single files, matched by name
    proc = cli(sim_env, "eval", str(b.out), "status_test", *files, "--seeds", "2", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r = orjson.loads(proc.stdout)
    assert r["passed"] and r["score"] == 1.0 and r["combined_with"] == []
    assert [s["seed"] for s in r["seeds"]] == [1, 2] and r["score_spread"] == 0.0
    assert tree_digest(b.out / "gym") == before


def test_eval_empty_solution_fails(get: Any, sim_env: dict[str, str], tmp_path: Path) -> None:
    b = get("a_class_per_file")
    empty = tmp_path / "empty"
    empty.mkdir()
    for t in b.report["tasks"]:
        proc = cli(sim_env, "eval", str(b.out), t["id"], str(empty), "--json")
        assert proc.returncode == 1
        r = orjson.loads(proc.stdout)
        assert not r["passed"] and r["score"] == 0.0 and not r["started"]
        assert "empty" in r["reasons"][0]


def test_eval_scoreboard_edit_scores_zero_and_names_the_file(get: Any, sim_env: dict[str, str],
                                                            tmp_path: Path) -> None:  # fmt: skip
    b = get("a_class_per_file")
    tid = b.report["tasks"][0]["id"]
    sol = tmp_path / "sol"
    shutil.copytree(b.out / "oracle" / tid, sol)
    sb = "tb/env/reg_scoreboard.svh"
    (sol / sb).parent.mkdir(parents=True, exist_ok=True)
    text = (b.out / "gym" / sb).read_text()
    (sol / sb).write_text(text.replace("`uvm_error", "`uvm_info", 1) if "`uvm_error" in text else text + "\n// x\n")
    proc = cli(sim_env, "eval", str(b.out), tid, str(sol), "--json")
    assert proc.returncode == 1
    r = orjson.loads(proc.stdout)
    assert r["score"] == 0.0 and not r["passed"]
    assert r["protected_edits"] == [sb]
    assert any(sb in reason for reason in r["reasons"])
    assert not r["compiled"]


def test_validate_reruns_the_checks_on_an_existing_gym(get: Any, sim_env: dict[str, str]) -> None:
    b = get("a_class_per_file")
    proc = cli(sim_env, "validate", str(b.out), "--sim", "verilator", "--json")
    assert proc.returncode == 0, proc.stderr
    r = orjson.loads(proc.stdout)
    assert r["ok"]
    assert r["sim"]["compiles"] == 2 and r["sim"]["compiles_cached"] == 2  # nothing changed: no new compile


def test_eval_solution_demoting_errors_scores_zero(get: Any, sim_env: dict[str, str], tmp_path: Path) -> None:
    b = get("a_class_per_file")
    sol = tmp_path / "sol"
    shutil.copytree(b.out / "oracle" / "status_test", sol)
    test_file = sol / "tb" / "test" / "status_test.svh"
    text = test_file.read_text()
    test_file.write_text(text.replace(
        "    phase.raise_objection(this);\n",
        "    phase.raise_objection(this);\n"
        "    uvm_root::get().set_report_severity_override_hier(UVM_ERROR, UVM_INFO);\n",
        1,
    ))  # fmt: skip
    proc = cli(sim_env, "eval", str(b.out), "status_test", str(sol), "--json")
    assert proc.returncode == 1
    r = orjson.loads(proc.stdout)
    assert r["score"] == 0.0 and not r["compiled"]
    assert "set_report_severity_override_hier" in r["reasons"][0]
