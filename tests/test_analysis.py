"""Static ingest on small hand-written repos, one hard case each (DVSMITH_HOME is per test: conftest)."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from dvsmith import paths
from dvsmith.analysis import ingest as ing
from dvsmith.analysis import limits, store
from dvsmith.analysis import parse as sv
from dvsmith.analysis.ingest import (
    analyze_repo,
    clear_parse_cache,
    ingest,
    load_profile,
    parse_cache_info,
    refresh_profile,
)
from dvsmith.analysis.profile import Profile
from dvsmith.analysis.store import list_profiles, remove_profile, save_profile
from dvsmith.errors import UserInputError
from dvsmith.events import Event


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text)
    return root


def by_name(items: list, name: str, file: str | None = None):
    hits = [i for i in items if i.name == name and (file is None or i.file == file)]
    assert len(hits) == 1, f"{name}: {hits}"
    return hits[0]


BASIC_PKG = """package tb_pkg;
  import uvm_pkg::*;
  `include "uvm_macros.svh"
  `include "item.svh"
  `include "seqs.svh"
  `include "tests.svh"
endpackage
"""
ITEM = """class item extends uvm_sequence_item;
  `uvm_object_utils_begin(item)
    `uvm_field_int(data, UVM_ALL_ON)
    `uvm_field_enum(kind_e, kind, UVM_ALL_ON)
  `uvm_object_utils_end
  rand bit [7:0] data;
endclass
class sqr extends uvm_sequencer #(item);
  `uvm_component_utils(sqr)
endclass
class vsqr extends uvm_sequencer;
  `uvm_component_utils(vsqr)
  sqr s0;
endclass
"""
TOP = """module top;
  import uvm_pkg::*;
  import tb_pkg::*;
  initial run_test();
endmodule
"""


def test_uvm_macros_keep_sequences_visible(tmp_path: Path) -> None:
    repo = write(
        tmp_path / "r",
        {
            "tb.f": "+incdir+tb\ntb/tb_pkg.sv\ntb/top.sv\n",
            "tb/tb_pkg.sv": BASIC_PKG,
            "tb/top.sv": TOP,
            "tb/item.svh": ITEM,
            "tb/seqs.svh": """class base_seq extends uvm_sequence #(item);
  `uvm_object_utils(base_seq)
  `uvm_declare_p_sequencer(sqr)
endclass
class a_seq extends base_seq;
  `uvm_object_utils(a_seq)
  task body();
    `uvm_do_with(req, { data == 1; })
    `uvm_info("A", $sformatf("data %0d", req.data), UVM_LOW)
    `uvm_pack_intN(req.data, 8)
  endtask
endclass
class b_seq extends base_seq;
  `uvm_object_utils(b_seq)
  a_seq sub;
  task body();
    `uvm_do(sub)
  endtask
endclass
class v_seq extends uvm_sequence;
  `uvm_object_utils(v_seq)
  `uvm_declare_p_sequencer(vsqr)
  a_seq a;
  b_seq b;
  task body();
    `uvm_do_on_with(a, p_sequencer.s0, { a.n == 2; })
    `uvm_do_on(b, p_sequencer.s0)
  endtask
endclass
""",
            "tb/tests.svh": """class base_test extends uvm_test;
  `uvm_component_utils(base_test)
endclass
class t_macro extends base_test;
  `uvm_component_utils(t_macro)
  v_seq vs;
  task run_phase(uvm_phase phase);
    `uvm_error("T", "never")
    `uvm_do(vs)
  endtask
