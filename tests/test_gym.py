"""Planning, cleaning, restoring and static checks on small repos built in tmp_path.

Profiles are built by hand here (the way the analyzer fills them: spans of class declarations as byte
offsets), so these tests do not depend on the analyzer.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from dvsmith.analysis.profile import (
    ClassDecl,
    CompileUnit,
    FileRecord,
    PackageInfo,
    Profile,
    SequenceInfo,
    Span,
)
from dvsmith.analysis.profile import TestInfo as TInfo
from dvsmith.errors import UserInputError
from dvsmith.gym.clean import clean_repo
from dvsmith.gym.clean_models import CleanResult
from dvsmith.gym.plan import TaskPlan, find_class_span, plan_tasks, slug
from dvsmith.gym.restore import restore_for_eval
from dvsmith.gym.static_check import static_check
from dvsmith.gym.svtext import in_ranges, lex, merge_ranges

# ------------------------------------------------------------------------------------------ helpers


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def tree(root: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            p = Path(dirpath) / n
            if p.is_symlink():
                out[p.relative_to(root).as_posix()] = b"->" + os.readlink(p).encode()
            else:
                out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


def spans(root: Path, rel: str, name: str) -> tuple[Span, list[Span]]:
    found = find_class_span(lex((root / rel).read_bytes()), name)
    assert found is not None, f"{name} not found in {rel}"
    return found


def make_profile(
    root: Path,
    tests: list[tuple[str, str, dict]],
    sequences: list[tuple[str, str]],
    others: list[tuple[str, str]] = (),
    units: list[CompileUnit] | None = None,
    packages: list[PackageInfo] = (),
    filelists: list[str] = (),
) -> Profile:
    """tests: (name, file, extra TestInfo fields); sequences/others: (name, file)."""
    classes: list[ClassDecl] = []
    tinfos: list[TInfo] = []
    for name, rel, extra in tests:
        sp, ext = spans(root, rel, name)
        tinfos.append(TInfo(name=name, file=rel, line=sp.line, span=sp, extern_spans=ext, **extra))
        classes.append(ClassDecl(name=name, file=rel, line=sp.line, kind="test", span=sp, extern_spans=ext))
    sinfos: list[SequenceInfo] = []
    for name, rel in sequences:
        sp, ext = spans(root, rel, name)
        sinfos.append(SequenceInfo(name=name, file=rel, line=sp.line, span=sp, extern_spans=ext))
        classes.append(ClassDecl(name=name, file=rel, line=sp.line, kind="sequence", span=sp, extern_spans=ext))
    for name, rel in others:
        sp, ext = spans(root, rel, name)
        classes.append(ClassDecl(name=name, file=rel, line=sp.line, kind="other", span=sp, extern_spans=ext))
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)
    records = [FileRecord(path=f, size=0, mtime_ns=0, sha256="") for f in files]
    prof = Profile(
        name=root.name,
        repo_root=str(root),
        created_at="2024-01-01T00:00:00Z",
        fingerprint="x",
        tests=tinfos,
        sequences=sinfos,
        classes=classes,
        compile_units=units or [],
        packages=list(packages),
        files=records,
    )
    prof.build.filelists = list(filelists)
    return prof


def digest(root: Path) -> str:
    h = hashlib.sha256()
    for rel, data in sorted(tree(root).items()):
        h.update(rel.encode() + b"\0" + data + b"\0")
    return h.hexdigest()


def run_clean(repo: Path, prof: Profile, plans: list[TaskPlan], out: Path) -> CleanResult:
    gym, oracle = out / "gym", out / "oracle"
    gym.mkdir(parents=True)
    oracle.mkdir(parents=True)
    return clean_repo(repo, prof, plans, gym, oracle)


# ---------------------------------------------------------------------------- repo 1: class per file

SMOKE_TEST = """\
`ifndef SMOKE_TEST_SV
`define SMOKE_TEST_SV
// Smoke test: a short burst of writes followed by reads of every register.
class smoke_test extends base_test;
  `uvm_component_utils(smoke_test)

  function new(string name = "smoke_test", uvm_component parent = null);
    super.new(name, parent);
  endfunction

  task run_phase(uvm_phase phase);
    smoke_seq seq = smoke_seq::type_id::create("seq");
    shared_seq sh = shared_seq::type_id::create("sh");
    phase.raise_objection(this);
    seq.num_writes = 17;
    seq.start(env.agent.sqr);
    sh.start(env.agent.sqr);
    phase.drop_objection(this);
  endtask
endclass : smoke_test
`endif
"""

RAND_TEST = """\
// Random traffic with the shared sequence, then a register check written out of class.
class rand_test extends base_test;
  `uvm_component_utils(rand_test)
  function new(string name = "rand_test", uvm_component parent = null);
    super.new(name, parent);
  endfunction
  extern task run_phase(uvm_phase phase);
  extern function void check_phase(uvm_phase phase);
endclass

task rand_test::run_phase(uvm_phase phase);
  shared_seq sh = shared_seq::type_id::create("sh");
  phase.raise_objection(this);
  repeat (23) sh.start(env.agent.sqr);
  phase.drop_objection(this);
endtask

function void rand_test::check_phase(uvm_phase phase);
  if (env.sb.mismatches != 0) `uvm_error("RAND", "scoreboard mismatches seen")
