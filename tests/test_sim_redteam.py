"""Dishonest solutions that every static check lets through, caught at run time by the grader probe.

All of them, and one honest oracle, are graded in ONE `eval --batch --combine` on fixture a (one
compile for the combined tree). See tests/data/redteam_runtime/README.md for the attacks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import session_compiles
from tests.simkit import cli

pytestmark = pytest.mark.sim

RUNTIME = Path(__file__).parent / "data" / "redteam_runtime"
BATCH = {
    "honest_reset_read": "reset_read_test",
    "r1_declared_never_started": "write_read_test",
    "r2_bypass_sequencer": "random_test",
    "r3_forged_summary": "status_test",
}
NEVER_STARTED = "never started on a sequencer: "
# A reason names every required sequence that never started ("...: apb_rand_seq, random_vseq"): an entry
# NEVER_STARTED + name asks for that name in such a list; any other entry is a substring of one reason.
EXPECT = {
    "r1_declared_never_started": [NEVER_STARTED + "write_read_vseq"],
    "r2_bypass_sequencer": [NEVER_STARTED + "random_vseq", "no sequence item went through"],
    "r3_forged_summary": ["counted 1 UVM_ERROR"],
}


def _says(reason: str, want: str) -> bool:
    if want.startswith(NEVER_STARTED) and NEVER_STARTED in reason:
        named = reason.split(NEVER_STARTED, 1)[1].split(",")
        return want.removeprefix(NEVER_STARTED) in {n.strip() for n in named}
    return want in reason


@pytest.fixture(scope="module")
def graded(get: Any, sim_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    b = get("a_class_per_file")
    ids = {t["test_name"]: t["id"] for t in b.report["tasks"]}
    batch = tmp_path_factory.mktemp("redteam") / "batch.jsonl"
    batch.write_text("".join(
        orjson.dumps({"task": ids[test], "solution": [str(RUNTIME / folder)]}).decode() + "\n"
        for folder, test in BATCH.items()
    ))  # fmt: skip
    before = len(session_compiles())
    proc = cli(sim_env, "eval", str(b.out), "--batch", str(batch), "--combine", "--json")
    doc = orjson.loads(proc.stdout)
    results = {r["test_name"]: r for r in (doc if isinstance(doc, list) else [doc])}
    return {"proc": proc, "by_folder": {f: results[t] for f, t in BATCH.items()},
            "compiles": len(session_compiles()) - before, "build": b}  # fmt: skip


def test_runtime_attacks_share_one_compile(graded: dict[str, Any]) -> None:
    assert graded["compiles"] <= 1, graded["compiles"]
    assert graded["proc"].returncode == 1  # some jobs fail


def test_honest_oracle_in_the_batch_passes(graded: dict[str, Any]) -> None:
    r = graded["by_folder"]["honest_reset_read"]
    assert r["passed"] and r["score"] == 1.0, r["reasons"]


@pytest.mark.parametrize("folder", sorted(EXPECT))
def test_runtime_attack_fails_with_its_reason(graded: dict[str, Any], folder: str) -> None:
    r = graded["by_folder"][folder]
    assert r["compiled"] and r["ran"], r["reasons"]
    assert not r["passed"] and r["score"] == 0.0, r
    for want in EXPECT[folder]:
        assert any(_says(reason, want) for reason in r["reasons"]), (want, r["reasons"])


def test_every_task_is_judged_by_the_probe(get: Any) -> None:
    b = get("a_class_per_file")
    for t in b.report["tasks"]:
        acc = b.task(t["id"])["acceptance"]
        assert acc["require_probe"], t["id"]
        assert acc["min_items_done"] == 1
        assert acc["required_sequences"], t["id"]  # each test starts its own virtual sequence
