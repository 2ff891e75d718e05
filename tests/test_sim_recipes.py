"""Real Verilator: fixtures written for other simulators build with every task valid through the repo's own
recipe (make -n), the UVM 1.x handling and the compatibility rewrites, and build.json says how."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from dvsmith.gym.outdir import is_previous_build
from dvsmith.gym.writer import tree_digest
from tests.simkit import cli

pytestmark = pytest.mark.sim


def _all_valid(b: Any, broken: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every task valid, but those of the ``broken`` tests (references that fail on purpose)."""
    r = b.report
    why = (b.proc.stderr[-2000:], [(t["id"], t.get("invalid_reason")) for t in r["tasks"]])
    assert b.proc.returncode == (1 if broken else 0), why
    assert {t["test_name"] for t in r["tasks"] if not t["valid"]} == broken, why
    for t in (t for t in r["tasks"] if t["test_name"] not in broken):
        assert t["oracle"]["passed"] and t["oracle"]["uvm_errors"] == 0 and t["oracle"]["uvm_fatals"] == 0
        assert t["nop"] is not None and not t["nop"]["passed"]
    assert all(r["sim"]["compile_ok"].values())
    for key, cmd in r["sim"]["compile_commands"].items():
        assert cmd and "verilator" in Path(cmd[0]).name, key
    log = Path(b.out / "logs" / "compile")
    for f in log.glob("*/compile.log"):
        assert f.read_text().startswith("# dvsmith: cd "), f  # the exact command heads every compile log
    return r