endfunction
"""

REPO1 = {
    "tb/test_pkg.sv": """\
// Test package: base test, sequences, tests.
package test_pkg;
  import uvm_pkg::*;
  `include "uvm_macros.svh"
  import env_pkg::*;
  `include "base_test.sv"
  `include "seqs/shared_seq.sv"
  `include "seqs/smoke_sub_seq.sv"
  `include "seqs/smoke_seq.sv"
  `include "smoke_test.sv"
  `include "rand_test.sv" // randomized traffic
endpackage
""",
    "tb/base_test.sv": """\
virtual class base_test extends uvm_test;
  env e;
  function new(string name, uvm_component parent);
    super.new(name, parent);
  endfunction
endclass
""",
    "tb/seqs/shared_seq.sv": """\
class shared_seq extends uvm_sequence #(item);
  `uvm_object_utils(shared_seq)
  function new(string name = "shared_seq");
    super.new(name);
  endfunction
  task body();
    `uvm_do(req)
  endtask
endclass
""",
    "tb/seqs/smoke_sub_seq.sv": """\
class smoke_sub_seq extends uvm_sequence #(item);
  `uvm_object_utils(smoke_sub_seq)
  function new(string name = "smoke_sub_seq");
    super.new(name);
  endfunction
  task body();
    repeat (5) `uvm_do_with(req, { addr inside {[4:11]}; })
  endtask
endclass
""",
    "tb/seqs/smoke_seq.sv": """\
// Writes num_writes random values, then runs the sub sequence.
class smoke_seq extends uvm_sequence #(item);
  `uvm_object_utils(smoke_seq)
  int num_writes = 3;
  function new(string name = "smoke_seq");
    super.new(name);
  endfunction
  task body();
    smoke_sub_seq sub = smoke_sub_seq::type_id::create("sub");
    repeat (num_writes) `uvm_do_with(req, { kind == WRITE; })
    sub.start(m_sequencer, this);
  endtask
endclass
""",
    "tb/smoke_test.sv": SMOKE_TEST,
    "tb/rand_test.sv": RAND_TEST,
    "tb/env.sv": """\
// The env: agent and scoreboard (see smoke_seq for a typical stimulus).
class env extends uvm_env;
  /* Tests using this env:
     smoke_test and rand_test
     (both extend base_test) */
  function new(string name, uvm_component parent);
    super.new(name, parent);
  endfunction
endclass
""",
    "tb/top.sv": """\
module top;
  import uvm_pkg::*;
  import test_pkg::*;
  initial run_test("smoke_test");
endmodule
""",
    "tb.f": "+incdir+tb\ntb/env.sv\ntb/test_pkg.sv\ntb/top.sv\n",
    "Makefile": "TESTS = smoke_test rand_test\nTEST ?= smoke_test\n\nrun:\n\t./sim +UVM_TESTNAME=$(TEST)\n",
    "regress.list": "smoke_test\nrand_test\n",
    "docs/tests.md": "# Tests\n\nThe smoke_test writes then reads.\nThe rand_test is random.\n",
    "scripts/run_all.sh": "#!/bin/sh\nfor t in smoke_test rand_test; do make TEST=$t; done\n",
}


def repo1(tmp_path: Path) -> tuple[Path, Profile]:
    root = tmp_path / "repo1"
    write_tree(root, REPO1)
    (root / "scripts/run_all.sh").chmod(0o755)
    unit = CompileUnit(
        name="tb",
        filelist="tb.f",
        sources=["tb/env.sv", "tb/test_pkg.sv", "tb/top.sv"],
        incdirs=["tb"],
        files=sorted(p for p in REPO1 if p.startswith("tb/")),
    )
    prof = make_profile(
        root,
        tests=[
            ("base_test", "tb/base_test.sv", {"is_base": True, "is_virtual": True}),
            (
                "smoke_test",
                "tb/smoke_test.sv",
                {"sequences": ["smoke_seq", "shared_seq"], "base_class": "base_test"},
            ),
            ("rand_test", "tb/rand_test.sv", {"sequences": ["shared_seq"], "base_class": "base_test"}),
        ],
        sequences=[
            ("shared_seq", "tb/seqs/shared_seq.sv"),
            ("smoke_seq", "tb/seqs/smoke_seq.sv"),
            ("smoke_sub_seq", "tb/seqs/smoke_sub_seq.sv"),
        ],
        others=[("env", "tb/env.sv")],
        units=[unit],
        packages=[PackageInfo(name="test_pkg", file="tb/test_pkg.sv")],
        filelists=["tb.f"],
    )
    return root, prof


# ------------------------------------------------------------------------------------------- plan


def test_plan_one_task_per_concrete_test_with_exclusive_sequences(tmp_path: Path) -> None:
    _root, prof = repo1(tmp_path)
    plans = plan_tasks(prof)
    assert [p.id for p in plans] == ["rand_test", "smoke_test"]
    by_id = {p.id: p for p in plans}
    assert [c.name for c in by_id["smoke_test"].removed_classes] == [
        "smoke_test",
        "smoke_seq",
        "smoke_sub_seq",
    ]
    # shared_seq is started by both tests: it stays
    assert [c.name for c in by_id["rand_test"].removed_classes] == ["rand_test"]
    assert by_id["rand_test"].test.extern_spans and by_id["smoke_test"].requires == []


def test_plan_sequence_used_by_kept_code_stays(tmp_path: Path) -> None:
    root, prof = repo1(tmp_path)
    # the base test now also declares a smoke_sub_seq handle: the sub sequence becomes shared
    text = (root / "tb/base_test.sv").read_text().replace("  env e;\n", "  env e;\n  smoke_sub_seq warm;\n")
    (root / "tb/base_test.sv").write_text(text)
    prof = make_profile(
        root,
        tests=[
            ("base_test", "tb/base_test.sv", {"is_base": True}),
            ("smoke_test", "tb/smoke_test.sv", {"sequences": ["smoke_seq"]}),
            ("rand_test", "tb/rand_test.sv", {}),
        ],
        sequences=[
            ("shared_seq", "tb/seqs/shared_seq.sv"),
            ("smoke_seq", "tb/seqs/smoke_seq.sv"),
            ("smoke_sub_seq", "tb/seqs/smoke_sub_seq.sv"),
        ],
    )
    smoke = next(p for p in plan_tasks(prof) if p.id == "smoke_test")
    assert [c.name for c in smoke.removed_classes] == ["smoke_test", "smoke_seq"]


def test_plan_ids_unique_across_benches(tmp_path: Path) -> None:
    root = tmp_path / "two"
    body = "class smoke_test extends uvm_test;\n  `uvm_component_utils(smoke_test)\nendclass\n"
    write_tree(
        root,
        {
            "bench1/tests/t.sv": body,
            "bench2/tests/t.sv": body,
            "bench2/tests/My Test.sv": "class My_Test extends uvm_test;\nendclass\n",
        },
    )
    prof = make_profile(
        root,
        tests=[
            ("smoke_test", "bench1/tests/t.sv", {}),
            ("smoke_test", "bench2/tests/t.sv", {}),
            ("My_Test", "bench2/tests/My Test.sv", {}),
        ],
        sequences=[],
    )
    plans = plan_tasks(prof)
    assert [p.id for p in plans] == ["bench1-smoke_test", "bench2-smoke_test", "my_test"]
    assert [p.test.file for p in plans][:2] == ["bench1/tests/t.sv", "bench2/tests/t.sv"]
    assert slug("Foo Bar::x") == "foo-bar-x"