endclass
""",
        },
    )
    profile, stats = analyze_repo(repo)
    assert stats.files_parsed == 5
    assert [d for d in profile.diagnostics if d.file.endswith(".svh")] == []
    assert by_name(profile.tests, "t_macro").sequences == ["v_seq"]
    assert by_name(profile.sequences, "v_seq").is_virtual_sequence
    assert not by_name(profile.sequences, "a_seq").is_virtual_sequence
    # b_seq starts a_seq on its own sequencer: hierarchical, not virtual
    assert not by_name(profile.sequences, "b_seq").is_virtual_sequence
    assert [i.name for i in profile.sequence_items] == ["item"]
    assert sorted(s.name for s in profile.sequencers) == ["sqr", "vsqr"]


def test_parse_keeps_marker_and_p_sequencer() -> None:
    facts = sv.parse_bytes(
        b"class s extends uvm_sequence #(it);\n  `uvm_declare_p_sequencer(my_sqr)\n"
        b"  task body(); `uvm_do_on(x, p_sequencer.a) endtask\nendclass\n",
        [],
        {},
    )
    (c,) = facts["classes"]
    assert c["props"]["p_sequencer"] == "my_sqr"
    assert c["starts"] == [{"var": "x", "type": None, "sqr": "p_sequencer.a", "how": "macro", "method": "body"}]


def test_includes_filelists_and_defines(tmp_path: Path) -> None:
    repo = write(
        tmp_path / "r",
        {
            "sim/Makefile": "PROJ ?= ..\nrun:\n\tvcs -sverilog -f $(PROJ)/lists/top.f +UVM_TESTNAME=$(TESTNAME)\n",
            "lists/top.f": (
                "// top list\n# hash comment\n+incdir+${PROJ}/tb/inc\n+define+HAVE_B+LEVEL=2\n"
                "-F sub/agent.f\n$PROJ/tb/tb_pkg.sv  // trailing comment\n${PROJ}/tb/top.sv\n"
                "$UVM_HOME/src/uvm_pkg.sv\n"
            ),
            "lists/sub/agent.f": "-f ../deep.f\n",
            "lists/deep.f": "+incdir+../tb/agent\n",
            "tb/tb_pkg.sv": BASIC_PKG.replace('`include "seqs.svh"', '`include "seqs.svh"\n  `include "lists.svh"'),
            "tb/top.sv": TOP,
            "tb/inc/item.svh": ITEM,
            "tb/agent/seqs.svh": "class s1 extends uvm_sequence #(item); endclass\n",
            "tb/inc/lists.svh": '`include "more/nested.svh"\n',
            "tb/inc/more/nested.svh": '`include "sibling.svh"\n',
            "tb/inc/more/sibling.svh": "class s2 extends uvm_sequence #(item); endclass\n",
            "tb/tests.svh": """class t1 extends uvm_test;
  task run_phase(uvm_phase phase);
    s1 a = s1::type_id::create("a");
    a.start(null);
  endtask
endclass
`ifdef HAVE_B
class t_b extends uvm_test; endclass
`endif
`ifndef HAVE_B
class t_not_b extends uvm_test; endclass
`elsif NOT_DEFINED
class t_never extends uvm_test; endclass
`endif
// class t_line_comment extends uvm_test; endclass
/* class t_block_comment extends uvm_test;
endclass */
""",
            "unused/stray.sv": "class stray_test extends uvm_test; endclass\n",
        },
    )
    profile, _ = analyze_repo(repo)
    assert sorted(t.name for t in profile.tests) == ["stray_test", "t1", "t_b"]
    assert by_name(profile.tests, "t1").sequences == ["s1"]
    assert not by_name(profile.tests, "stray_test").in_build
    assert by_name(profile.tests, "t1").in_build
    pkg = by_name(profile.packages, "tb_pkg")
    assert pkg.includes == [  # transitive, depth first, in include order
        "tb/inc/item.svh",
        "tb/agent/seqs.svh",
        "tb/inc/lists.svh",
        "tb/inc/more/nested.svh",
        "tb/inc/more/sibling.svh",
        "tb/tests.svh",
    ]
    assert by_name(profile.sequences, "s2").in_build  # reached through two levels of includes
    (unit,) = profile.compile_units
    assert unit.sources == ["tb/tb_pkg.sv", "tb/top.sv"]  # included-only files and UVM are not sources
    assert unit.incdirs == ["tb/inc", "tb/agent"]
    assert unit.defines == {"HAVE_B": None, "LEVEL": "2"}
    assert unit.top_modules == ["top"]
    assert unit.filelist == "lists/top.f"
    assert "tb/inc/more/sibling.svh" in unit.files
    assert profile.build.kind == "makefile"
    assert profile.build.simulators == ["vcs"]
    assert (profile.build.test_select, profile.build.test_var) == ("+UVM_TESTNAME", "TESTNAME")
    assert set(profile.build.filelists) == {"lists/top.f", "lists/sub/agent.f", "lists/deep.f"}
    assert not any("not found" in d.message for d in profile.diagnostics), profile.diagnostics


def test_class_syntax_variants_and_spans(tmp_path: Path) -> None:
    tests_text = """// header
virtual class base_t #(type T = int, int N = 2)
  extends uvm_test;
  class inner_cfg extends uvm_object; endclass
  extern virtual task run_phase(uvm_phase phase);
endclass : base_t

task base_t::run_phase(uvm_phase phase);
  p_seq#(item) s;
  s = p_seq#(item)::type_id::create("s");
  s.start(null);
endtask : run_phase

class leaf_t
  extends
    base_t #(.T(item), .N(3));
  `uvm_component_utils(leaf_t)
