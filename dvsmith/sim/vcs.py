"""Synopsys VCS: ``vcs`` builds ``simv`` once, ``simv`` runs each test; coverage from URG.

Compile: ``vcs -full64 -sverilog -ntb_opts uvm-1.2 -timescale=1ns/1ps -f dvsmith.f -top T -o
<compile>/simv`` plus ``-cm line+cond+fsm+tgl+branch+assert -cm_dir <compile>/simv.vdb`` when
coverage is on (a given UVM_HOME is compiled from the filelist instead of ``-ntb_opts``). Run:
``simv +UVM_TESTNAME=T +ntb_random_seed=N -cm ... -cm_dir <compile>/simv.vdb -cm_name <test>.s<seed>``.
Report: ``urg -dir <vdb> -format text -report <dir>``; ``dashboard.txt`` holds the totals
(percentages) and ``modinfo.txt`` per-module percentages with ``covered/total`` counts. Note: the
report covers every run recorded in the compile's ``simv.vdb``; per-test numbers need the runs of one
compile to be reported before the next run (eval compiles a fresh copy per candidate).

Log errors: ``Error-[CODE]`` and ``Error: "file", line`` (assertion/``$error`` messages).
"""

from __future__ import annotations

import re
from pathlib import Path

from dvsmith.sim.base import CompileRequest, RunRequest, register_adapter
from dvsmith.sim.commercial import FILELIST, CommercialAdapter, run_stem
from dvsmith.sim.coverage import CoverageSummary, MetricCount

CM = "line+cond+fsm+tgl+branch+assert"
VDB = "simv.vdb"
BINARY = "simv"
DEFAULT_UVM = "uvm-1.2"

METRIC_NAMES = {
    "LINE": "line",
    "COND": "condition",
    "TOGGLE": "toggle",
    "FSM": "fsm",
    "BRANCH": "branch",
    "ASSERT": "assertion",
    "GROUP": "functional",
}
_HEADER_RE = re.compile(
    r"^\s*SCORE\s+(?P<cols>(?:(?:LINE|COND|TOGGLE|FSM|BRANCH|ASSERT|GROUP)\s*)+)(?P<name>NAME)?\s*$"
)
_VALUE = r"(?:\d+(?:\.\d+)?|--)"
_CELL_RE = re.compile(rf"(?P<pct>{_VALUE})(?:\s+(?P<cov>\d+)/(?P<tot>\d+))?")


def _cols(header: str) -> list[str]:
    return re.findall(r"LINE|COND|TOGGLE|FSM|BRANCH|ASSERT|GROUP", header)


def _row(cols: list[str], text: str) -> tuple[dict[str, MetricCount], str] | None:
    """Parse ``SCORE <cells...> [NAME]``; a cell is ``pct`` or ``pct covered/total`` or ``--``."""
    cells = list(_CELL_RE.finditer(text))
    if len(cells) < 1 + len(cols):
        return None
    per: dict[str, MetricCount] = {}
    for col, cell in zip(cols, cells[1 : 1 + len(cols)], strict=True):
        if cell["pct"] == "--":
            continue
        metric = METRIC_NAMES[col]
        if cell["cov"] is not None:
            per[metric] = MetricCount(covered=int(cell["cov"]), total=int(cell["tot"]))
        else:
            per[metric] = MetricCount(reported_percent=float(cell["pct"]))
    rest = text[cells[len(cols)].end() :].strip()
    return per, rest


def parse_urg_dashboard(text: str) -> CoverageSummary:
    """URG ``dashboard.txt`` -> CoverageSummary: totals from ``Total Coverage Summary`` and one entry per
    top-level instance from ``Hierarchical coverage data for top-level instances`` (percentages)."""
    metrics: dict[str, MetricCount] = {}
    files: dict[str, dict[str, MetricCount]] = {}
    section = ""
    cols: list[str] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        low = line.strip().lower()
        if low.startswith("total coverage summary"):
            section, cols = "total", []
            continue
        if low.startswith("hierarchical coverage data"):
            section, cols = "hier", []
            continue
        if low.startswith("total module definition coverage"):
            section, cols = "", []
            continue
        hm = _HEADER_RE.match(line)
        if hm:
            cols = _cols(hm["cols"])
            continue
        if not cols or not line.strip() or section == "":
            continue
        parsed = _row(cols, line)
        if parsed is None:
            continue
        per, name = parsed
        if section == "total" and not metrics:
            metrics = per
        elif section == "hier" and name:
            files[name] = per
    return CoverageSummary(tool="vcs", metrics=metrics, files=files, functional="measured")