def test_find_class_span_with_label_and_externs() -> None:
    data = RAND_TEST.encode()
    span, externs = find_class_span(lex(data), "rand_test")
    assert data[span.start : span.end].startswith(b"class rand_test")
    assert data[span.start : span.end].endswith(b"endclass")
    assert [data[s.start : s.end].split(b"(")[0] for s in externs] == [
        b"task rand_test::run_phase",
        b"function void rand_test::check_phase",
    ]
    data = SMOKE_TEST.encode()
    span, externs = find_class_span(lex(data), "smoke_test")
    assert data[span.start : span.end].endswith(b"endclass : smoke_test") and externs == []


def test_in_ranges_half_open_and_between() -> None:
    ranges = merge_ranges([(10, 20), (15, 25), (40, 50), (60, 60)])  # overlaps merged, the empty one dropped
    starts = [r[0] for r in ranges]
    assert ranges == [(10, 25), (40, 50)]
    inside = [off for off in (0, 9, 10, 24, 25, 39, 40, 49, 50, 60, 99) if in_ranges(starts, ranges, off)]
    assert inside == [10, 24, 40, 49]
    assert not in_ranges([], [], 0)


# ------------------------------------------------------------------------------------------ clean


def test_clean_class_per_file(tmp_path: Path) -> None:
    root, prof = repo1(tmp_path)
    before = digest(root)
    plans = plan_tasks(prof)
    res = run_clean(root, prof, plans, tmp_path / "out")
    gym, oracle = tmp_path / "out/gym", tmp_path / "out/oracle"
    assert digest(root) == before  # the source repo is never modified

    by_id = {t.task_id: t for t in res.tasks}
    smoke, rand = by_id["smoke_test"], by_id["rand_test"]
    assert smoke.removed_files == ["tb/seqs/smoke_seq.sv", "tb/seqs/smoke_sub_seq.sv", "tb/smoke_test.sv"]
    assert rand.removed_files == ["tb/rand_test.sv"]
    for t in (smoke, rand):
        assert t.files_to_write == t.oracle_files == t.removed_files
        for f in t.oracle_files:
            assert (oracle / t.task_id / f).read_bytes() == (root / f).read_bytes()
            assert not (gym / f).exists()

    pkg = (gym / "tb/test_pkg.sv").read_text()
    assert '`include "base_test.sv"' in pkg and '`include "seqs/shared_seq.sv"' in pkg
    assert "smoke" not in pkg and "rand_test" not in pkg
    assert (gym / "Makefile").read_text().startswith("TESTS = \nTEST ?=\n")
    assert (gym / "regress.list").read_text() == ""
    assert (gym / "docs/tests.md").read_text() == "# Tests\n\n"
    assert (gym / "tb/top.sv").read_text().count('run_test("")') == 1
    env = (gym / "tb/env.sv").read_text()
    assert "smoke" not in env and "rand_test" not in env and "class env extends uvm_env;" in env
    assert (gym / "tb.f").read_text() == (root / "tb.f").read_text()
    assert os.access(gym / "scripts/run_all.sh", os.X_OK)
    assert "smoke_test" not in (gym / "scripts/run_all.sh").read_text()

    kinds = {r.kind for r in smoke.removed_references}
    assert {"include", "test_list", "comment", "text", "string"} <= {k for ks in kinds for k in ks.split("+")}
    include_refs = [r for r in smoke.removed_references if r.file == "tb/test_pkg.sv"]
    # one hunk per inserted line, in the original's order
    assert [r.text for r in sorted(include_refs, key=lambda r: r.origin)] == [
        '  `include "seqs/smoke_sub_seq.sv"\n', '  `include "seqs/smoke_seq.sv"\n', '  `include "smoke_test.sv"\n'
    ]

    report = static_check(gym, prof, plans, res)
    assert report.ok, (report.problems, [t.problems for t in report.tasks])
    assert report.sv_files_parsed == 5