endclass

class p_seq #(type REQ = item) extends uvm_sequence #(REQ);
  extern function new(string name = "p_seq");
endclass
function p_seq::new(string name = "p_seq");
  super.new(name);
endfunction
"""
    repo = write(tmp_path / "r", {"tb/t.sv": tests_text, "tb/top.sv": "module top; initial run_test(); endmodule\n"})
    profile, _ = analyze_repo(repo)
    data = tests_text.encode()
    base = by_name(profile.tests, "base_t")
    assert base.is_virtual and base.is_base and base.line == 2 and base.base_chain == ["uvm_test"]
    assert data[base.span.start : base.span.end].startswith(b"virtual class base_t")
    assert data[base.span.start : base.span.end].endswith(b"endclass : base_t")
    assert (base.span.line, base.span.end_line) == (2, 6)
    (ext,) = base.extern_spans
    assert data[ext.start : ext.end].startswith(b"task base_t::run_phase")
    assert data[ext.start : ext.end].endswith(b"endtask : run_phase")
    assert base.sequences == ["p_seq"]  # started in the extern body, parameterized create
    leaf = by_name(profile.tests, "leaf_t")
    assert leaf.base_chain == ["base_t", "uvm_test"] and leaf.line == 14
    assert leaf.sequences == ["p_seq"]  # inherits run_phase
    assert data[leaf.span.start : leaf.span.end].endswith(b"endclass")
    inner = by_name(profile.classes, "inner_cfg")
    assert inner.scope == "base_t"
    seq = by_name(profile.sequences, "p_seq")
    assert seq.base_chain == ["uvm_sequence"] and not seq.is_virtual_sequence
    assert len(seq.extern_spans) == 1


def test_test_sequences_rules(tmp_path: Path) -> None:
    repo = write(
        tmp_path / "r",
        {
            "tb/top.sv": TOP,
            "tb/tb_pkg.sv": BASIC_PKG,
            "tb/item.svh": ITEM,
            "tb/seqs.svh": "\n".join(
                f"class {n} extends uvm_sequence #(item); `uvm_object_utils({n}) endclass" for n in "abcdefg"
            )
            + "\nclass lib_base_seq extends uvm_sequence #(item); endclass\n",
            "tb/tests.svh": """class my_base_test extends uvm_test;
  a seq_a;
  task run_phase(uvm_phase phase);
    seq_a = a::type_id::create("seq_a");
    seq_a.start(env.sqr);
  endtask
endclass
class inherits_test extends my_base_test; endclass
class overrides_test extends my_base_test;
  task run_phase(uvm_phase phase);
    lib_base_seq s;
    s = b::type_id::create("s");
    s.start(env.sqr);
    begin
      c h = new("h");
      h.start(env.sqr);
    end
  endtask
endclass
class default_seq_test extends my_base_test;
  function void build_phase(uvm_phase phase);
    uvm_config_db#(uvm_object_wrapper)::set(this, "env.sqr.main_phase", "default_sequence",
                                            d::type_id::get());
    uvm_config_db#(uvm_object_wrapper)::set(this, "env.sqr.run_phase", "default_sequence", e::get_type());
  endfunction
endclass
class main_test extends my_base_test;
  task main_phase(uvm_phase phase);
    f::type_id::create("f").start(env.sqr);
  endtask
endclass
class plain_parent_test extends uvm_test;
  task run_phase(uvm_phase phase); g s; s = new(); s.start(null); endtask
