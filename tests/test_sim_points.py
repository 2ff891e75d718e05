"""Coverage scored on the original's point set (issue 9, item 2): key and hierarchy must exist in the
original; totals are the original's; points a candidate adds count for nothing. No simulation."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dvsmith.gym.evaluate import candidate_coverage
from dvsmith.gym.models import Acceptance, Task
from dvsmith.gym.validate import _write_point_sets
from dvsmith.sim.base import RunResult
from dvsmith.sim.coverage import parse_coverage_dat
from dvsmith.sim.points import load_point_set, point_set, read_points, read_points_file, summarize_on, write_point_set
from dvsmith.sim.uvmlog import LogHealth

DAT = Path(__file__).resolve().parent / "data" / "verilator" / "coverage_write_read_test.dat"
KNOWN = ["rtl/fifo.sv", "tb/tb_top.sv"]


def _pt(file: str, line: int, hier: str, count: int, *, col: int = 3, t: str = "line", o: str = "block") -> str:
    fields = {"f": file, "l": str(line), "n": str(col), "t": t, "page": f"v_{t}/m", "o": o, "h": hier}
    return "C '" + "".join(f"\x01{k}\x02{v}" for k, v in fields.items()) + f"' {count}"


def _dat(*points: str) -> str:
    return "# SystemC::Coverage-3\n" + "\n".join(points) + "\n"


ORIGINAL = _dat(
    _pt("/repo/rtl/fifo.sv", 10, "TOP.tb_top.dut", 0),
    _pt("/repo/rtl/fifo.sv", 11, "TOP.tb_top.dut", 0),
    _pt("/repo/rtl/fifo.sv", 12, "TOP.tb_top.dut", 0),
    _pt("/repo/rtl/fifo.sv", 13, "TOP.tb_top.dut", 0),
    _pt("/repo/tb/tb_top.sv", 5, "TOP.tb_top", 3),
    _pt("/opt/uvm/src/base/uvm_root.svh", 585, "uvm_pkg", 1),  # not a unit file: never counted
)


def _table() -> dict:
    return point_set(read_points(ORIGINAL, KNOWN), "files").table()


def test_the_point_set_keeps_unit_files_relative_and_every_point_hit_or_not() -> None:
    table = _table()
    assert len(table) == 5
    assert {k[0] for k in table} == {"rtl/fifo.sv", "tb/tb_top.sv"}
    assert all(h == frozenset({"TOP.tb_top.dut"}) for k, h in table.items() if k[0] == "rtl/fifo.sv")


def test_a_candidate_compiled_elsewhere_is_matched_by_path_suffix() -> None:
    cand = _dat(
        _pt("/cache/eval/t.abc/gym/rtl/fifo.sv", 10, "TOP.tb_top.dut", 4),
        _pt("/cache/eval/t.abc/gym/rtl/fifo.sv", 11, "TOP.tb_top.dut", 1),
    )
    s = summarize_on(read_points(cand, KNOWN), _table(), ["rtl/fifo.sv"])
    assert (s.metrics["line"].covered, s.metrics["line"].total) == (2, 4)


def test_points_the_candidate_adds_count_for_nothing() -> None:
    """Attack 1 of issue 9 under scoring: a bound module's points under the DUT's file name, lines the
    original does not have (`line), and the DUT's own keys hit in a hierarchy the original lacks."""
    forged = [_pt("/w/gym/rtl/fifo.sv", n, "TOP.tb_top.dut.u_spy", 1) for n in range(1, 40)]  # bind + `line
    forged += [_pt("/w/gym/rtl/fifo.sv", n, "TOP.tb_top.dut.u_spy", 1) for n in (10, 11, 12, 13)]  # keys of the DUT
    forged += [_pt("/w/gym/rtl/fifo.sv", 10, "TOP.tb_top.dut", 1, col=99)]  # a column the original lacks
    forged += [_pt("/w/gym/rtl/fifo.sv", 11, "TOP.tb_top.dut", 1, t="toggle", o="x:0->1")]  # a new metric
    s = summarize_on(read_points(_dat(*forged), KNOWN), _table(), ["rtl/fifo.sv"])
    assert s.metrics["line"].total == 4  # the original's denominator
    assert s.metrics["line"].covered == 0
    assert "toggle" not in s.metrics


def test_coverage_files_restrict_the_original_points() -> None:
    cand = _dat(_pt("/w/tb/tb_top.sv", 5, "TOP.tb_top", 1), _pt("/w/rtl/fifo.sv", 12, "TOP.tb_top.dut", 1))
    s = summarize_on(read_points(cand, KNOWN), _table(), ["rtl/fifo.sv"])
    assert set(s.files) == {"rtl/fifo.sv"}
    assert s.percent("line") == 25.0


def test_on_a_recorded_coverage_dat_the_original_scores_what_it_scored_before() -> None:
    """With no forged points the point-set score equals the old per-file score of the same run."""
    text = DAT.read_text(errors="replace")
    known = ["rtl/apb_regs.sv", "tb/tb_top.sv", "tb/env/reg_coverage.svh"]
    hits = read_points(text, known)
    table = point_set(hits, "tb").table()
    mine = summarize_on(hits, table, known)
    old = parse_coverage_dat(DAT).restrict(known)
    assert mine.as_percent_dict() == old.as_percent_dict() and mine.metrics
    # a forged copy of every point in another hierarchy adds nothing
    forged = text + "\n".join(
        line.replace("\x01h\x02tb_top.dut", "\x01h\x02tb_top.dut.u_spy").rsplit("' ", 1)[0] + "' 1"
        for line in text.splitlines()
        if "\x01h\x02tb_top.dut" in line
    )
    assert summarize_on(read_points(forged, known), table, known).as_percent_dict() == mine.as_percent_dict()


def test_a_changed_point_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "coverage" / "files.points.json"
    sha = write_point_set(path, point_set(read_points(ORIGINAL, KNOWN), "files"))
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_point_set(path, sha).table() == _table()
    path.write_bytes(path.read_bytes().replace(b"TOP.tb_top.dut", b"TOP.tb_top.dut.u_spy"))
    with pytest.raises(ValueError, match="changed since the build"):
        load_point_set(path, sha)
    with pytest.raises(ValueError, match="cannot be read"):
        load_point_set(tmp_path / "nope.json", sha)


def _run(tmp_path: Path, text: str | None) -> RunResult:
    cov = None
    if text is not None:
        cov = tmp_path / "t.s1.coverage.dat"
        cov.write_text(text)
    return RunResult(exit_code=0, timed_out=False, log=tmp_path / "t.log", wall_s=0.1, health=LogHealth(),
                     coverage_file=cov)  # fmt: skip


def _task(**acc: object) -> Task:
    return Task(id="t", test_name="t", title="t", difficulty="easy", difficulty_reason="r", description="d",
                goal="g", hints=[], acceptance=Acceptance(**acc))  # fmt: skip


def test_candidate_coverage_uses_the_point_set_and_no_file_means_no_coverage(tmp_path: Path) -> None:
    task = _task(coverage_files=["rtl/fifo.sv"])
    cand = _dat(_pt("/x/rtl/fifo.sv", 10, "TOP.tb_top.dut", 1), _pt("/x/rtl/fifo.sv", 77, "TOP.tb_top.dut", 1))
    cov = candidate_coverage(_run(tmp_path, cand), task, _table())
    assert cov is not None and cov.metrics["line"].covered == 1 and cov.metrics["line"].total == 4
    assert candidate_coverage(_run(tmp_path / "none", None), task, _table()) is None


def test_build_writes_one_point_set_per_unit_from_the_oracle_runs(tmp_path: Path) -> None:
    from dvsmith.analysis.profile import CompileUnit

    unit = CompileUnit(name="files", sources=["rtl/fifo.sv", "tb/tb_top.sv"], files=["rtl/fifo.sv", "tb/tb_top.sv"])
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    second = _dat(_pt("/repo/rtl/fifo.sv", 14, "TOP.tb_top.dut", 1))  # another test's run adds nothing new...
    runs = [(_task(), _run(a, ORIGINAL)), (_task(), _run(b, second))]
    for t, _ in runs:
        t.compile_unit = "files"
    got = _write_point_sets(tmp_path / "out", {"files": unit}, runs)
    rel, sha, table = got["files"]
    assert rel == "coverage/files.points.json"
    ps = load_point_set(tmp_path / "out" / rel, sha)
    assert ps.table() == table and len(table) == 6  # ...but the union of both runs' points is kept
    assert read_points_file(tmp_path / "a" / "t.s1.coverage.dat", ["rtl/fifo.sv"])
