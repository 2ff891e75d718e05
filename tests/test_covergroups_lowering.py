"""Covergroup lowering without a simulator: the generated text, the edits, what is reported unsupported,
the results parser and the functional targets/score."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from pyslang import syntax

from dvsmith.gym.models import Acceptance
from dvsmith.sim.covergroups import apply_edits, lower_text, lower_tree, package_source
from dvsmith.sim.covergroups.hook import lower_for_compile
from dvsmith.sim.covergroups.results import (
    add_functional,
    apply_functional_targets,
    functional_targets,
    parse_results_text,
)
from dvsmith.sim.scoring import score
from dvsmith.sim.uvmlog import LogHealth

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TABLE = Path(__file__).parent / "data" / "fcov_table.sv"


def _errors(text: str) -> list[str]:
    tree = syntax.SyntaxTree.fromText(text)
    return [str(d.code) for d in tree.diagnostics if d.isError()]


def test_table_lowers_deterministically_and_keeps_lines() -> None:
    data = TABLE.read_bytes()
    a, specs, top = lower_text(data, "fcov_table.sv", top="fcov_table")
    b, _, _ = lower_text(data, "fcov_table.sv", top="fcov_table")
    assert a == b and top
    assert len(specs) == 23
    out = apply_edits(data, a.edits)
    assert out.count(b"\n") == data.count(b"\n")
    text = out.decode()
    assert "covergroup cg_values;" not in text and "covergroup cg_unsupported;" in text
    assert "final dvsmith_fcov_pkg::write_all();" in text
    assert _errors(text) == []
    assert _errors(package_source(uvm=True)) == [] and _errors(package_source(uvm=False)) == []


def test_a_big_covergroup_is_spread_over_its_own_lines() -> None:
    """A RAL-sized covergroup (150 coverpoints over 300 lines) lowers to as many lines, none huge: on one
    line its code passed Verilator's 40000-tokens-a-line preprocessor limit (Practical-UVM's cg_addr)."""
    names = [f"r{i}" for i in range(150)]
    body = "".join(f"  coverpoint {n} {{\n    bins hit = {{1}}; }}\n" for n in names)
    tail = "  endgroup\n  function new(); cg_addr = new(); endfunction\n  bit after;\nendclass\n"
    src = ("class blk;\n" + "".join(f"  bit {n};\n" for n in names) + "  covergroup cg_addr;\n" + body + tail).encode()
    low, specs, _ = lower_text(src, "blk.sv")
    assert low.unsupported == [] and [s.type_name for s in specs] == ["blk::cg_addr"]
    out = apply_edits(src, low.edits).decode()
    assert out.count("\n") == src.decode().count("\n") and _errors(out) == []
    assert out.splitlines().index("  bit after;") == src.decode().splitlines().index("  bit after;")
    lowered = [line for line in out.splitlines()[151:453] if line.strip()]
    assert len(lowered) > 100 and max(map(len, lowered)) < 2000, max(map(len, lowered))


def test_class_construction_gets_this() -> None:
    src = b"""class c;
  int x;
  covergroup g1; coverpoint x; endgroup
  covergroup g2(int k); coverpoint x { bins b = {[0:k]}; } endgroup
  covergroup g3; coverpoint x; endgroup
  function new(); g1 = new; g2 = new(3); this.g3 = new(); endfunction
