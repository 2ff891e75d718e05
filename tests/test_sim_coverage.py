"""Coverage parsers: Verilator coverage.dat, Questa vcover, Xcelium IMC, VCS URG; restrict/exclude."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvsmith.sim.coverage import (
    CoverageSummary,
    MetricCount,
    merge_coverage_dat,
    parse_coverage_dat,
    parse_coverage_dat_text,
)
from dvsmith.sim.questa import parse_vcover_report
from dvsmith.sim.vcs import parse_urg_dashboard, parse_urg_modinfo, parse_urg_report
from dvsmith.sim.xcelium import parse_imc_summary

DATA = Path(__file__).parent / "data"


def _point(file: str, line: int, kind: str, comment: str, count: int, hier: str = "top.u0", col: int = 3) -> str:
    fields = {"f": file, "l": str(line), "n": str(col), "t": kind, "page": f"v_{kind}/m", "o": comment, "h": hier}
    body = "".join(f"\x01{k}\x02{v}" for k, v in fields.items())
    return f"C '{body}' {count}"


def _dat(*points: str) -> str:
    return "# SystemC::Coverage-3\n" + "\n".join(points) + "\n"


def test_coverage_dat_counts_per_type_and_file() -> None:
    text = _dat(
        _point("/r/rtl/dut.sv", 10, "line", "block", 5),
        _point("/r/rtl/dut.sv", 12, "line", "block", 0),
        _point("/r/rtl/dut.sv", 14, "branch", "if", 3),
        _point("/r/rtl/dut.sv", 14, "branch", "else", 0),
        _point("/r/rtl/dut.sv", 3, "toggle", "count[0]:0->1", 1),
        _point("/r/rtl/dut.sv", 3, "toggle", "count[0]:1->0", 0),
        _point("/r/rtl/dut.sv", 20, "user", "cover_wrap", 2),
        _point("/r/tb/env.sv", 7, "line", "block", 1),
        _point("/r/tb/env.sv", 8, "expr", "(a==0) => 1", 0),
    )
    s = parse_coverage_dat_text(text)
    assert s.metrics["line"] == MetricCount(covered=2, total=3)
    assert s.metrics["branch"].percent == 50.0
    assert s.metrics["toggle"].percent == 50.0
    assert s.metrics["user"].percent == 100.0
    assert s.metrics["expr"].percent == 0.0
    assert s.files["/r/tb/env.sv"]["line"].covered == 1
    assert s.functional == "unsupported" and "functional" not in s.metrics
    assert s.as_percent_dict()["line"] == pytest.approx(66.6667)


def test_coverage_dat_merges_instances_of_one_source_point() -> None:
    text = _dat(
        _point("/r/dut.sv", 10, "line", "block", 0, hier="top.u0"),
        _point("/r/dut.sv", 10, "line", "block", 4, hier="top.u1"),
        _point("/r/dut.sv", 11, "line", "block", 0, hier="top.u0"),
        _point("/r/dut.sv", 11, "line", "block", 0, hier="top.u1"),
    )
    s = parse_coverage_dat_text(text)
    assert s.metrics["line"] == MetricCount(covered=1, total=2)


def test_coverage_dat_type_from_page_when_t_missing() -> None:
    body = "\x01f\x02/r/a.sv\x01l\x023\x01page\x02v_line/m\x01o\x02block"
    s = parse_coverage_dat_text(f"# SystemC::Coverage-3\nC '{body}' 1\nC 'garbage\n")
    assert s.metrics["line"] == MetricCount(covered=1, total=1)


def test_restrict_and_exclude_by_relative_path() -> None:
    text = _dat(
        _point("/r/rtl/dut.sv", 10, "line", "block", 1),
        _point("/r/rtl/dut.sv", 11, "line", "block", 0),
        _point("/r/tb/my_test.sv", 5, "line", "block", 1),
        _point("/r/tb/other_dut.sv", 5, "line", "block", 1),
    )
    s = parse_coverage_dat_text(text)
    dut = s.restrict(["rtl/dut.sv"])
    assert list(dut.files) == ["/r/rtl/dut.sv"] and dut.metrics["line"].percent == 50.0
    assert list(s.restrict(["dut.sv"]).files) == ["/r/rtl/dut.sv"]  # component boundary, not other_dut.sv
    rest = s.exclude(["tb/my_test.sv"])
    assert set(rest.files) == {"/r/rtl/dut.sv", "/r/tb/other_dut.sv"}
    assert rest.metrics["line"] == MetricCount(covered=2, total=3)


def test_merge_coverage_dat_unions_points(tmp_path: Path) -> None:
    a = tmp_path / "a.dat"
    b = tmp_path / "b.dat"
    a.write_text(_dat(_point("/r/d.sv", 1, "line", "block", 1), _point("/r/d.sv", 2, "line", "block", 0)))
    b.write_text(_dat(_point("/r/d.sv", 1, "line", "block", 0), _point("/r/d.sv", 2, "line", "block", 3)))
    assert parse_coverage_dat(a).metrics["line"].covered == 1
    assert merge_coverage_dat([a, b]).metrics["line"] == MetricCount(covered=2, total=2)


def test_questa_vcover_summary() -> None:
    s = parse_vcover_report((DATA / "sim" / "questa" / "vcover_summary.txt").read_text())
    assert s.tool == "questa" and s.functional == "measured"
    assert s.files["/tb_top/dut"]["branch"] == MetricCount(covered=5, total=6)
    assert s.metrics["statement"] == MetricCount(covered=32, total=34)
    assert s.metrics["toggle"] == MetricCount(covered=16, total=20)
    assert s.metrics["branch"] == MetricCount(covered=8, total=10)
    assert s.metrics["functional"].percent == 62.5
    assert s.metrics["functional"].total == 8
    assert s.restrict(["/tb_top/dut"]).metrics["condition"].percent == 50.0


def test_questa_covergroup_details() -> None:
    s = parse_vcover_report((DATA / "sim" / "questa" / "vcover_details_cvg.txt").read_text())
    assert s.files["/smoke_pkg/cov_collector/cg_count"]["functional"] == MetricCount(covered=5, total=8)
    assert s.metrics["functional"].covered == 7 and s.metrics["functional"].total == 10
    assert s.metrics["functional"].percent == 81.25  # the tool's own weighted total


def test_xcelium_imc_summary() -> None:
    s = parse_imc_summary((DATA / "sim" / "xcelium" / "imc_summary.txt").read_text())
    assert s.tool == "xcelium"
    assert s.metrics["block"] == MetricCount(covered=26, total=28)
    assert s.metrics["expr"] == MetricCount(covered=3, total=4)
    assert s.metrics["functional"] == MetricCount(covered=5, total=8)
    assert "fsm" not in s.metrics
    assert s.files["dut"]["toggle"] == MetricCount(covered=12, total=16)
    assert s.restrict(["dut"]).metrics["block"].percent == 100.0


def test_vcs_urg_dashboard_and_modinfo() -> None:
    folder = DATA / "sim" / "vcs" / "urgReport"
    dash = parse_urg_dashboard((folder / "dashboard.txt").read_text())
    assert dash.percent("line") == 95.0 and dash.percent("functional") == 62.5
    assert dash.percent("fsm") is None
    assert dash.files["tb_top"]["assertion"].percent == 100.0
    mod = parse_urg_modinfo((folder / "modinfo.txt").read_text())
    assert mod.files["counter"]["toggle"] == MetricCount(covered=12, total=16)
    assert mod.metrics["line"] == MetricCount(covered=19, total=20)
    both = parse_urg_report(folder)
    assert both.metrics["line"].covered == 19 and both.percent("line") == 95.0
    assert both.percent("functional") == 62.5
    assert both.restrict(["counter"]).metrics["branch"].percent == pytest.approx(83.3333)


def test_percent_of_unmeasured_metric_is_none() -> None:
    s = CoverageSummary(metrics={"line": MetricCount()})
    assert s.percent("line") is None and s.percent("branch") is None and s.as_percent_dict() == {}


DATS = sorted((DATA / "verilator").glob("**/coverage*.dat")) if (DATA / "verilator").is_dir() else []


@pytest.mark.parametrize("dat", DATS, ids=[p.parent.name + "/" + p.name for p in DATS])
def test_recorded_coverage_dat(dat: Path) -> None:
    """Real coverage.dat files recorded by the fixtures engineer parse into consistent counts."""
    s = parse_coverage_dat(dat)
    assert s.metrics, "no coverage points"
    for m in s.metrics.values():
        assert 0 <= m.covered <= m.total


@pytest.mark.skipif(not (DATA / "verilator" / "coverage_write_read_test.dat").is_file(), reason="not recorded")
def test_recorded_coverage_has_no_uvm_library_points() -> None:
    s = parse_coverage_dat(DATA / "verilator" / "coverage_write_read_test.dat")
    assert {"line", "branch"} <= set(s.metrics)
    assert all(m.total > 0 for m in s.metrics.values())
    assert not [f for f in s.files if "/uvm/src/" in f]  # the UVM library had coverage off
    dut = s.restrict(["rtl/apb_regs.sv"])
    assert len(dut.files) == 1 and (dut.percent("line") or 0) > 0
    assert dut.metrics["line"].total < s.metrics["line"].total


def test_restrict_keeps_percent_only_entries() -> None:
    dash = parse_urg_dashboard((DATA / "sim" / "vcs" / "urgReport" / "dashboard.txt").read_text())
    top = dash.restrict(["tb_top"])
    assert top.percent("line") == 95.0 and top.percent("fsm") is None