def parse_urg_modinfo(text: str) -> CoverageSummary:
    """URG ``modinfo.txt`` -> per-module entries (``Module : name`` blocks); cells with ``covered/total``
    counts give real counts, and totals are summed over modules."""
    files: dict[str, dict[str, MetricCount]] = {}
    current: str | None = None
    cols: list[str] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        mm = re.match(r"^\s*Module\s*:\s*(?P<name>\S+)", line)
        if mm:
            current, cols = mm["name"], []
            continue
        hm = _HEADER_RE.match(line)
        if hm:
            cols = _cols(hm["cols"])
            continue
        if current is None or not cols or not line.strip():
            continue
        parsed = _row(cols, line)
        if parsed is not None and current not in files:
            files[current] = parsed[0]
    totals: dict[str, MetricCount] = {}
    for per in files.values():
        for metric, mc in per.items():
            if mc.total <= 0:
                continue
            cur = totals.setdefault(metric, MetricCount())
            cur.covered += mc.covered
            cur.total += mc.total
    return CoverageSummary(tool="vcs", metrics=totals, files=files, functional="measured")


def parse_urg_report(report_dir: Path) -> CoverageSummary:
    """A URG text report folder: per-module counts from ``modinfo.txt`` when present, totals (including
    the covergroup ``GROUP`` score) from ``dashboard.txt``."""
    dash = report_dir / "dashboard.txt"
    mod = report_dir / "modinfo.txt"
    summary = parse_urg_dashboard(dash.read_text(errors="replace")) if dash.is_file() else CoverageSummary(tool="vcs")
    if mod.is_file():
        per_module = parse_urg_modinfo(mod.read_text(errors="replace"))
        metrics = dict(summary.metrics)
        for metric, mc in per_module.metrics.items():
            reported = summary.metrics.get(metric)
            metrics[metric] = MetricCount(
                covered=mc.covered,
                total=mc.total,
                reported_percent=reported.reported_percent if reported is not None else None,
            )
        summary = CoverageSummary(tool="vcs", metrics=metrics, files=per_module.files, functional="measured")
    summary.functional = "measured"
    summary.source = str(report_dir)
    return summary


@register_adapter()
class VcsAdapter(CommercialAdapter):
    name = "vcs"
    tool = "vcs"
    executables = ("vcs", "urg")
    compile_error_res = (re.compile(r"^Error-\["), re.compile(r"^Fatal-\["))

    def compile_commands(self, req: CompileRequest, top: str | None) -> list[list[str]]:
        cmd = ["vcs", "-full64", "-sverilog", "-timescale=1ns/1ps"]
        if self.uvm_home is None:
            cmd += ["-ntb_opts", DEFAULT_UVM]
        cmd += ["-f", FILELIST, "-o", str(req.work_dir / BINARY)]
        if top:
            cmd += ["-top", top]
        if req.coverage:
            cmd += ["-cm", CM, "-cm_dir", str(req.work_dir / VDB)]
        return [cmd]

    def run_commands(self, req: RunRequest, cov_dir: Path) -> list[list[str]]:
        return [
            [
                str(req.binary / BINARY), f"+UVM_TESTNAME={req.test}", f"+ntb_random_seed={req.seed}",
                *req.plusargs, "-cm", CM, "-cm_dir", str(req.binary / VDB), "-cm_name", run_stem(req),
            ]
        ]  # fmt: skip

    def coverage_report_command(self, req: RunRequest, cov_dir: Path, report: Path) -> list[str] | None:
        return [
            "urg", "-dir", str(req.binary / VDB), "-format", "text", "-report", str(cov_dir / "urgReport"),
        ]  # fmt: skip

    def coverage_report_path(self, req: RunRequest, cov_dir: Path, report: Path) -> Path:
        return cov_dir / "urgReport" / "dashboard.txt"

    def parse_coverage_report(self, text: str) -> CoverageSummary:
        return parse_urg_dashboard(text)

    def read_coverage(self, req: RunRequest, cov_dir: Path, report: Path) -> CoverageSummary | None:
        folder = cov_dir / "urgReport"
        return parse_urg_report(folder) if (folder / "dashboard.txt").is_file() else None
