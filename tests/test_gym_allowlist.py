"""The language allowlist and the task's structure, checked before compiling (no simulation).

Every static attack of issue 9 (and one variant of each) lives under ``tests/data/redteam/<attack>/`` as a
solution of fixture ``b_single_file``'s ``overflow_test``; each must be refused by the eval's screening with
the right reason. The oracle of every task of every fixture must pass the same screening.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from dvsmith.analysis.ingest import ingest
from dvsmith.gym.allowlist import check_solution, uvm_sources
from dvsmith.gym.build import BuildOptions, run_build
from dvsmith.gym.evaluate import _Evaluator
from dvsmith.gym.gymfiles import all_tasks, load_build, load_task
from dvsmith.gym.models import Task
from dvsmith.gym.solution import map_solution
from dvsmith.gym.validate import gym_unit
from dvsmith.gym.writer import MANIFEST
from dvsmith.sim.base import get_adapter
from tests.conftest import _find_uvm_home

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
REDTEAM = Path(__file__).resolve().parent / "data" / "redteam"
NAMES = sorted(p.name.removesuffix(".expected.json") for p in FIXTURES.glob("*.expected.json"))  # a-e and later ones
SOLUTION = "tb/fifo_tests.sv"

# attack folder -> reasons (substrings) the screening must give
ATTACKS: dict[str, list[str]] = {
    "01_line_bind": [
        "tb/fifo_tests.sv:108: `line changes the file and line",
        "tb/fifo_tests.sv:109: declaration of module fifo_cov_spy is not declared by the reference",
        "tb/fifo_tests.sv:118: bind attaches code to the design",
    ],
    "01b_bind_interface": [
        "declaration of interface fifo_probe_if is not declared by the reference",
        "tb/fifo_tests.sv:117: bind attaches code to the design",
    ],
    "02_dollar_c": ["tb/fifo_tests.sv:94: $c runs C++ inside the simulator"],
    "02b_dollar_c_in_macro_arg": ["tb/fifo_tests.sv:94: $c32 runs C++ inside the simulator"],
    "03_system": ["tb/fifo_tests.sv:94: $system runs a shell command"],
    "03b_file_io": ["$fopen does file I/O", "$fwrite does file I/O", "$fclose does file I/O"],
    "04_report_handler": [
        "tb/fifo_tests.sv:94: get_report_handler changes UVM report handling",
        "tb/fifo_tests.sv:95: set_severity_action changes UVM report handling",
    ],
    "04b_report_server_count": [
        "uvm_report_server changes UVM report handling",
        "tb/fifo_tests.sv:95: set_severity_count changes UVM error counts",
    ],
    "05_token_paste": ["tb/fifo_tests.sv:95: set_report_severity_action_hier changes UVM report handling"],
    "05b_token_paste_system": ["tb/fifo_tests.sv:93: $finish ends the simulation outside UVM"],
    "06_sequence_not_written": ["class overflow_seq (removed from the gym) is not declared by the solution"],
    "06b_sequence_not_registered": ["class overflow_seq is not registered with the UVM factory"],
    "08_spoofed_summary_finish": [
        "tb/fifo_tests.sv:101: `line changes the file and line",
        "tb/fifo_tests.sv:102: $finish ends the simulation outside UVM",
    ],
    "08b_spoofed_summary_jump": ["tb/fifo_tests.sv:101: jump jumps over UVM phases"],
}


@pytest.fixture(scope="module")
def uvm() -> Path:
    home = _find_uvm_home()
    if home is None:
        pytest.skip("UVM library not provisioned (run ./scripts/test.sh, or set UVM_HOME)")
    return home


@pytest.fixture(scope="module")
def gyms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Every fixture built with --sim none (offline metadata), once for the module."""
    root = tmp_path_factory.mktemp("allowlist")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DVSMITH_HOME", str(root / "home"))
        out: dict[str, Path] = {}
        for name in NAMES:
            repo = root / "repos" / name
            shutil.copytree(FIXTURES / name, repo)
            ingest(repo, name=name)
            opts = BuildOptions(name=name, out=root / "out" / name, sim="none", provider="offline")
            asyncio.run(run_build(opts))
            out[name] = root / "out" / name
        yield out


def _screen(out: Path, task: Task, files: list[Path], uvm: Path) -> list[str]:
    """The eval's screening of one solution: the reasons it is refused without compiling (empty: it may
    be compiled)."""
    ev = _Evaluator(out, load_build(out), get_adapter("verilator"), seed=1, seeds=1, uvm_home=uvm)
    manifest = orjson.loads((out / MANIFEST).read_bytes())
    result = ev.screen(task, map_solution(files, task.files_to_write, manifest))
    return [] if result is None else result.reasons


def _check(out: Path, task: Task, files: dict[str, Path], uvm: Path) -> list[str]:
    unit = next(u for u in load_build(out).compile_units if u.name == task.compile_unit)
    reference = {r: out / "oracle" / task.id / r for r in task.oracle_files}
    return check_solution(out / "gym", gym_unit(unit, out / "gym"), task, files, reference, uvm_sources(uvm)).reasons


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_redteam_attack_is_refused_before_compiling(attack: str, gyms: dict[str, Path], uvm: Path) -> None:
    out = gyms["b_single_file"]
    task = load_task(out, "overflow_test")
    reasons = _screen(out, task, [REDTEAM / attack], uvm)  # a folder laid out like gym/, as the README says
    assert reasons, f"{attack} was let through to the compiler"
    for want in ATTACKS[attack]:
        assert any(want in r for r in reasons), f"{attack}: no reason {want!r} in {reasons}"