endclass
class plain_child_test extends plain_parent_test; endclass
class empty_parent_test extends uvm_test; endclass
class empty_child_test extends empty_parent_test;
  task run_phase(uvm_phase phase); a s; s = new(); s.start(null); endtask
endclass
""",
        },
    )
    profile, _ = analyze_repo(repo)
    t = {x.name: x for x in profile.tests}
    assert t["my_base_test"].sequences == ["a"] and t["my_base_test"].is_base  # named base, has children
    assert t["inherits_test"].sequences == ["a"] and not t["inherits_test"].is_base
    assert t["overrides_test"].sequences == ["b", "c"]  # create type wins over declared type
    assert t["default_seq_test"].sequences == ["d", "e", "a"]  # no run_phase of its own: inherits
    assert t["main_test"].sequences == ["f"]
    # extended by another test but starts a sequence and is not named like a base: a real test
    assert not t["plain_parent_test"].is_base
    # extended and starts nothing itself: a base
    assert t["empty_parent_test"].is_base
    assert not t["empty_child_test"].is_base


def test_components_and_covergroups(tmp_path: Path) -> None:
    repo = write(
        tmp_path / "r",
        {
            "tb/top.sv": TOP
            + """module cov_mon(input logic clk, input logic [3:0] v);
  covergroup v_cg @(posedge clk);
    coverpoint v;
    cp_hi: coverpoint v[3];
  endgroup
  v_cg cg = new();
endmodule
interface bus_if(input logic clk); logic v; endinterface
""",
            "tb/tb_pkg.sv": BASIC_PKG,
            "tb/item.svh": ITEM
            + """class drv extends uvm_driver #(item); endclass
class mon extends uvm_monitor; endclass
class agt extends uvm_agent; drv d; mon m; endclass
class env extends uvm_env; agt a; endclass
class sb1 extends uvm_scoreboard; endclass
class my_scoreboard extends uvm_component;
  uvm_analysis_imp #(item, my_scoreboard) exp_imp;
  covergroup sb_cg with function sample(bit x, bit y);
    cx: coverpoint x;
    cy: coverpoint y;
    cxy: cross cx, cy;
  endgroup
endclass
class cov_sub extends uvm_subscriber #(item); endclass
class data_checker extends uvm_subscriber #(item); endclass
class drv2 extends drv; endclass
class reg_seq extends uvm_reg_sequence; endclass
""",
            "tb/seqs.svh": "",
            "tb/tests.svh": "class t extends uvm_test; endclass\n",
        },
    )
    profile, _ = analyze_repo(repo)
    assert sorted(d.name for d in profile.drivers) == ["drv", "drv2"]
    assert by_name(profile.drivers, "drv2").base_class == "drv"
    assert [m.name for m in profile.monitors] == ["mon"]
    assert [a.name for a in profile.agents] == ["agt"]
    assert [e.name for e in profile.envs] == ["env"]
    assert sorted(s.name for s in profile.scoreboards) == ["data_checker", "my_scoreboard", "sb1"]
    assert by_name(profile.classes, "cov_sub").kind == "other"
    assert by_name(profile.sequences, "reg_seq").base_chain == ["uvm_reg_sequence"]
    cg = by_name(profile.covergroups, "sb_cg")
    assert (cg.scope, cg.coverpoints, cg.crosses) == ("my_scoreboard", ["cx", "cy"], ["cxy"])
    mcg = by_name(profile.covergroups, "v_cg")
    assert (mcg.scope, mcg.coverpoints, mcg.file) == ("cov_mon", ["v", "cp_hi"], "tb/top.sv")
    assert [i.name for i in profile.interfaces] == ["bus_if"]
    assert sorted(m.name for m in profile.modules) == ["cov_mon", "top"]
    # no build files at all: everything is in the build; units come from the run_test top
    assert profile.build.kind == "none"
    assert all(c.in_build for c in profile.classes)
    (unit,) = profile.compile_units
    assert unit.name == "top" and unit.top_modules[0] == "top"
    assert unit.sources == ["tb/tb_pkg.sv", "tb/top.sv"]


def _bench(name: str) -> dict[str, str]:
    return {
        f"{name}/Makefile": f"run:\n\txrun -f {name}.f +UVM_TESTNAME=$(TEST)\n",
        f"{name}/{name}.f": "+incdir+tb\ntb/pkg.sv\ntb/top.sv\n",
        f"{name}/tb/pkg.sv": 'package pkg;\n`include "seqs.svh"\n`include "tests.svh"\nendpackage\n',
        f"{name}/tb/top.sv": f"module {name}_top; import pkg::*; initial run_test(); endmodule\n",
        f"{name}/tb/seqs.svh": f"class {name}_seq extends uvm_sequence; endclass\n"
        f"class common_seq extends {name}_seq; endclass\n",
        f"{name}/tb/tests.svh": f"""class base_test extends uvm_test; endclass