endclass
"""
    low, specs, _ = lower_text(src, "c.sv")
    assert low.unsupported == [] and [s.type_name for s in specs] == ["c::g1", "c::g2", "c::g3"]
    text = apply_edits(src, low.edits).decode()
    assert "g1 = new(this);" in text and "g2 = new(this, 3);" in text and "this.g3 = new(this);" in text
    assert "class dvsmith_cg_g2 extends dvsmith_fcov_pkg::cg_base" in text
    assert "function void dvsmith_sample_g1(dvsmith_cg_g1 dvsmith_g)" in text
    assert _errors(text) == []


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ("coverpoint x { wildcard bins w = {4'b1?}; }", "wildcard bins"),
        ("coverpoint x { bins b[] = {[0:3]} with (item > 1); }", "bins ... with (...)"),
        ("coverpoint x { bins t = (1 [*2:3]); }", "transition repetition range [*m:n]"),
        ("coverpoint x { bins t = (1 [->2]); }", "transition repetition [->...]"),
        ("coverpoint x { bins t[] = (1 => 2); }", "array of transition bins"),
        ("coverpoint x { bins d = default sequence; }", "default sequence"),
        ("type_option.merge_instances = 1; coverpoint x;", "type_option.merge_instances"),
        ("option.cross_retain_auto_bins = 1; coverpoint x;", "option.cross_retain_auto_bins"),
        ("coverpoint x + 1;", "unlabeled coverpoint of an expression"),
        ("a: coverpoint x; y: cross a, x { bins b = binsof(a) with (a > 1); }", "cross select BinSelectWithFilterExpr"),
        ("a: coverpoint x; y: cross a, x { ignore_bins i = y with (a > 8); }", "cross select BinSelectWithFilterExpr"),
    ],
)
def test_unsupported_is_reported(body: str, what: str) -> None:
    src = f"module m; logic [3:0] x;\n covergroup g;\n {body}\n endgroup\nendmodule\n".encode()
    low, specs, _ = lower_text(src, "m.sv")
    assert specs == []
    assert [(u.covergroup, u.what, u.line) for u in low.unsupported] == [("m::g", what, 3)]
    # the compile copy gets the covergroup with its body left out (not scored; Verilator must parse it)
    text = apply_edits(src, low.edits).decode()
    assert "covergroup g; /* dvsmith: covergroup not lowered" in text and body not in text
    assert text.count("\n") == src.decode().count("\n") and _errors(text) == []


def test_ref_argument_and_generate_and_macro_are_unsupported() -> None:
    src = b"""`define BINS bins b = {1};
module m; logic [3:0] x;
  covergroup g1(ref logic [3:0] v); coverpoint v; endgroup
  if (1) begin : gen
    covergroup g2; coverpoint x; endgroup
  end
  covergroup g3; coverpoint x { `BINS } endgroup