def test_clean_skips_vcs_build_outputs_and_outside_symlinks(tmp_path: Path) -> None:
    root, prof = repo1(tmp_path)
    write_tree(
        root,
        {
            ".git/HEAD": "ref: smoke_test\n",
            "obj_dir/Vtop.mk": "x",
            "sim.log": "smoke_test\n",
            "work/_info": "lib",
            "cov/coverage.dat": "C",
            "waves.vcd": "$var",
            ".hidden/notes": "ok\n",
        },
    )
    outside = tmp_path / "outside.sv"
    outside.write_text("class smoke_test; endclass\n")
    (root / "tb/ext.sv").symlink_to(outside)
    (root / "tb/env_link.sv").symlink_to("env.sv")
    (root / "tb/smoke_link.sv").symlink_to("smoke_test.sv")
    res = run_clean(root, prof, plan_tasks(prof), tmp_path / "out")
    files = set(tree(tmp_path / "out/gym"))
    assert not {f for f in files if f.startswith((".git/", "obj_dir/", "work/")) or f.endswith((".log", ".vcd"))}
    assert "cov/coverage.dat" not in files and ".hidden/notes" in files
    assert "tb/ext.sv" not in files and "tb/smoke_link.sv" not in files
    assert os.readlink(tmp_path / "out/gym/tb/env_link.sv") == "env.sv"
    assert any("outside the repository" in s for s in res.skipped)
    assert any("points at removed code" in s for s in res.skipped)


