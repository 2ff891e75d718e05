"""Functional coverage on a real UVM fixture (covergroup in a class, lowered by dvsmith): a solution that
skips one scenario of the reference misses the covergroup bins that scenario hits. One UVM compile."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.simkit import cli

pytestmark = pytest.mark.sim

CG = "functional:reg_coverage::apb_access_cg"


def test_skipping_a_scenario_misses_its_bins(get: Any, sim_env: dict[str, str], tmp_path: Path) -> None:
    b = get("a_class_per_file")
    task = b.task("status_test")
    target = {c["metric"]: c for c in task["acceptance"]["coverage"]}[CG]
    assert task["acceptance"]["functional_bins"]["reg_coverage::apb_access_cg"]
    oracle = b.out / "oracle" / "status_test"
    sol = tmp_path / "sol"
    shutil.copytree(oracle, sol)
    vseq = next(sol.rglob("status_vseq.svh"))
    text = vseq.read_text()
    scenario = "    write_reg(4'hC, 8'hFF);\n"  # the write to STATUS: the only <status, wr> access
    assert scenario in text
    vseq.write_text(text.replace(scenario, ""))
    proc = cli(sim_env, "eval", str(b.out), "status_test", str(sol), "--json")
    r = orjson.loads(proc.stdout)
    assert r["compiled"] and r["started"], r
    achieved = r["coverage"][CG]
    assert achieved < target["oracle"], (achieved, target)  # the cross bin <status,wr> is not hit
