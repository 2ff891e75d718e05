"""Siemens Questa: ``vlib``/``vlog``/``vopt`` then ``vsim -c``; coverage from ``vcover report``.

Compile (in the compile folder): ``vlib work``; ``vlog -sv -f dvsmith.f`` with ``+cover=bcesft`` when
coverage is on and ``-L mtiUvm`` (Questa's built-in UVM) unless a UVM_HOME is given; ``vopt`` makes
the optimized design ``dvsmith_opt``. Run: ``vsim -c -lib <compile>/work dvsmith_opt -coverage
-sv_seed N +UVM_TESTNAME=T -do "coverage save -onexit <ucdb>; run -all; quit -f"``. Report:
``vcover report -summary <ucdb>``.

The transcript prefixes lines with ``# ``; the UVM parser strips it and also reads ``** Error:`` /
``** Fatal:`` lines.
"""

from __future__ import annotations

import re
from pathlib import Path

from dvsmith.sim.base import CompileRequest, RunRequest, register_adapter
from dvsmith.sim.commercial import FILELIST, CommercialAdapter, run_stem
from dvsmith.sim.coverage import CoverageSummary, MetricCount

COVER_FLAGS = "+cover=bcesft"
OPT_NAME = "dvsmith_opt"
UCDB = "dvsmith.ucdb"

# vcover report row names -> our metric names
METRIC_NAMES = {
    "branches": "branch",
    "conditions": "condition",
    "expressions": "expr",
    "fsm states": "fsm",
    "fsm transitions": "fsm",
    "statements": "statement",
    "toggles": "toggle",
    "toggle bins": "toggle",
    "assertions": "assertion",
    "directives": "user",
    "cover directives": "user",
    "covergroup bins": "functional",
}

_ROW_RE = re.compile(
    r"^\s+(?P<name>[A-Za-z][A-Za-z /]*?)\s{2,}(?P<bins>\d+|na)\s+(?P<hits>\d+|na)\s+(?P<miss>\d+|na)"
    r"\s+(?P<pct>\d+(?:\.\d+)?%|na)\s*$"
)
_HDR_RE = re.compile(r"^===\s+(?P<kind>Instance|Design Unit|File):\s+(?P<name>\S+)")
_CG_TOTAL_RE = re.compile(r"TOTAL COVERGROUP COVERAGE:\s*(?P<pct>\d+(?:\.\d+)?)%")
_CG_TYPE_RE = re.compile(r"^\s*TYPE\s+(?P<name>\S+)")
_CG_BINS_RE = re.compile(r"^\s*covered/total bins:\s+(?P<cov>\d+)\s+(?P<tot>\d+)")


def parse_vcover_report(text: str) -> CoverageSummary:
    """``vcover report -summary`` (or ``-details``) text -> CoverageSummary.

    Code metrics per instance/design unit come from the ``Enabled Coverage`` tables (Bins, Hits);
    functional coverage from the ``Covergroup Bins`` rows, or the ``covered/total bins`` lines of each
    covergroup ``TYPE``, and ``TOTAL COVERGROUP COVERAGE`` as the reported percentage.
    """
    files: dict[str, dict[str, MetricCount]] = {}
    cg_files: dict[str, dict[str, MetricCount]] = {}  # per covergroup TYPE (used without summary rows)
    current = "(design)"
    prev_kind = ""
    cg_type: str | None = None
    cg_total: float | None = None
    cg_rows = False
    for raw in text.splitlines():
        line = raw[2:] if raw.startswith("# ") else raw
        hm = _HDR_RE.match(line)
        if hm:
            if not (hm["kind"] == "Design Unit" and prev_kind == "Instance"):
                current = hm["name"]
            prev_kind = hm["kind"]
            cg_type = None
            continue
        if line.startswith("==="):
            continue
        prev_kind = ""
        tm = _CG_TOTAL_RE.search(line)
        if tm:
            cg_total = float(tm["pct"])
            continue
        ty = _CG_TYPE_RE.match(line)
        if ty:
            cg_type = ty["name"]
            continue
        bm = _CG_BINS_RE.match(line)
        if bm and cg_type is not None:
            per = cg_files.setdefault(cg_type, {})
            if "functional" not in per:
                per["functional"] = MetricCount(covered=int(bm["cov"]), total=int(bm["tot"]))
            continue
        rm = _ROW_RE.match(line)
        if rm:
            metric = METRIC_NAMES.get(rm["name"].strip().lower())
            if metric is None or rm["bins"] == "na" or rm["hits"] == "na":
                continue
            if metric == "functional":
                cg_rows = True
            per = files.setdefault(current, {})
            mc = per.setdefault(metric, MetricCount())
            mc.covered += int(rm["hits"])
            mc.total += int(rm["bins"])
    if not cg_rows:  # no "Covergroup Bins" summary rows: count the bins of each covergroup TYPE
        files.update(cg_files)
    summary = CoverageSummary(tool="questa", files=files, functional="measured", metrics={})
    totals = _sum(files)
    if cg_total is not None:
        fm = totals.get("functional", MetricCount())
        totals["functional"] = MetricCount(covered=fm.covered, total=fm.total, reported_percent=cg_total)
    summary.metrics = totals
    return summary


def _sum(files: dict[str, dict[str, MetricCount]]) -> dict[str, MetricCount]:
    out: dict[str, MetricCount] = {}
    for per in files.values():
        for metric, mc in per.items():
            cur = out.setdefault(metric, MetricCount())
            cur.covered += mc.covered
            cur.total += mc.total
    return out


@register_adapter("modelsim", "vsim")
class QuestaAdapter(CommercialAdapter):
    name = "questa"
    tool = "questa"
    executables = ("vlib", "vlog", "vopt", "vsim", "vcover")
    compile_error_res = (re.compile(r"^\*\* (Error|Fatal)"), re.compile(r"^# \*\* (Error|Fatal)"))

    def _uvm_lib(self) -> list[str]:
        return [] if self.uvm_home is not None else ["-L", "mtiUvm"]

    def compile_commands(self, req: CompileRequest, top: str | None) -> list[list[str]]:
        cover = [COVER_FLAGS] if req.coverage else []
        vlog = [
            "vlog",
            "-work",
            "work",
            "-sv",
            "-timescale",
            "1ns/1ps",
            *cover,
            *self._uvm_lib(),
            "-f",
            FILELIST,
        ]
        vopt = ["vopt", "-work", "work", *cover, *self._uvm_lib(), top or "top", "-o", OPT_NAME]
        return [["vlib", "work"], vlog, vopt]

    def run_commands(self, req: RunRequest, cov_dir: Path) -> list[list[str]]:
        cov_dir.mkdir(parents=True, exist_ok=True)
        ucdb = cov_dir / UCDB
        do = f"coverage save -onexit {ucdb}; run -all; quit -f"
        return [
            [
                "vsim", "-c", "-lib", str(req.binary / "work"), OPT_NAME, *self._uvm_lib(),
                "-coverage", "-sv_seed", str(req.seed), f"+UVM_TESTNAME={req.test}", *req.plusargs,
                "-l", f"{run_stem(req)}.transcript", "-do", do,
            ]
        ]  # fmt: skip

    def coverage_report_command(self, req: RunRequest, cov_dir: Path, report: Path) -> list[str] | None:
        return ["vcover", "report", "-summary", str(cov_dir / UCDB)]

    def parse_coverage_report(self, text: str) -> CoverageSummary:
        return parse_vcover_report(text)