def test_clean_is_deterministic(tmp_path: Path) -> None:
    root, prof = repo1(tmp_path)
    plans = plan_tasks(prof)
    a = run_clean(root, prof, plans, tmp_path / "a")
    b = run_clean(root, prof, plan_tasks(prof), tmp_path / "b")
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    da, db = a.model_dump(), b.model_dump()
    for d in (da, db):
        d.pop("gym_dir"), d.pop("oracle_dir")
    assert da == db


# --------------------------------------------------------------------------- repo 2: tests in one file

ALL_TESTS = """\
package tests_pkg;
  import uvm_pkg::*;

class base_test extends uvm_test;
  function new(string name, uvm_component parent);
    super.new(name, parent);
  endfunction
endclass

// First test: directed writes to every address.
class t_write extends base_test;
  function new(string name, uvm_component parent);
    super.new(name, parent);
  endfunction
  task run_phase(uvm_phase phase);
    write_seq s = write_seq::type_id::create("s");
    s.start(null);
  endtask
endclass : t_write

class t_read extends base_test;
  function new(string name, uvm_component parent);
    super.new(name, parent);
  endfunction
  extern task run_phase(uvm_phase phase);
endclass

class write_seq extends uvm_sequence;
  task body();
    $display("write_seq body for t_write with 31 beats");
  endtask
endclass

task t_read::run_phase(uvm_phase phase);
  $display("reading back all the registers at address 9");
  $display("that is what t_read does");
endtask

endpackage
"""


def repo2(tmp_path: Path) -> tuple[Path, Profile]:
    root = tmp_path / "repo2"
    write_tree(
        root,
        {
            "tests/all_tests.sv": ALL_TESTS,
            "top.sv": "module top; endmodule\n",
            "files.f": "tests/all_tests.sv\ntop.sv\n",
        },
    )
    prof = make_profile(
        root,
        tests=[
            ("base_test", "tests/all_tests.sv", {"is_base": True}),
            ("t_write", "tests/all_tests.sv", {"sequences": ["write_seq"]}),
            ("t_read", "tests/all_tests.sv", {}),
        ],
        sequences=[("write_seq", "tests/all_tests.sv")],
        filelists=["files.f"],
    )
    return root, prof


def test_range_removal_oracle_is_cleaned_file_plus_own_range(tmp_path: Path) -> None:
    root, prof = repo2(tmp_path)
    plans = plan_tasks(prof)
    res = run_clean(root, prof, plans, tmp_path / "out")
    gym = (tmp_path / "out/gym/tests/all_tests.sv").read_text()
    assert "class base_test" in gym and "endpackage" in gym
    for word in ("t_write", "t_read", "write_seq", "registers", "First test"):
        assert word not in gym
    by_id = {t.task_id: t for t in res.tasks}
    assert by_id["t_write"].files_to_write == ["tests/all_tests.sv"] and by_id["t_write"].removed_files == []
    o_write = (tmp_path / "out/oracle/t_write/tests/all_tests.sv").read_text()
    o_read = (tmp_path / "out/oracle/t_read/tests/all_tests.sv").read_text()
    assert "class t_write" in o_write and "class write_seq" in o_write and "t_read" not in o_write
    assert "class t_read" in o_read and "t_read::run_phase" in o_read and "t_write" not in o_read
    assert "write_seq" not in o_read
    # oracle = cleaned file + this task's ranges: both oracles together make the original
    assert len(o_write) + len(o_read) - len(gym) == len(ALL_TESTS)
    assert {r.name for r in by_id["t_read"].removed_ranges} == {"t_read"}
    assert len(by_id["t_read"].removed_ranges) == 2  # the class and its extern task
    report = static_check(tmp_path / "out/gym", prof, plans, res)
    assert report.ok, (report.problems, [t.problems for t in report.tasks])


