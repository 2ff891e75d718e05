"""Solution mapping onto files_to_write and protected-file detection (the allowlist: test_gym_allowlist)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dvsmith.errors import UserInputError
from dvsmith.gym.solution import map_solution

FILES = ["tb/test/a_test.svh", "tb/seq/a_seq.svh"]


def _manifest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file()}  # fmt: skip


@pytest.fixture
def gym(tmp_path: Path) -> Path:
    g = tmp_path / "gym"
    (g / "tb" / "env").mkdir(parents=True)
    (g / "tb" / "env" / "scoreboard.svh").write_text("class sb; endclass\n")
    (g / "tb" / "test").mkdir(parents=True)
    (g / "tb" / "test" / "base_test.svh").write_text("class base_test; endclass\n")
    return g


def test_folder_laid_out_like_the_gym(gym: Path, tmp_path: Path) -> None:
    sol = tmp_path / "sol"
    (sol / "tb" / "test").mkdir(parents=True)
    (sol / "tb" / "test" / "a_test.svh").write_text("class a_test; endclass\n")
    (sol / "tb" / "env").mkdir(parents=True)
    (sol / "tb" / "env" / "scoreboard.svh").write_text("class sb; endclass\n")  # an unchanged copy: ignored
    m = map_solution([sol], FILES, _manifest(gym))
    assert m.files == {"tb/test/a_test.svh": sol / "tb" / "test" / "a_test.svh"}
    assert m.protected_edits == []


def test_folder_editing_the_scoreboard_is_a_protected_edit(gym: Path, tmp_path: Path) -> None:
    sol = tmp_path / "sol"
    (sol / "tb" / "env").mkdir(parents=True)
    (sol / "tb" / "env" / "scoreboard.svh").write_text("class sb; /* never fails */ endclass\n")
    (sol / "extra.sv").write_text("module m; endmodule\n")
    m = map_solution([sol], FILES, _manifest(gym))
    assert m.protected_edits == ["extra.sv", "tb/env/scoreboard.svh"]


def test_single_files_by_name(gym: Path, tmp_path: Path) -> None:
    a = tmp_path / "a_test.svh"
    a.write_text("class a_test; endclass\n")
    sb = tmp_path / "scoreboard.svh"
    sb.write_text("class sb; endclass // changed\n")
    m = map_solution([a, sb], FILES, _manifest(gym))
    assert m.files == {"tb/test/a_test.svh": a}
    assert m.protected_edits == ["tb/env/scoreboard.svh"]


def test_bad_inputs(gym: Path, tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="missing solution"):
        map_solution([], FILES, _manifest(gym))
    with pytest.raises(UserInputError, match="not found"):
        map_solution([tmp_path / "nope.svh"], FILES, _manifest(gym))
    stray = tmp_path / "unrelated.svh"
    stray.write_text("x\n")
    with pytest.raises(UserInputError, match="outside the task's files to write"):
        map_solution([stray], FILES, _manifest(gym))


def test_empty_folder_is_an_empty_solution(gym: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    m = map_solution([tmp_path / "empty"], FILES, _manifest(gym))
    assert m.empty and not m.files


def test_files_left_out_count_as_empty(tmp_path: Path) -> None:
    from dvsmith.gym.evaluate import _with_empty_files
    from dvsmith.gym.models import Task

    work = tmp_path / "work"
    (work / "gym" / "tb" / "seq").mkdir(parents=True)
    (work / "gym" / "tb" / "seq" / "kept.svh").write_text("// in the gym\n")
    task = Task(id="t", test_name="t", title="t", difficulty="easy", difficulty_reason="r", description="d",
                goal="g", hints=["a", "b", "c"], files_to_write=["tb/test/t.svh", "tb/seq/s.svh", "tb/seq/kept.svh"])
    mine = tmp_path / "t.svh"
    mine.write_text("class t; endclass\nclass s; endclass\n")
    out = _with_empty_files(task, {"tb/test/t.svh": mine}, work)
    assert out["tb/test/t.svh"] == mine
    assert out["tb/seq/s.svh"].read_bytes() == b""  # left out and not in the gym: empty
    assert "tb/seq/kept.svh" not in out  # the gym's own version stays


def test_eval_rewrites_the_candidates_files_only(tmp_path: Path) -> None:
    """`dvsmith eval` makes the build's Verilator rewrites on a candidate's files (UVM 1.2's starting_phase
    here) and writes nothing else, even a gym file the same rewrite would change."""
    from dvsmith.analysis.profile import CompileUnit
    from dvsmith.gym.models import RewriteSettings
    from dvsmith.gym.simprep import rewrite_solution

    gym = tmp_path / "gym"
    (gym / "tb").mkdir(parents=True)
    other = "class other_seq extends uvm_sequence; task body(); if (starting_phase == null) return; endtask endclass\n"
    mine = ("class my_test extends uvm_test; task run_phase(uvm_phase phase); my_seq seq = new;\n"
            "    seq.starting_phase = phase; endtask endclass\n")  # fmt: skip
    (gym / "tb" / "other_seq.sv").write_text(other)
    (gym / "tb" / "my_test.sv").write_text(mine)
    unit = CompileUnit(name="u", sources=["tb/other_seq.sv", "tb/my_test.sv"],
                       files=["tb/other_seq.sv", "tb/my_test.sv"])  # fmt: skip
    records = rewrite_solution(gym, unit, RewriteSettings(), {"tb/my_test.sv"})
    assert [(r.file, r.line, r.name) for r in records] == [("tb/my_test.sv", 2, "starting_phase_accessors")]
    assert "seq.set_starting_phase(phase);" in (gym / "tb" / "my_test.sv").read_text()
    assert (gym / "tb" / "other_seq.sv").read_text() == other  # not the candidate's: never written
    (gym / "tb" / "my_test.sv").write_text(mine)
    assert rewrite_solution(gym, unit, RewriteSettings(enabled=False), {"tb/my_test.sv"}) == []
    assert rewrite_solution(gym, unit, RewriteSettings(disabled=["starting_phase_accessors"]), {"tb/my_test.sv"}) == []
    assert (gym / "tb" / "my_test.sv").read_text() == mine


def test_a_rewrite_tripping_on_a_solution_leaves_it_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A solution is hostile input: a rewrite that fails on it yields a warning, not a crash of eval."""
    import asyncio

    from dvsmith.analysis.profile import CompileUnit
    from dvsmith.gym import evaluate
    from dvsmith.gym.models import RewriteSettings

    def boom(*args: object, **kwargs: object) -> list[object]:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(evaluate, "rewrite_solution", boom)
    ev = evaluate._Evaluator.__new__(evaluate._Evaluator)
    ev.report = evaluate.BuildReport(dvsmith_version="x", profile="p", repo_root="/r", profile_fingerprint="f",
                                     out_dir=str(tmp_path), created_at="now", rewrite_settings=RewriteSettings())
    (tmp_path / "gym").mkdir()
    unit = CompileUnit(name="u", sources=["a.sv"], files=["a.sv"])
    records, warning = asyncio.run(ev._rewrite(tmp_path, unit, {"a.sv"}))
    assert records == [] and warning.startswith("warning: the build's Verilator rewrites could not be made")
    ev.report = ev.report.model_copy(update={"rewrite_settings": None})  # an older gym: nothing to do
    assert asyncio.run(ev._rewrite(tmp_path, unit, {"a.sv"})) == ([], "")