class smoke_test extends base_test;
  task run_phase(uvm_phase phase);
    common_seq s = common_seq::type_id::create("s");
    s.start(null);
  endtask
endclass
class only_{name}_test extends base_test; endclass
""",
    }


def test_same_class_names_in_two_benches(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {**_bench("alpha"), **_bench("beta")})
    profile, _ = analyze_repo(repo)
    smokes = sorted((t for t in profile.tests if t.name == "smoke_test"), key=lambda t: t.file)
    assert [t.file for t in smokes] == ["alpha/tb/tests.svh", "beta/tb/tests.svh"]
    assert [t.compile_unit for t in smokes] == ["alpha", "beta"]
    assert all(t.sequences == ["common_seq"] and not t.is_base for t in smokes)
    commons = sorted((s for s in profile.sequences if s.name == "common_seq"), key=lambda s: s.file)
    assert [s.base_chain for s in commons] == [["alpha_seq", "uvm_sequence"], ["beta_seq", "uvm_sequence"]]
    units = {u.name: u for u in profile.compile_units}
    assert set(units) == {"alpha", "beta"}
    assert units["beta"].sources == ["beta/tb/pkg.sv", "beta/tb/top.sv"]
    assert units["beta"].top_modules == ["beta_top"] and units["beta"].root == "beta"
    assert sum(1 for t in profile.tests if t.name == "base_test" and t.is_base) == 2


def test_bad_bytes_syntax_errors_and_huge_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 2000)
    repo = write(
        tmp_path / "r",
        {
            "tb/latin.sv": b"// caf\xe9 \xff\xfe\nclass latin_test extends uvm_test; endclass\n",
            "tb/broken.sv": "class ok_test extends uvm_test; endclass\n"
            "class broken_t extends uvm_test;\n  int x = ;\n"
            "  task run_phase(uvm_phase phase) begin\nendclass\nmodule m(; endmodule\n",
            "tb/huge.sv": "class huge_test extends uvm_test; endclass\n" + "// pad\n" * 600,
        },
    )
    profile, stats = analyze_repo(repo)
    names = {t.name for t in profile.tests}
    assert {"latin_test", "ok_test"} <= names and "huge_test" not in names
    files_with_diags = {d.file for d in profile.diagnostics}
    assert {"tb/latin.sv", "tb/broken.sv", "tb/huge.sv"} <= files_with_diags
    latin = by_name(profile.tests, "latin_test")
    raw = (repo / "tb/latin.sv").read_bytes()
    assert raw[latin.span.start : latin.span.end] == b"class latin_test extends uvm_test; endclass"
    assert stats.files_parsed == 2  # the huge one is skipped, not parsed


def test_bad_input_errors(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="not found"):
        analyze_repo(tmp_path / "missing")
    (tmp_path / "f.sv").write_text("module m; endmodule\n")
    with pytest.raises(UserInputError, match="not a folder"):
        analyze_repo(tmp_path / "f.sv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserInputError, match="empty"):
        analyze_repo(tmp_path / "empty")
    write(tmp_path / "nosv", {"README.md": "hi", "x.py": "print(1)"})
    with pytest.raises(UserInputError, match="no SystemVerilog"):
        analyze_repo(tmp_path / "nosv")
    write(tmp_path / "notest", {"a.sv": "module a; endmodule\nclass e extends uvm_env; endclass\n"})
    with pytest.raises(UserInputError, match="no UVM test"):
        analyze_repo(tmp_path / "notest")
    profile, _ = analyze_repo(tmp_path / "notest", use_cache=False, require_tests=False)
    assert profile.tests == [] and [e.name for e in profile.envs] == ["e"]


def test_symlink_loop_and_unreadable(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {"tb/t.sv": "class t extends uvm_test; endclass\n"})
    os.symlink("..", repo / "tb" / "loop")
    os.symlink("nowhere.sv", repo / "tb" / "dangling.sv")
    profile, _ = analyze_repo(repo)
    assert [t.file for t in profile.tests] == ["tb/t.sv"]
    msgs = {d.file: d.message for d in profile.diagnostics}
    assert "loop" in msgs["tb/loop"] and "broken" in msgs["tb/dangling.sv"]


def test_parse_cache_counts(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {**_bench("alpha")})
    events: list[Event] = []
    _, cold = analyze_repo(repo, reporter=events.append)
    assert (cold.files_total, cold.files_parsed, cold.cache_hits) == (4, 4, 0)
    _, warm = analyze_repo(repo)
    assert (warm.files_parsed, warm.cache_hits) == (0, 4)
    seqs = repo / "alpha/tb/seqs.svh"
    seqs.write_text(seqs.read_text() + "class extra_seq extends uvm_sequence; endclass\n")
    profile, one = analyze_repo(repo)
    assert (one.files_parsed, one.cache_hits) == (1, 3)
    assert any(s.name == "extra_seq" for s in profile.sequences)
    # same content, new mtime: the content hash settles it, nothing is parsed
    os.utime(seqs, ns=(1, 1))
    _, same = analyze_repo(repo)
    assert same.files_parsed == 0
    _, nocache = analyze_repo(repo, use_cache=False)
    assert nocache.files_parsed == 4
    # a corrupt cache is a warning and a rebuild
    (cache_file,) = [p for p in paths.parse_cache_dir().iterdir() if p.name.startswith("repo-")]
    cache_file.write_bytes(b"{not json")
    events.clear()
    _, rebuilt = analyze_repo(repo, reporter=events.append)
    assert rebuilt.files_parsed == 4
    assert any(e.kind == "warning" and "corrupt" in e.message for e in events)
    assert parse_cache_info()["repos"] == 1
    assert clear_parse_cache() == 1 and parse_cache_info()["files"] == 0


def test_macro_defined_elsewhere_is_used(tmp_path: Path) -> None:
    repo = write(
        tmp_path / "r",
        {
            "tb/defs.svh": "`define MY_TEST(N) class N extends uvm_test; endclass\n`define SEQ_T my_seq\n",
            "tb/a.sv": '`include "defs.svh"\n`MY_TEST(made_test)\nclass real_test extends uvm_test;\n'
            "  task run_phase(uvm_phase p); `SEQ_T s = new(); s.start(null); endtask\nendclass\n"
            "class my_seq extends uvm_sequence; endclass\n",
        },
    )
    profile, _ = analyze_repo(repo)
    assert by_name(profile.tests, "real_test").sequences == ["my_seq"]
    assert "made_test" in {t.name for t in profile.tests}
    # changing the macro's definition re-parses the file that uses it
    (repo / "tb/defs.svh").write_text("`define MY_TEST(N) class N extends uvm_env; endclass\n`define SEQ_T my_seq\n")
    profile, stats = analyze_repo(repo)
    assert stats.files_parsed == 2
    assert "made_test" not in {t.name for t in profile.tests}


def test_build_detection_variants(tmp_path: Path) -> None:
    core = write(
        tmp_path / "core",
        {
            "tb.core": """CAPI=2:
name: ::tb:0
filesets:
  tb:
    files:
      - tb/defs.svh: {is_include_file: true}
      - tb/pkg.sv
      - tb/top.sv
    file_type: systemVerilogSource
targets:
  sim:
    toplevel: top
""",
            "tb/defs.svh": "class t extends uvm_test; endclass\n",
            "tb/pkg.sv": 'package p; `include "defs.svh" endpackage\n',
            "tb/top.sv": "module top; import p::*; initial run_test(); endmodule\n",
            "tb/old.sv": "class old_t extends uvm_test; endclass\n",
        },
    )
    profile, _ = analyze_repo(core)
    assert profile.build.kind == "fusesoc" and profile.build.files == ["tb.core"]
    (unit,) = profile.compile_units
    assert unit.sources == ["tb/pkg.sv", "tb/top.sv"] and unit.incdirs == ["tb"] and unit.top_modules == ["top"]
    assert by_name(profile.tests, "t").in_build and not by_name(profile.tests, "old_t").in_build

    script = write(
        tmp_path / "script",
        {
            "run.sh": '#!/bin/sh\nTEST=${1:-t}\nvlog -sv -f files.f\nvsim -c top "+UVM_TESTNAME=$TEST"\n',
            "files.f": "tb.sv\n",
            "tb.sv": "module top; initial run_test(); endmodule\nclass t extends uvm_test; endclass\n",
        },
    )
    profile, _ = analyze_repo(script)
    assert profile.build.kind == "script" and profile.build.simulators == ["questa"]
    assert profile.build.files == ["run.sh"] and profile.build.test_var == "TEST"


def test_store_roundtrip_and_refresh(tmp_path: Path) -> None:
    repo = write(tmp_path / "r", {**_bench("alpha")})
    with pytest.raises(UserInputError):
        load_profile()
    profile, _ = ingest(repo, name="first")
    ingest(repo, name="second")
    assert load_profile().name == "second"
    assert load_profile("first").fingerprint == profile.fingerprint
    assert [(s.name, s.tests) for s in list_profiles()] == [("first", 3), ("second", 3)]
    with pytest.raises(UserInputError, match="no profile"):
        load_profile("nope")
    # corrupt profile file: warning and re-ingest from the recorded repo
    path = paths.profiles_dir() / "first.json"
    path.write_bytes(b"\x00garbage")
    events: list[Event] = []
    again = load_profile("first", reporter=events.append)
    assert again.fingerprint == profile.fingerprint
    assert any(e.kind == "warning" for e in events)
    assert Profile.model_validate(orjson.loads(path.read_bytes())).name == "first"
    # refresh: unchanged -> same object, nothing parsed
    same, stats, changed = refresh_profile(again)
    assert same is again and changed == [] and stats.files_parsed == 0
    (repo / "alpha/tb/new_seq.svh").write_text("class new_seq extends uvm_sequence; endclass\n")
    (repo / "alpha/tb/seqs.svh").write_text((repo / "alpha/tb/seqs.svh").read_text() + "\n// edit\n")
    new, stats, changed = refresh_profile(again)
    assert changed == ["alpha/tb/new_seq.svh", "alpha/tb/seqs.svh"]
    assert stats.files_parsed == 2 and new.fingerprint != again.fingerprint
    assert load_profile("first").fingerprint == new.fingerprint
    remove_profile("second")
    assert [s.name for s in list_profiles()] == ["first"]
    assert load_profile().name == "first"
    with pytest.raises(UserInputError):
        remove_profile("second")
    # corrupt and repo gone: a clear error
    path.write_bytes(b"{}")
    save_profile_path = paths.profiles_dir() / store.INDEX_NAME
    index = orjson.loads(save_profile_path.read_bytes())
    index["profiles"]["first"]["repo_root"] = str(tmp_path / "gone")
    save_profile_path.write_bytes(orjson.dumps(index))
    with pytest.raises(UserInputError, match="corrupt"):
        load_profile("first")
    save_profile(new)
    assert load_profile("first").fingerprint == new.fingerprint


def test_pool_parse_matches_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {**_bench("alpha"), **_bench("beta")}
    for i in range(12):
        files[f"alpha/tb/extra{i}.sv"] = f"class x{i}_seq extends uvm_sequence; endclass\n"
    repo = write(tmp_path / "r", files)
    serial, _ = analyze_repo(repo, use_cache=False)
    monkeypatch.setattr(ing, "POOL_MIN_FILES", 2)
    monkeypatch.setattr(ing, "POOL_MIN_BYTES", 0)
    monkeypatch.setenv("DVSMITH_PARSE_WORKERS", "2")
    pooled, stats = analyze_repo(repo, use_cache=False)
    assert stats.files_parsed == sum(1 for f in files if f.endswith(".sv") or f.endswith(".svh"))
    dump = lambda p: p.model_dump(exclude={"created_at"})  # noqa: E731
    assert dump(pooled) == dump(serial)


def test_vendored_uvm_library_is_not_analysed(tmp_path: Path) -> None:
    repo = write(
        tmp_path / "r",
        {
            "tb/t.sv": "class my_test extends uvm_test; endclass\nmodule top; initial run_test(); endmodule\n",
            "vendor/uvm-1.2/src/uvm_pkg.sv": 'package uvm_pkg; `include "base/uvm_base.svh" endpackage\n',
            "vendor/uvm-1.2/src/uvm_macros.svh": "`define uvm_info(A,B,C) begin end\n",
            "vendor/uvm-1.2/src/base/uvm_base.svh": "virtual class uvm_test extends uvm_component; endclass\n",
            "vendor/uvm-1.2/examples/ex_test.sv": "class ex_test extends uvm_test; endclass\n",
        },
    )
    profile, stats = analyze_repo(repo)
    assert [t.name for t in profile.tests] == ["my_test"]
    assert by_name(profile.tests, "my_test").base_chain == ["uvm_test"]
    assert stats.files_total == 1
    assert any(d.file == "vendor/uvm-1.2" for d in profile.diagnostics)
    assert refresh_profile(profile)[2] == []


def test_an_include_of_another_extension_is_parsed_and_followed(tmp_path: Path) -> None:
    """`include "all_src.incl"` (Practical-UVM's mstr_slv_src.incl): the .incl file is SystemVerilog too;
    the files it includes belong to the unit, and a warm re-ingest or refresh finds nothing changed."""
    repo = write(
        tmp_path / "r",
        {
            "files.f": "+incdir+inc\ntb/top.sv\n",
            "tb/top.sv": (
                "package p;\n  import uvm_pkg::*;\n  `include \"uvm_macros.svh\"\n  `include \"all_src.incl\"\n"
                "endpackage\nmodule top; import uvm_pkg::*; import p::*; initial run_test(); endmodule\n"
            ),
            "inc/all_src.incl": '`include "my_test.sv"\n',
            "inc/my_test.sv": "class my_test extends uvm_test;\n  `uvm_component_utils(my_test)\nendclass\n",
            "inc/notes.incl": "not included by anything: never parsed\n",
        },
    )
    profile, stats = analyze_repo(repo, name="incl")
    (unit,) = profile.compile_units
    assert {"inc/all_src.incl", "inc/my_test.sv", "tb/top.sv"} <= set(unit.files)
    assert "inc/notes.incl" not in {r.path for r in profile.files}
    assert [t.name for t in profile.tests] == ["my_test"] and stats.files_parsed == 3
    assert not [d for d in profile.diagnostics if "include not found" in d.message]
    store.save_profile(profile)
    _, warm = analyze_repo(repo, name="incl")
    assert warm.files_parsed == 0
    assert ing.changed_files(profile) == []


def test_an_include_two_folders_hold_is_taken_in_the_units_incdir_order(tmp_path: Path) -> None:
    """Two +incdir+ folders hold seq_lib.sv; the unit lists common/ first, and the including file's folder
    (include/) holds neither: the compiler takes common/'s (Practical-UVM's wb_dma bench, where VCS's log
    shows common/'s sequence library parsed), though bench/src/ is nearer the including file."""
    seq = "class {0}_seq extends uvm_sequence;\n  `uvm_object_utils({0}_seq)\nendclass\n"
    repo = write(
        tmp_path / "r",
        {
            "sim/files.f": "+incdir+../common\n+incdir+../bench/src\n+incdir+../bench/include\n../bench/top.sv\n",
            "bench/top.sv": (
                "package p;\n  import uvm_pkg::*;\n  `include \"uvm_macros.svh\"\n  `include \"all_src.incl\"\n"
                "  class t extends uvm_test;\n    `uvm_component_utils(t)\n  endclass\n"
                "endpackage\nmodule top; import uvm_pkg::*; import p::*; initial run_test(); endmodule\n"
            ),
            "bench/include/all_src.incl": '`include "seq_lib.sv"\n',
            "common/seq_lib.sv": seq.format("common"),
            "bench/src/seq_lib.sv": seq.format("src"),
        },
    )
    profile, _ = analyze_repo(repo, name="order")
    (unit,) = profile.compile_units
    assert "common/seq_lib.sv" in unit.files and "bench/src/seq_lib.sv" not in unit.files
    lib = next(f for f in profile.files if f.path == "bench/include/all_src.incl")
    assert lib.includes == ["common/seq_lib.sv"]