# --------------------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("which", ["repo1", "repo2"])
def test_restore_round_trip(tmp_path: Path, which: str) -> None:
    root, prof = (repo1 if which == "repo1" else repo2)(tmp_path)
    plans = plan_tasks(prof)
    res = run_clean(root, prof, plans, tmp_path / "full")
    checked = 0
    for tc in res.tasks:
        # expected: the repo cleaned of every OTHER task only
        others = [p for p in plans if p.id != tc.task_id and p.id not in tc.requires]
        run_clean(root, prof, others, tmp_path / f"expect-{tc.task_id}")
        work = tmp_path / f"work-{tc.task_id}"
        shutil.copytree(tmp_path / "full/gym", work, symlinks=True)
        solution = {f: tmp_path / "full/oracle" / tc.task_id / f for f in tc.files_to_write}
        restore_for_eval(work, tc.model_dump(), solution)
        assert tree(work) == tree(tmp_path / f"expect-{tc.task_id}/gym")
        checked += 1
    assert checked == len(plans) == 2


def test_restore_single_task_gives_back_the_original(tmp_path: Path) -> None:
    root, prof = repo1(tmp_path)
    plans = [p for p in plan_tasks(prof) if p.id == "smoke_test"]
    res = run_clean(root, prof, plans, tmp_path / "out")
    work = tmp_path / "work"
    shutil.copytree(tmp_path / "out/gym", work)
    tc = res.tasks[0]
    restore_for_eval(work, tc, {f: tmp_path / "out/oracle/smoke_test" / f for f in tc.files_to_write})
    assert tree(work) == tree(root)


def test_restore_refuses_files_outside_the_task(tmp_path: Path) -> None:
    root, prof = repo1(tmp_path)
    res = run_clean(root, prof, plan_tasks(prof), tmp_path / "out")
    tc = next(t for t in res.tasks if t.task_id == "rand_test")
    evil = tmp_path / "evil.sv"
    evil.write_text("module x; endmodule\n")
    with pytest.raises(UserInputError, match="not one of the task's files"):
        restore_for_eval(tmp_path / "out/gym", tc, {"tb/env.sv": evil})
    tampered = tc.model_copy(update={"files_to_write": ["../escape.sv"]})
    with pytest.raises(ValueError, match="escapes"):
        restore_for_eval(tmp_path / "out/gym", tampered, {"../escape.sv": evil})
    # a reference whose context changed is refused, not applied at a wrong place
    (tmp_path / "out/gym/Makefile").write_text("something else\n")
    with pytest.raises(UserInputError, match="changed"):
        restore_for_eval(tmp_path / "out/gym", tc, {})


# ------------------------------------------------------------------------------------- static check


def _clean1(tmp_path: Path) -> tuple[Path, Profile, list[TaskPlan], CleanResult]:
    root, prof = repo1(tmp_path)
    plans = plan_tasks(prof)
    res = run_clean(root, prof, plans, tmp_path / "out")
    return tmp_path / "out/gym", prof, plans, res


def test_static_check_catches_planted_oracle_text(tmp_path: Path) -> None:
    gym, prof, plans, res = _clean1(tmp_path)
    assert static_check(gym, prof, plans, res).ok
    # put the removed test's body back under another name: no class name, but its code
    body = SMOKE_TEST.replace("smoke_test", "renamed_one").replace("smoke_seq", "sq")
    (gym / "tb/backup_copy.txt").write_text(body)
    report = static_check(gym, prof, plans, res)
    smoke = next(t for t in report.tasks if t.task_id == "smoke_test")
    assert not report.ok and not smoke.ok
    assert any("holds removed code" in p for p in smoke.problems)
    assert next(t for t in report.tasks if t.task_id == "rand_test").ok


def test_static_check_catches_names_references_and_parse_errors(tmp_path: Path) -> None:
    gym, prof, plans, res = _clean1(tmp_path)
    (gym / ".notes").write_bytes(b"\x00\x01 rand_test \x02")  # hidden, binary-ish
    env = (gym / "tb/env.sv").read_text()
    (gym / "tb/env.sv").write_text(env.replace("endclass", "  smoke_seq leftover;\nendclass\nclass broken; int = ;"))
    (gym / "tb/base_test.sv").unlink()
    report = static_check(gym, prof, plans, res)
    by_id = {t.task_id: t for t in report.tasks}
    assert any(".notes" in p and "rand_test" in p for p in by_id["rand_test"].problems)
    assert any("reference to removed class smoke_seq" in p for p in by_id["smoke_test"].problems)
    assert any("parse error" in p for p in by_id["smoke_test"].problems)  # env.sv was edited for smoke_test
    assert any('`include "base_test.sv"' in p for p in report.problems)


