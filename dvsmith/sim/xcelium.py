"""Cadence Xcelium: ``xrun -elaborate`` once, ``xrun -R`` per test; coverage from IMC.

Compile: ``xrun -64bit -elaborate -sv -uvm -uvmhome CDNS-1.2 -f dvsmith.f -top T -xmlibdirname
<compile>/xcelium.d`` plus ``-coverage all -covoverwrite`` when coverage is on (``-uvmhome <dir>``
when a UVM_HOME is given). Run: ``xrun -64bit -R -xmlibdirname <compile>/xcelium.d -svseed N
+UVM_TESTNAME=T -covworkdir <cov> -covscope dvsmith -covtest <test>.s<seed>``. Report:
``imc -batch -exec report.tcl`` (``load -run``, then ``report -summary -inst -metrics all``).

Log errors: ``*E,`` and ``*F,`` messages (``xmsim: *E,ASRTST ...``).
"""

from __future__ import annotations

import re
from pathlib import Path

from dvsmith import paths
from dvsmith.sim.base import CompileRequest, RunRequest, register_adapter
from dvsmith.sim.commercial import FILELIST, CommercialAdapter, run_stem
from dvsmith.sim.coverage import CoverageSummary, MetricCount

LIBDIR = "xcelium.d"
COV_SCOPE = "dvsmith"
DEFAULT_UVM = "CDNS-1.2"

# IMC column names -> our metric names
METRIC_NAMES = {
    "block": "block",
    "branch": "branch",
    "statement": "statement",
    "expression": "expr",
    "toggle": "toggle",
    "fsm": "fsm",
    "assertion": "assertion",
    "covergroup": "functional",
}
_COL_RE = re.compile(
    r"\b(?P<metric>Overall|Block|Branch|Statement|Expression|Toggle|FSM|Assertion|CoverGroup)\s+"
    r"(?P<kind>Average Grade|Covered)"
)
_CELL_RE = re.compile(r"n/a|--|(?P<cov>\d+)\s*/\s*(?P<tot>\d+)\s*\((?P<cpct>\d+(?:\.\d+)?)%\)|(?P<pct>\d+(?:\.\d+)?)%")


def parse_imc_summary(text: str) -> CoverageSummary:
    """IMC ``report -summary`` text -> CoverageSummary.

    The report is a table: a header naming, per metric, an ``Average Grade`` and a ``Covered`` column,
    then one row per instance (``|--`` marks children; numbers are cumulative over the subtree). The
    ``Covered`` cells read ``covered/total (pct%)``; the top-level rows give the totals.
    """
    columns: list[tuple[str, str]] = []
    files: dict[str, dict[str, MetricCount]] = {}
    totals: dict[str, MetricCount] = {}
    for raw in text.splitlines():
        line = raw.rstrip()
        if not columns:
            found = [(m["metric"].lower(), m["kind"]) for m in _COL_RE.finditer(line)]
            if found:
                columns = found
            continue
        stripped = line.strip()
        if not stripped or set(stripped) <= set("-=|"):
            continue
        name_match = re.match(r"^(?P<indent>[\s|`-]*)(?P<name>[^\s|`][^\s]*)\s+(?P<rest>.*)$", line)
        if name_match is None:
            continue
        cells = list(_CELL_RE.finditer(name_match["rest"]))
        if len(cells) != len(columns):
            continue
        depth_marker = name_match["indent"]
        per: dict[str, MetricCount] = {}
        for (metric, kind), cell in zip(columns, cells, strict=True):
            ours = METRIC_NAMES.get(metric)
            if ours is None or kind != "Covered" or cell["cov"] is None:
                if ours is not None and kind == "Average Grade" and cell["pct"] is not None and ours not in per:
                    per[ours] = MetricCount(reported_percent=float(cell["pct"]))
                continue
            per[ours] = MetricCount(covered=int(cell["cov"]), total=int(cell["tot"]))
        name = name_match["name"]
        files[name] = per
        if "|" not in depth_marker and "-" not in depth_marker:  # a top-level row
            for metric, mc in per.items():
                cur = totals.get(metric)
                if cur is None:
                    totals[metric] = MetricCount(
                        covered=mc.covered, total=mc.total, reported_percent=mc.reported_percent
                    )
                else:
                    totals[metric] = MetricCount(covered=cur.covered + mc.covered, total=cur.total + mc.total)
    return CoverageSummary(tool="xcelium", metrics=totals, files=files, functional="measured")


@register_adapter("xrun")
class XceliumAdapter(CommercialAdapter):
    name = "xcelium"
    tool = "xcelium"
    executables = ("xrun", "imc")
    compile_error_res = (re.compile(r"^(?:\w+:\s*)?\*[EF],\w+"),)
    uvm_in_filelist = False  # xrun compiles the UVM library itself (-uvm -uvmhome)

    def _uvm(self) -> list[str]:
        return ["-uvm", "-uvmhome", str(self.uvm_home) if self.uvm_home is not None else DEFAULT_UVM]

    def compile_commands(self, req: CompileRequest, top: str | None) -> list[list[str]]:
        cmd = [
            "xrun", "-64bit", "-elaborate", "-sv", "-timescale", "1ns/1ps", *self._uvm(),
            "-xmlibdirname", str(req.work_dir / LIBDIR), "-f", FILELIST,
        ]  # fmt: skip
        if top:
            cmd += ["-top", top]
        if req.coverage:
            cmd += ["-coverage", "all", "-covoverwrite"]
        return [cmd]

    def run_commands(self, req: RunRequest, cov_dir: Path) -> list[list[str]]:
        return [
            [
                "xrun", "-64bit", "-R", "-xmlibdirname", str(req.binary / LIBDIR),
                "-svseed", str(req.seed), f"+UVM_TESTNAME={req.test}", *req.plusargs,
                "-covworkdir", str(cov_dir), "-covscope", COV_SCOPE, "-covtest", run_stem(req),
                "-covoverwrite",
            ]
        ]  # fmt: skip

    def coverage_report_command(self, req: RunRequest, cov_dir: Path, report: Path) -> list[str] | None:
        out = report.with_suffix(".imc.txt")
        tcl = report.with_suffix(".tcl")
        run_db = cov_dir / COV_SCOPE / run_stem(req)
        paths.atomic_write_text(
            tcl,
            f"load -run {run_db}\nreport -summary -inst -metrics all -out {out}\nexit\n",
        )
        return ["imc", "-batch", "-exec", str(tcl)]

    def coverage_report_path(self, req: RunRequest, cov_dir: Path, report: Path) -> Path:
        return report.with_suffix(".imc.txt")

    def parse_coverage_report(self, text: str) -> CoverageSummary:
        return parse_imc_summary(text)