def test_make_subdir_uvm12_builds_all_valid(get: Any) -> None:
    b = get("f_make_subdir")
    r = _all_valid(b, broken=frozenset({"borrow_test"}))  # see test_sim_e2e.test_broken_reference_is_reported_invalid
    (unit,) = r["compile_units"]
    recipe = unit["recipe"]
    assert recipe["source"] == "make-dry-run" and recipe["run_dir"] == "sim" and recipe["tool"] == "xrun"
    assert recipe["timescale"] == "1ns/1ps"
    assert recipe["test_plusargs"] == {"sub_count_test": ["+SUB_COUNT=5"]}
    assert unit["incdirs"] == ["tb/agent", "tb/env"]  # from $(addprefix +incdir+,...)
    assert r["uvm_flavours"] == {unit["name"]: "1.1"}  # 1.2's uvm_test_done, `uvm_do_with; 1.1's factory
    assert r["uvm_compat"] and "UVM_ENABLE_DEPRECATED_API" in r["uvm_compat"][0]
    cmd = " ".join(next(iter(r["sim"]["compile_commands"].values())))
    assert "+define+UVM_ENABLE_DEPRECATED_API" in cmd and "dvsmith_uvm_compat_pkg.sv" in cmd
    assert "--timescale 1ns/1ps" in cmd
    # the scoreboard reads and writes the DUT through uvm_hdl_*: UVM's DPI + dvsmith's VPI backend, for the
    # original and the gym alike (its SB_HDL checks fail every task otherwise, and UVM_NO_DPI would be fatal)
    assert sorted(r["sim"]["compile_hdl_backdoor"]) == sorted(r["sim"]["compile_commands"])
    assert "--vpi" in cmd and "dvsmith_uvm_dpi.cc" in cmd and "+define+UVM_NO_DPI" not in cmd
    # the monitor's `vif == null` (VlNull{} == ptr in C++) builds with clang++ as it is: no g++ rebuild
    assert r["sim"]["compile_retried_with_gxx"] == []
    assert {x["name"] for x in r["rewrites"]} == {"uvm_compat_import", "class_member_name_clash",
                                                  "solve_before_size", "queue_part_select",
                                                  "empty_queue_in_pattern", "z_compare_in_assertion",
                                                  "randomize_with_parens", "oversized_literal",
                                                  "constraint_handle_copy", "vif_typedef_property",
                                                  "starting_phase_accessors", "untyped_constructor_name",
                                                  "empty_config_scope"}  # fmt: skip
    # the bench hands the agent its interface at scope "" (every scope under 1.x; only the top under 2017's DPI)
    top = (b.out / "gym" / "tb" / "top" / "tb_top.sv").read_text()
    assert 'uvm_config_db#(virtual alu_if)::set(null, "*", "vif", bus);' in top
    item = (b.out / "gym" / "tb" / "agent" / "alu_item.sv").read_text()  # C++ of `(IData)(name)` otherwise
    assert '  function new(string name = "");  // untyped' in item
    # sub_seq and sub_count_test are hidden (the task's reference): their starting_phase is rewritten on the
    # original (build.json rewrites) and, at eval, on the candidate's files (test below), never in gym/
    phase = {(x["file"], x["line"]) for x in r["rewrites"] if x["name"] == "starting_phase_accessors"}
    assert phase == {("tb/seq/alu_seqs.sv", 24), ("tb/seq/alu_seqs.sv", 25), ("tb/tests/sub_count_test.sv", 17)}
    assert r["rewrite_settings"] == {"enabled": True, "disabled": []}
    # everything a simulated build writes (coverage/ included) marks it as ours: the next build may replace it
    assert (b.out / "coverage").is_dir() and is_previous_build(b.out)
    sb = (b.out / "gym" / "tb" / "env" / "alu_scoreboard.sv").read_text()
    assert "static local bit [7:0] m_alu_log [int unsigned];" in sb and "`uvm_object_utils(alu_log)" in sb
    assert "ok = q.randomize() with { k > 6; };" in sb and "if (8'ha5 !== 8'ha5)" in sb
    agent = (b.out / "gym" / "tb" / "agent" / "alu_agent.sv").read_text()
    assert "  virtual alu_if vif;" in agent and "typedef virtual alu_if alu_vif_t;" in agent
    assert "len < dvsmith_cfg__lanes; else len == 0; }" in sb and "dvsmith_cfg__width = cfg.width;" in sb
    assert "solve pad before pos;" in sb and "bits_q[at : (at)+(8)-1]" in sb and "bits: '{}}" in sb
    assert "valid |-> 1'b1 /* dvsmith: |y !== 1'bz */ && y !== 8'bx" in (b.out / "gym" / "tb" / "agent" /
                                                                     "alu_if.sv").read_text()  # fmt: skip
    by_name = {t["test_name"]: t for t in r["tasks"]}
    task = b.task(by_name["sub_count_test"]["id"])
    assert task["plusargs"] == ["+SUB_COUNT=5"]