def test_static_check_catches_missing_oracle_and_dangling_filelist(tmp_path: Path) -> None:
    gym, prof, plans, res = _clean1(tmp_path)
    (Path(res.oracle_dir) / "rand_test/tb/rand_test.sv").write_bytes(b"")
    (gym / "tb/env.sv").unlink()
    (gym / ".git").mkdir()
    (gym / "tb/out.sv").symlink_to(tmp_path / "repo1/tb/smoke_test.sv")
    report = static_check(gym, prof, plans, res)
    assert "version-control data in the gym: .git" in report.problems
    assert "symlink tb/out.sv leads outside the gym" in report.problems
    assert any("oracle file empty" in p for p in next(t for t in report.tasks if t.task_id == "rand_test").problems)
    assert any("tb.f:2" in p and "missing file" in p for p in report.problems)


# ------------------------------------------------- repo 3: filelist entries, CRLF, latin-1, derived tests


def repo3(tmp_path: Path) -> tuple[Path, Profile]:
    root = tmp_path / "repo3"
    root.mkdir()
    files = {
        "tests/up_test.sv": "class up_test extends uvm_test;\n  up_seq s;\n  int beats = 12;\nendclass\n",
        "tests/long_test.sv": "// Long run \xe9t\xe9 (latin-1 comment)\nclass long_test extends up_test;\n"
        "  function new(string name, uvm_component parent);\n    super.new(name, parent);\n"
        "    beats = 1000;\n  endfunction\nendclass\n",
        "seqs/up_seq.sv": "class up_seq extends uvm_sequence;\n  task body(); endtask\nendclass\n",
        "env/fwd.sv": "typedef class up_test;\ntypedef class env_cfg;\nclass env_cfg; endclass\n",
        "sim.f": "env/fwd.sv\r\nseqs/up_seq.sv\r\ntests/up_test.sv\r\ntests/long_test.sv\r\ntop.sv\r\n",
        "top.sv": "module top; endmodule\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(text.encode("latin-1"))
    prof = make_profile(
        root,
        tests=[("up_test", "tests/up_test.sv", {"sequences": ["up_seq"]}), ("long_test", "tests/long_test.sv", {})],
        sequences=[("up_seq", "seqs/up_seq.sv")],
        others=[("env_cfg", "env/fwd.sv")],
        filelists=["sim.f"],
    )
    return root, prof


def test_derived_test_requires_its_base_task(tmp_path: Path) -> None:
    root, prof = repo3(tmp_path)
    plans = plan_tasks(prof)
    by_id = {p.id: p for p in plans}
    assert by_id["long_test"].requires == ["up_test"] and by_id["up_test"].requires == []
    # long_test only extends up_test; the sequence goes with up_test alone
    assert [c.name for c in by_id["up_test"].removed_classes] == ["up_test", "up_seq"]
    res = run_clean(root, prof, plans, tmp_path / "out")
    tc = {t.task_id: t for t in res.tasks}
    assert tc["long_test"].files_to_write == ["seqs/up_seq.sv", "tests/long_test.sv", "tests/up_test.sv"]
    assert tc["long_test"].removed_files == ["tests/long_test.sv"]
    gym = tmp_path / "out/gym"
    assert (gym / "sim.f").read_bytes() == b"env/fwd.sv\r\ntop.sv\r\n"
    assert (gym / "env/fwd.sv").read_bytes() == b"typedef class env_cfg;\nclass env_cfg; endclass\n"
    kinds = {r.kind for r in tc["up_test"].removed_references}
    assert kinds == {"filelist", "typedef"}
    report = static_check(gym, prof, plans, res)
    assert report.ok, (report.problems, [t.problems for t in report.tasks])


def test_round_trip_keeps_crlf_and_latin1_bytes(tmp_path: Path) -> None:
    root, prof = repo3(tmp_path)
    plans = plan_tasks(prof)
    res = run_clean(root, prof, plans, tmp_path / "out")
    tc = next(t for t in res.tasks if t.task_id == "long_test")
    work = tmp_path / "work"
    shutil.copytree(tmp_path / "out/gym", work)
    # long_test puts back up_test (it requires it): with both, the original comes back byte for byte
    restore_for_eval(
        work, tc.model_dump(mode="json"), {f: tmp_path / "out/oracle/long_test" / f for f in tc.files_to_write}
    )
    assert tree(work) == tree(root)
    assert b"\xe9t\xe9" in (tmp_path / "out/oracle/long_test/tests/long_test.sv").read_bytes()


def test_kept_file_named_after_its_test_is_no_leak(tmp_path: Path) -> None:
    """A test file that also holds a helper the gym keeps (an env subclass) stays in the gym under the
    test's name, and so does its `include: the file name is no reference to the removed class."""
    from dvsmith.analysis.ingest import analyze_repo

    root = tmp_path / "repo"
    write_tree(root, {
        "files.f": "+incdir+tb\n+incdir+tb/tests\ntb/pkg.sv\ntb/top.sv\n",
        "tb/pkg.sv": (
            "package p;\n  import uvm_pkg::*;\n  `include \"uvm_macros.svh\"\n  `include \"base_test.svh\"\n"
            "  `include \"cfg_check_test.svh\"\n  `include \"plain_test.svh\"\nendpackage\n"
        ),
        "tb/base_test.svh": (
            "class my_env extends uvm_env;\n  `uvm_component_utils(my_env)\n"
            "  function new(string name, uvm_component parent); super.new(name, parent); endfunction\nendclass\n"
            "class base_test extends uvm_test;\n  `uvm_component_utils(base_test)\n"
            "  function new(string name, uvm_component parent); super.new(name, parent); endfunction\nendclass\n"
        ),
        "tb/tests/cfg_check_test.svh": (
            "class cfg_env extends my_env;\n  `uvm_component_utils(cfg_env)\n"
            "  function new(string name, uvm_component parent); super.new(name, parent); endfunction\nendclass\n"
            "class cfg_check_test extends base_test;\n  `uvm_component_utils(cfg_check_test)\n  cfg_env env;\n"
            "  function new(string name, uvm_component parent); super.new(name, parent); endfunction\n"
            "  function void build_phase(uvm_phase phase);\n    env = cfg_env::type_id::create(\"env\", this);\n"
            "  endfunction\nendclass\n"
        ),
        "tb/tests/plain_test.svh": (
            "class plain_test extends base_test;\n  `uvm_component_utils(plain_test)\n"
            "  function new(string name, uvm_component parent); super.new(name, parent); endfunction\nendclass\n"
        ),
        "tb/top.sv": "module top;\n  import uvm_pkg::*;\n  import p::*;\n  initial run_test();\nendmodule\n",
    })  # fmt: skip
    prof, _ = analyze_repo(root, use_cache=False, write_cache=False)
    plans = plan_tasks(prof)
    res = run_clean(root, prof, plans, tmp_path / "out")
    gym = tmp_path / "out" / "gym"
    cleaning = {t.task_id: t for t in res.tasks}["cfg_check_test"]
    if "tb/tests/cfg_check_test.svh" in cleaning.removed_files:
        pytest.skip("the cleaning removed the whole file: nothing of this case left to check")
    assert '`include "cfg_check_test.svh"' in (gym / "tb/pkg.sv").read_text()
    report = static_check(gym, prof, plans, res)
    problems = [p for t in report.tasks for p in t.problems]
    assert not any("left in the gym" in p for p in problems), problems


def test_editor_swap_and_backup_files_stay_out_of_the_gym(tmp_path: Path) -> None:
    """Practical-UVM carries a vim swap file (soc/tb/.list.swp) holding test names: copied into the gym it
    leaked them (the static check then failed three tasks)."""
    root, prof = repo2(tmp_path)
    junk = [".all_tests.sv.swp", ".all_tests.sv.swo", "all_tests.sv~", "#all_tests.sv#", ".#all_tests.sv"]
    for name in junk:
        (root / "tests" / name).write_text("class t_write extends base_test; endclass\n")
    (root / "tests" / ".keep").write_text("a hidden file that is no editor's stays\n")
    plans = plan_tasks(prof)
    res = run_clean(root, prof, plans, tmp_path / "out")
    gym = tmp_path / "out/gym/tests"
    assert not any((gym / name).exists() for name in junk) and (gym / ".keep").is_file()
    report = static_check(tmp_path / "out/gym", prof, plans, res)
    assert report.ok, (report.problems, [t.problems for t in report.tasks])
