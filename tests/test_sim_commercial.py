"""Command lines of the commercial simulators (Questa, Xcelium, VCS) and their adapters' behaviour here."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvsmith.analysis.profile import CompileUnit
from dvsmith.errors import ToolchainError, UserInputError
from dvsmith.sim.base import CompileRequest, RunRequest, get_adapter
from dvsmith.sim.commercial import filelist_lines
from dvsmith.sim.questa import QuestaAdapter
from dvsmith.sim.vcs import VcsAdapter
from dvsmith.sim.xcelium import XceliumAdapter


def _req(tmp_path: Path, coverage: bool = True) -> CompileRequest:
    repo = tmp_path / "repo"
    (repo / "tb").mkdir(parents=True, exist_ok=True)
    unit = CompileUnit(
        name="u",
        sources=["rtl/dut.sv", "tb/top.sv"],
        incdirs=["tb"],
        defines={"SIM": None, "W": "8"},
        top_modules=["tb_top"],
    )
    return CompileRequest(repo_root=repo, unit=unit, work_dir=tmp_path / "c", coverage=coverage)


def _run(tmp_path: Path) -> RunRequest:
    return RunRequest(binary=tmp_path / "c", test="my_test", seed=42, plusargs=["+VERBOSE"], work_dir=tmp_path / "r")


def test_filelist(tmp_path: Path) -> None:
    req = _req(tmp_path)
    repo = req.repo_root.resolve()
    assert filelist_lines(req, None) == [
        "+define+SIM",
        "+define+W=8",
        f"+incdir+{repo / 'tb'}",
        str(repo / "rtl" / "dut.sv"),
        str(repo / "tb" / "top.sv"),
    ]
    uvm = tmp_path / "uvm"
    lines = filelist_lines(req, uvm)
    assert lines[:2] == ["+define+UVM_NO_DPI", f"+incdir+{uvm / 'src'}"]
    assert lines.index(str(uvm / "src" / "uvm_pkg.sv")) < lines.index(str(repo / "rtl" / "dut.sv"))
    assert str(uvm / "src" / "uvm_pkg.sv") not in filelist_lines(req, uvm, uvm_in_filelist=False)
    bad = req.model_copy(update={"unit": req.unit.model_copy(update={"sources": ["../x.sv"]})})
    with pytest.raises(ValueError):
        filelist_lines(bad, None)


def test_questa_commands(tmp_path: Path) -> None:
    a = QuestaAdapter()
    vlib, vlog, vopt = a.compile_commands(_req(tmp_path), "tb_top")
    assert vlib == ["vlib", "work"]
    assert vlog[0] == "vlog" and "-sv" in vlog and "+cover=bcesft" in vlog
    assert vlog[vlog.index("-f") + 1] == "dvsmith.f" and vlog[vlog.index("-L") + 1] == "mtiUvm"
    assert vopt[:1] == ["vopt"] and "tb_top" in vopt and vopt[vopt.index("-o") + 1] == "dvsmith_opt"
    no_cov = a.compile_commands(_req(tmp_path, coverage=False), "tb_top")
    assert all("+cover=bcesft" not in c for c in no_cov)
    (vsim,) = a.run_commands(_run(tmp_path), tmp_path / "r" / "cov")
    assert vsim[:2] == ["vsim", "-c"]
    assert vsim[vsim.index("-lib") + 1] == str(tmp_path / "c" / "work")
    assert vsim[vsim.index("-sv_seed") + 1] == "42"
    assert "+UVM_TESTNAME=my_test" in vsim and "+VERBOSE" in vsim and "-coverage" in vsim
    do = vsim[vsim.index("-do") + 1]
    assert do.startswith("coverage save -onexit ") and do.endswith("run -all; quit -f")
    rep = a.coverage_report_command(_run(tmp_path), tmp_path / "r" / "cov", tmp_path / "rep.txt")
    assert rep == ["vcover", "report", "-summary", str(tmp_path / "r" / "cov" / "dvsmith.ucdb")]
    # A given UVM_HOME replaces the built-in library.
    assert "-L" not in QuestaAdapter(uvm_home=tmp_path / "uvm").compile_commands(_req(tmp_path), "tb_top")[1]


def test_xcelium_commands(tmp_path: Path) -> None:
    a = XceliumAdapter()
    (xrun,) = a.compile_commands(_req(tmp_path), "tb_top")
    assert xrun[:3] == ["xrun", "-64bit", "-elaborate"]
    assert "-uvm" in xrun and xrun[xrun.index("-uvmhome") + 1] == "CDNS-1.2"
    assert xrun[xrun.index("-top") + 1] == "tb_top" and xrun[xrun.index("-coverage") + 1] == "all"
    assert xrun[xrun.index("-f") + 1] == "dvsmith.f"
    (run,) = a.run_commands(_run(tmp_path), tmp_path / "r" / "cov")
    assert "-R" in run and run[run.index("-svseed") + 1] == "42" and "+UVM_TESTNAME=my_test" in run
    assert run[run.index("-covtest") + 1] == "my_test.s42"
    assert run[run.index("-xmlibdirname") + 1] == str(tmp_path / "c" / "xcelium.d")
    rep = a.coverage_report_command(_run(tmp_path), tmp_path / "r" / "cov", tmp_path / "r" / "rep.txt")
    assert rep is not None and rep[:3] == ["imc", "-batch", "-exec"]
    tcl = Path(rep[3]).read_text()
    assert f"load -run {tmp_path / 'r' / 'cov' / 'dvsmith' / 'my_test.s42'}" in tcl and "report -summary" in tcl
    own = XceliumAdapter(uvm_home=tmp_path / "uvm").compile_commands(_req(tmp_path), None)[0]
    assert own[own.index("-uvmhome") + 1] == str((tmp_path / "uvm").resolve()) and "-top" not in own


def test_vcs_commands(tmp_path: Path) -> None:
    a = VcsAdapter()
    (vcs,) = a.compile_commands(_req(tmp_path), "tb_top")
    assert vcs[:3] == ["vcs", "-full64", "-sverilog"]
    assert vcs[vcs.index("-ntb_opts") + 1] == "uvm-1.2"
    assert vcs[vcs.index("-cm") + 1] == "line+cond+fsm+tgl+branch+assert"
    assert vcs[vcs.index("-o") + 1] == str(tmp_path / "c" / "simv")
    (run,) = a.run_commands(_run(tmp_path), tmp_path / "r" / "cov")
    assert run[0] == str(tmp_path / "c" / "simv")
    assert "+ntb_random_seed=42" in run and "+UVM_TESTNAME=my_test" in run
    assert run[run.index("-cm_name") + 1] == "my_test.s42"
    rep = a.coverage_report_command(_run(tmp_path), tmp_path / "r" / "cov", tmp_path / "x")
    assert rep is not None and rep[0] == "urg" and rep[rep.index("-format") + 1] == "text"
    assert "-ntb_opts" not in VcsAdapter(uvm_home=tmp_path / "uvm").compile_commands(_req(tmp_path), None)[0]


@pytest.mark.parametrize("name", ["questa", "xcelium", "vcs"])
async def test_missing_commercial_tool_is_a_toolchain_error(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    adapter = get_adapter(name)
    with pytest.raises(ToolchainError, match="not found on PATH"):
        await adapter.compile(_req(tmp_path))


def test_get_adapter_names() -> None:
    assert isinstance(get_adapter("Questa"), QuestaAdapter)
    assert isinstance(get_adapter("xrun"), XceliumAdapter)
    assert isinstance(get_adapter("vcs"), VcsAdapter)
    with pytest.raises(UserInputError, match="unknown simulator"):
        get_adapter("iverilog")


def test_an_adapter_registers_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """A third adapter needs no edit of ``sim/base.py``: its class decorator is the whole registration."""
    from dvsmith.sim import base

    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))

    @base.register_adapter("ivl")
    class IcarusAdapter(QuestaAdapter):
        name = "icarus"

    assert type(get_adapter("ICARUS")) is IcarusAdapter and type(get_adapter("ivl")) is IcarusAdapter
    assert type(get_adapter("questa")) is QuestaAdapter  # the built-in ones are still found by name


async def test_questa_flow_with_scripted_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The adapter's compile/run/report sequence, against small scripts standing in for the tools and
    printing the recorded sample outputs."""
    data = Path(__file__).parent / "data" / "sim" / "questa"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.txt"
    scripts = {
        "vlib": "",
        "vlog": "",
        "vopt": "",
        "vsim": f"cat {data / 'transcript.log'}",
        "vcover": f"cat {data / 'vcover_summary.txt'}",
    }
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text(f'#!/bin/sh\necho "{name} $*" >> {calls}\n{body}\n')
        path.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    req = _req(tmp_path)
    (req.repo_root / "tb" / "top.sv").write_text("module tb_top; endmodule\n")
    adapter = QuestaAdapter()
    comp = await adapter.compile(req)
    assert comp.ok and comp.binary == (tmp_path / "c").resolve()
    assert (tmp_path / "c" / "dvsmith.f").is_file()
    res = await adapter.run(_run(tmp_path).model_copy(update={"binary": comp.binary}))
    assert res.exit_code == 0 and not res.timed_out
    assert res.health.uvm_error == 1 and res.health.test_name == "smoke_pass_test"
    assert res.coverage is not None and res.coverage.percent("functional") == 62.5
    assert [line.split()[0] for line in calls.read_text().splitlines()] == ["vlib", "vlog", "vopt", "vsim", "vcover"]


async def test_failed_compile_step_stops_and_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("vlib", "vopt", "vsim", "vcover"):
        (bin_dir / name).write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / name).chmod(0o755)
    (bin_dir / "vlog").write_text('#!/bin/sh\necho "** Error: top.sv(3): near \\"=\\": syntax error"\nexit 2\n')
    (bin_dir / "vlog").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    comp = await QuestaAdapter().compile(_req(tmp_path))
    assert not comp.ok and comp.binary is None
    assert comp.errors == ['** Error: top.sv(3): near "=": syntax error']
    assert comp.command[0] == "vlog"
