"""Simulator adapters, log and coverage parsers, scoring.

Entry points: ``get_adapter(name)`` (``compile`` / ``run``), ``parse_uvm_log``, ``parse_coverage_dat``,
``score``, ``derive_acceptance``; ``dvsmith.sim.toolchain`` for ``doctor()`` and UVM provisioning.
"""

from dvsmith.sim.base import (
    CompileRequest,
    CompileResult,
    RunRequest,
    RunResult,
    SimulatorAdapter,
    get_adapter,
)
from dvsmith.sim.coverage import CoverageSummary, MetricCount, merge_coverage_dat, parse_coverage_dat
from dvsmith.sim.scoring import ScoreResult, derive_acceptance, score
from dvsmith.sim.uvmlog import LogHealth, parse_uvm_log, parse_uvm_log_file

__all__ = [
    "CompileRequest",
    "CompileResult",
    "CoverageSummary",
    "LogHealth",
    "MetricCount",
    "RunRequest",
    "RunResult",
    "ScoreResult",
    "SimulatorAdapter",
    "derive_acceptance",
    "get_adapter",
    "merge_coverage_dat",
    "parse_coverage_dat",
    "parse_uvm_log",
    "parse_uvm_log_file",
    "score",
]