def test_make_subdir_references_are_graded_through_the_builds_rewrites(get: Any, sim_env: dict[str, str],
                                                                     tmp_path: Path) -> None:  # fmt: skip
    """A solution written like the original (UVM 1.2's ``seq.starting_phase = phase``) compiles at eval as
    the reference did: `dvsmith eval` makes the build's rewrites on the candidate's files (one compile for
    both valid references, --combine), never on OUT."""
    b = get("f_make_subdir")
    before = (tree_digest(b.out / "gym"), tree_digest(b.out / "oracle"))
    ids = [t["id"] for t in b.report["tasks"] if t["valid"]]
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(
        orjson.dumps({"task": tid, "solution": [str(b.out / "oracle" / tid)]}).decode() + "\n" for tid in ids
    ))  # fmt: skip
    proc = cli(sim_env, "eval", str(b.out), "--batch", str(batch), "--combine", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = {r["test_name"]: r for r in orjson.loads(proc.stdout)}
    assert sorted(results) == ["add_test", "sub_count_test"]
    for r in results.values():
        assert r["passed"] and r["score"] == 1.0 and r["uvm_errors"] == 0, r
    sub = {(x["file"], x["name"]) for x in results["sub_count_test"]["rewrites"]}
    assert {("tb/seq/alu_seqs.sv", "starting_phase_accessors"),
            ("tb/tests/sub_count_test.sv", "starting_phase_accessors")} <= sub  # fmt: skip
    assert (tree_digest(b.out / "gym"), tree_digest(b.out / "oracle")) == before


def test_avip_dual_top_builds_all_valid_thanks_to_rewrites(get: Any) -> None:
    b = get("g_avip_dual_top")
    r = _all_valid(b)
    (unit,) = r["compile_units"]
    assert unit["top_modules"] == ["hvl_top", "hdl_top"]
    assert unit["recipe"]["run_dir"] == "sim/questa" and unit["recipe"]["tool"] == "vlog"
    cmd = next(iter(r["sim"]["compile_commands"].values()))
    assert "--top-module" not in cmd and "-Wno-MULTITOP" in cmd  # both tops elaborated
    # pkt_small_burst_test reads +PKT_BURST (given by its own `make regression` line only) through
    # uvm_cmdline_processor: UVM's DPI is compiled in (pure-SV UVM sees no argument: NO_BURST), no backdoor
    assert unit["recipe"]["test_plusargs"] == {"pkt_small_burst_test": ["+PKT_BURST=12"]}
    assert sorted(r["sim"]["compile_uvm_dpi"]) == sorted(r["sim"]["compile_commands"])
    assert r["sim"]["compile_hdl_backdoor"] == []
    assert "+define+UVM_NO_DPI" not in cmd and "--vpi" in cmd and not [a for a in cmd if a.endswith(".vlt")
                                                                        and "hdl_public_" in a]  # fmt: skip
    burst = next(t for t in r["tasks"] if t["test_name"] == "pkt_small_burst_test")
    assert b.task(burst["id"])["plusargs"] == ["+PKT_BURST=12"]
    names = {x["name"] for x in r["rewrites"]}
    assert {"defparam_array", "interface_task_automatic", "empty_trailing_item", "remove_sim_system_tasks",
            "bind_upward_ports", "vif_method_write_triggers"} <= names  # fmt: skip
    for x in r["rewrites"]:
        assert x["file"] and x["line"] > 0 and x["what"]
    gym_top = (b.out / "gym" / "src" / "hdl_top" / "hdl_top.sv").read_text()
    assert "hb_mon #(.PERIOD(20)) hb_h [1]" in gym_top and "$shm_open(" not in gym_top.replace("dvsmith: $shm", "")
    drv = (b.out / "gym" / "src" / "hdl_top" / "bfm" / "drv_bfm.sv").read_text()
    assert "task automatic drive_pkt(inout pkt_s p)" in drv
    # the BFM's task-only writes get their Verilator triggers on the endinterface line (no line moves)
    assert "endinterface class dvsmith_vif_triggers__drv_bfm; static function void touch(virtual drv_bfm v); " \
           "v.valid = v.valid; v.data = v.data; v.parity = v.parity; endfunction endclass" in drv
    assert drv.count("\n") == (Path(__file__).parent.parent / "fixtures" / "g_avip_dual_top" / "src" / "hdl_top"
                                / "bfm" / "drv_bfm.sv").read_text().count("\n")  # fmt: skip
    agent = (b.out / "gym" / "src" / "hdl_top" / "rst_agent.sv").read_text()
    assert "bind rst_mon_bfm rst_chk rst_chk_h (.clk(clk), .rst_n(rst_n));" in agent
    oracle_logs = [f.read_text(errors="replace") for f in (b.out / "logs" / "oracle").rglob("*.log")]
    assert any("[rst_chk]" in t for t in oracle_logs)  # the bound checker is elaborated and runs
    task = b.task(r["tasks"][0]["id"])
    assert {x["name"] for x in task["rewrites"]} >= {"defparam_array", "interface_task_automatic"}
    assert "Verilator compatibility" in (b.out / "tasks" / task["id"] / "README.md").read_text()