endmodule
"""
    low, specs, _ = lower_text(src, "m.sv")
    got = {(u.covergroup, u.what) for u in low.unsupported}
    assert got == {
        ("m::g1", "ref covergroup argument"),
        ("m::g2", "covergroup in a generate block"),
        ("m::g3", "macro inside the covergroup"),
    }
    assert specs == []


def test_tampering_is_noticed() -> None:
    low, _, _ = lower_text(b"class t; function f(); dvsmith_fcov_pkg::registry.delete(); endfunction endclass", "t.sv")
    assert low.tampering and "dvsmith_fcov" in low.tampering[0]


def test_fixture_covergroups_lower(tmp_path: Path) -> None:
    for name in ("a_class_per_file", "b_single_file"):
        shutil.copytree(FIXTURES / name, tmp_path / name)
    a = lower_tree(tmp_path / "a_class_per_file", [Path("tb/env/reg_coverage.svh")], uvm=True)
    assert a.lowered == ["reg_coverage::apb_access_cg"] and a.unsupported == []
    text = (tmp_path / "a_class_per_file/tb/env/reg_coverage.svh").read_text()
    assert "apb_access_cg = new(this);" in text
    b = lower_tree(tmp_path / "b_single_file", [Path("tb/tb_top.sv")], top="tb_top")
    assert b.lowered == ["tb_top::fifo_flags_cg"] and b.unsupported == [] and b.top == "tb_top"
    text = (tmp_path / "b_single_file/tb/tb_top.sv").read_text()
    assert "always @(posedge clk) begin if (flags_cg != null) flags_cg.sample(); end" in text
    assert (tmp_path / "b_single_file" / "dvsmith_fcov_pkg.sv").is_file()
    assert "uvm_report_error" in (tmp_path / "b_single_file" / "dvsmith_fcov_pkg.sv").read_text()


def test_compile_hook_lowers_a_copy(tmp_path: Path) -> None:
    from dvsmith.analysis.profile import CompileUnit
    from dvsmith.sim.base import CompileRequest

    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "b_single_file", repo)
    before = (repo / "tb/tb_top.sv").read_bytes()
    unit = CompileUnit(name="u", sources=["tb/tb_top.sv"], files=["tb/tb_top.sv"])
    req = CompileRequest(repo_root=repo, unit=unit, work_dir=tmp_path / "work")
    new, low = lower_for_compile(req)
    assert (repo / "tb/tb_top.sv").read_bytes() == before
    assert new.repo_root == (tmp_path / "work" / "fcov_tree").resolve()
    assert new.unit.sources == ["dvsmith_fcov_pkg.sv", "tb/tb_top.sv"]
    assert low.lowered == ["tb_top::fifo_flags_cg"] and low.top == "tb_top"
    again, _ = lower_for_compile(req)
    assert (again.repo_root / "tb/tb_top.sv").read_bytes() == (new.repo_root / "tb/tb_top.sv").read_bytes()


def _results(hits: dict[str, int]) -> str:
    return orjson.dumps({
        "format": "dvsmith-fcov-1",
        "instances": [{
            "type": "env::cg", "inst": "cg", "where": "x.sv:1", "weight": 1.0, "goal": 100, "per_instance": 0,
            "coverage": 0.0,
            "points": [{"name": "cp", "kind": "coverpoint", "weight": 1.0, "at_least": 1, "goal": 100,
                        "unsupported": "", "bins": [[b, "bins", n] for b, n in hits.items()] + [["ig", "ignore", 5]]}],
        }],
    }).decode()  # fmt: skip


def _health() -> LogHealth:
    return LogHealth(summary_found=True, summary_trusted=True, test_started=True, test_name="t", uvm_error=0,
                     uvm_fatal=0)  # fmt: skip


def test_results_targets_and_score() -> None:
    oracle = parse_results_text(_results({"a": 3, "b": 1, "c": 0, "d": 2}))
    assert oracle.covered_bins("env::cg") == ({"cp/a", "cp/b", "cp/d"}, {"cp/a", "cp/b", "cp/c", "cp/d"})
    targets, bins, notes = functional_targets(oracle)
    assert [(t.metric, t.oracle, t.target, t.weight) for t in targets] == [("functional:env::cg", 75.0, 67.5, 2.0)]
    assert bins == {"env::cg": ["cp/a", "cp/b", "cp/c", "cp/d"]} and notes == []
    acc = apply_functional_targets(Acceptance(), oracle)
    assert acc.functional_coverage == "measured"
    full = add_functional(None, oracle, acc)
    assert score(_health(), full, acc, "t").passed
    # a candidate missing one of the oracle's bins: 2 of 4 = 50% < 67.5%
    partial = add_functional(None, parse_results_text(_results({"a": 1, "b": 0, "c": 0, "d": 1})), acc)
    graded = score(_health(), partial, acc, "t")
    assert not graded.passed and graded.coverage_detail["functional:env::cg"]["achieved"] == 50.0
    # bins outside the oracle's set count for nothing; no results at all is 0
    other = add_functional(None, parse_results_text(_results({"zz": 9})), acc)
    assert other.percent("functional:env::cg") == 0.0
    assert add_functional(None, None, acc).percent("functional:env::cg") == 0.0


def test_unsupported_covergroups_are_notes_not_targets() -> None:
    from dvsmith.sim.covergroups.model import Unsupported

    u = Unsupported(file="a.sv", line=3, covergroup="m::g", what="wildcard bins")
    raw = orjson.loads(_results({"a": 1}))
    raw["instances"][0]["points"][0]["unsupported"] = "automatic bins of an enum coverpoint"
    targets, _, notes = functional_targets(parse_results_text(orjson.dumps(raw).decode()), [u])
    assert targets == []
    assert notes == [
        "covergroup m::g is not scored: wildcard bins is not supported (a.sv:3)",
        "covergroup env::cg is not scored: cp: automatic bins of an enum coverpoint",
    ]


def test_bad_results_file() -> None:
    with pytest.raises(ValueError):
        parse_results_text("{}")
    with pytest.raises(ValueError):
        parse_results_text("not json")


def test_build_report_and_task_readme_list_unsupported() -> None:
    from dvsmith.gym.writer import render_readme
    from dvsmith.sim.covergroups.model import Unsupported
    from dvsmith.sim.covergroups.results import covergroup_report

    u = Unsupported(file="a.sv", line=3, covergroup="m::g", what="wildcard bins", text="w")
    rep = covergroup_report(["tb::cg"], [u])
    assert rep == {"lowered": ["tb::cg"], "unsupported": [
        {"covergroup": "m::g", "file": "a.sv", "line": 3, "construct": "wildcard bins", "text": "w"}
    ]}  # fmt: skip
    acc = apply_functional_targets(Acceptance(), parse_results_text(_results({"a": 1})), [u])
    from dvsmith.gym.models import Task

    fields = {k: "x" for k in ("id", "test_name", "title", "description", "goal", "difficulty_reason", "test_select")}
    doc = {**fields, "hints": [], "difficulty": "easy", "acceptance": acc.model_dump(), "content_hash": "0"}
    task = Task.model_validate(doc)
    text = render_readme(task)
    assert "- covergroup m::g is not scored: wildcard bins is not supported (a.sv:3)" in text
    assert "functional:env::cg: ≥ 90.0% (reference reached 100.0%)" in text


def test_generated_code_is_out_of_code_coverage() -> None:
    src = package_source(uvm=False)
    assert src.index("/*verilator coverage_off*/") < src.index("package dvsmith_fcov_pkg;")
    data = TABLE.read_bytes()
    low, _, _ = lower_text(data, "fcov_table.sv", top="fcov_table")
    assert all(e.text.startswith("/*verilator coverage_off*/") for e in low.edits if "class " in e.text)