def test_every_redteam_folder_is_listed() -> None:
    folders = sorted(p.name for p in REDTEAM.iterdir() if p.is_dir())
    assert folders == sorted(ATTACKS)
    readme = (REDTEAM / "README.md").read_text()
    assert all(f"`{a}`" in readme for a in ATTACKS)


@pytest.mark.parametrize("name", NAMES)
def test_every_oracle_passes_the_screening(name: str, gyms: dict[str, Path], uvm: Path) -> None:
    out = gyms[name]
    tasks = all_tasks(out)
    assert tasks
    for task in tasks:
        files = [out / "oracle" / task.id / rel for rel in task.oracle_files]
        assert _screen(out, task, files, uvm) == [], task.id


@pytest.mark.parametrize("name", NAMES)
def test_the_gym_as_it_is_misses_every_removed_class(name: str, gyms: dict[str, Path], uvm: Path) -> None:
    """Item 5, static half: the gym's own version of the files (the nop) declares none of the removed
    classes, and each is named."""
    out = gyms[name]
    for task in all_tasks(out):
        files = {rel: out / "gym" / rel for rel in task.files_to_write if (out / "gym" / rel).is_file()}
        reasons = _check(out, task, files, uvm)
        for cls in task.removed_classes:
            assert f"class {cls} (removed from the gym) is not declared by the solution" in reasons, (task.id, cls)


def _oracle_text(out: Path) -> str:
    return (out / "oracle" / "overflow_test" / SOLUTION).read_text()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sol" / "fifo_tests.sv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


HELPER = """    // helpers of my own; $system and set_report_id_action in a comment do not count
    task automatic push_n(int n);
      for (int i = 0; i < n; i++) begin
        string s = $sformatf("push %0d", i);
        `uvm_info("OVF", s, UVM_HIGH)
      end
    endtask
    extern function void report_phase(uvm_phase phase);

"""


def test_an_honest_solution_with_its_own_helpers_passes(gyms: dict[str, Path], uvm: Path, tmp_path: Path) -> None:
    out = gyms["b_single_file"]
    text = _oracle_text(out)
    text = text.replace("    task run_phase(uvm_phase phase);", HELPER + "    task run_phase(uvm_phase phase);", 1)
    text = text.replace(
        "endpackage",
        "  function void overflow_test::report_phase(uvm_phase phase);\n"
        '    `uvm_info("OVF", "done", UVM_LOW) // verilator lint_off UNUSED\n'
        "  endfunction\nendpackage",
        1,
    )
    assert _screen(out, load_task(out, "overflow_test"), [_write(tmp_path, text)], uvm) == []


def test_a_construct_the_reference_uses_is_allowed(gyms: dict[str, Path], uvm: Path, tmp_path: Path) -> None:
    src = gyms["b_single_file"]
    out = tmp_path / "gym_copy"
    shutil.copytree(src, out)
    attack = REDTEAM / "05b_token_paste_system" / SOLUTION
    task = load_task(out, "overflow_test")
    assert _screen(out, task, [attack], uvm)
    oracle = out / "oracle" / "overflow_test" / SOLUTION
    oracle.write_text(oracle.read_text().replace("endpackage", "  task bye(); $finish; endtask\nendpackage", 1))
    assert _screen(out, task, [attack], uvm) == []  # the reference ends the run with $finish too


@pytest.mark.parametrize(
    ("edit", "want"),
    [
        ('`include "{evil}"\n', "reads a file outside the gym and the UVM library"),
        ("/*verilator public_flat_rw*/\n", "/*verilator public_flat_rw*/ is a Verilator metacomment"),
        ("`undef uvm_info\n`define uvm_info(a,b,c)\n", "`undef uvm_info redefines a UVM macro"),
        ('import "DPI-C" function int getpid();\n', "DPI import calls C code outside the simulator"),
        ("`systemc_header\n#include <cstdlib>\n`systemc_header_end\n", "`systemc_header inserts C++ into the model"),
        ("typedef int my_own_t;\n", "declaration of typedef my_own_t is not declared by the reference"),
        ("class fake_scoreboard extends uvm_scoreboard; endclass\n", "declaration of class fake_scoreboard"),
        (
            "`ifdef SOME_TOOL_ONLY\nendpackage\nmodule spy; endmodule\npackage p2;\n`endif\n",
            "module declares a design module",
        ),
        ("function void poke(); $root.tb_top.dut.count = 0; endfunction\n", "$root reaches into the design"),
        ("function void broken(; endfunction\n", "syntax error (ExpectedToken) cannot be read by the checker"),
    ],
)
def test_more_constructs_are_refused(edit: str, want: str, gyms: dict[str, Path], uvm: Path, tmp_path: Path) -> None:
    out = gyms["b_single_file"]
    evil = tmp_path / "evil.svh"
    evil.write_text('function automatic int sneak(); return $system("true"); endfunction\n')
    anchor = "  import fifo_env_pkg::*;\n"
    text = _oracle_text(out).replace(anchor, anchor + edit.format(evil=evil))
    reasons = _screen(out, load_task(out, "overflow_test"), [_write(tmp_path, text)], uvm)
    assert any(want in r for r in reasons), reasons
