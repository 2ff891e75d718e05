"""Grade one simulation of a candidate test against a task's acceptance criteria.

Health is a gate; coverage is the score.

* **Gate** (any failure gives score 0, with the reasons): a real UVM report-server summary was
  printed; the requested test started (``[RNTST] Running test <name>``, no ``[INVTST]``); UVM_ERROR
  and UVM_FATAL counts within ``acceptance.max_uvm_errors`` / ``max_uvm_fatals`` (0 by default); no
  timeout (``[PH_TIMEOUT]`` or the process limit); no simulator-level error (``%Error``, ``$fatal``, an
  assertion failure); exit status 0 when known; and, when the acceptance requires it (the oracle's run
  did), the run ended through UVM's own ``$finish`` after a summary the report server printed.
* **Score**: the weighted mean, over ``acceptance.coverage`` targets, of ``min(1, achieved / target)``
  (1.0 when there are no targets). ``passed`` = gate passed and ``score >= acceptance.pass_score``.

Targets come from ``derive_acceptance``: ``coverage_fraction`` (90% by default) of the oracle's
percentage for each metric the simulator measures and the oracle exercised. Default weights
(``DEFAULT_WEIGHTS``): line 1.0, branch 1.0, toggle 1.0, fsm 1.0, user (``cover property``) 1.0,
expr 0.5 (expression coverage is fine-grained and noisy between seeds), statement 1.0, condition 0.5,
assertion 1.0, functional (covergroups) 2.0 where the simulator measures it. Verilator ignores
covergroups, so functional coverage is ``"unsupported"`` there: it is neither a target nor reported
as 0%.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dvsmith.sim.acceptance import Acceptance, CoverageTarget
from dvsmith.sim.coverage import CoverageSummary
from dvsmith.sim.uvmlog import LogHealth

DEFAULT_WEIGHTS: dict[str, float] = {
    "line": 1.0,
    "branch": 1.0,
    "toggle": 1.0,
    "fsm": 1.0,
    "user": 1.0,
    "expr": 0.5,
    "statement": 1.0,
    "condition": 0.5,
    "assertion": 1.0,
    "functional": 2.0,
}

MEASURED_METRICS: dict[str, tuple[str, ...]] = {
    "verilator": ("line", "branch", "expr", "toggle", "fsm", "user"),
    "questa": ("statement", "branch", "condition", "expr", "toggle", "fsm", "assertion", "functional"),
    "xcelium": ("statement", "branch", "expr", "toggle", "fsm", "assertion", "functional"),
    "vcs": ("line", "condition", "toggle", "fsm", "branch", "assertion", "functional"),
}
_EPS = 1e-9


class ScoreResult(BaseModel):
    model_config = ConfigDict(extra="ignore")

    score: float  # in [0, 1]
    passed: bool
    gate_passed: bool
    reasons: list[str] = Field(default_factory=list)
    coverage_detail: dict[str, dict[str, Any]] = Field(default_factory=dict)


def health_reasons(
    health: LogHealth,
    acceptance: Acceptance,
    test_name: str,
    *,
    exit_code: int | None = None,
) -> list[str]:
    """Why the run fails the health gate (empty when it passes)."""
    reasons: list[str] = []
    if health.process_timeout:
        t = health.last_report_time
        last = f" (its last UVM report was at simulation time {t})" if t else ""
        solver = ""
        if health.solver_errors:
            solver = (f"; Verilator's constraint solver rejected a randomize() query ({health.solver_errors[0]}),"
                      " after which the run waits on the solver")  # fmt: skip
        reasons.append(f"the simulation was killed: it ran longer than the time limit{last}{solver}")
    if health.uvm_timeout:
        reasons.append("UVM phase timeout ([PH_TIMEOUT])")
    if health.invalid_test:
        reasons.append(f"UVM could not find test {test_name!r} ([INVTST])")
    if acceptance.require_test_started:
        if not health.test_started:
            reasons.append("no test started (no '[RNTST] Running test' message)")
        elif health.test_name != test_name:
            reasons.append(f"the test that ran was {health.test_name!r}, not {test_name!r}")
    if not health.summary_found:
        reasons.append("no UVM report summary in the log: the simulation did not end normally")
    errors = health.uvm_error or 0
    fatals = health.uvm_fatal or 0
    if errors > acceptance.max_uvm_errors:
        first = f": {health.errors[0]}" if health.errors else ""
        reasons.append(f"{errors} UVM_ERROR (allowed {acceptance.max_uvm_errors}){first}")
    if fatals > acceptance.max_uvm_fatals:
        fatal_lines = [e for e in health.errors if e.startswith("UVM_FATAL")]
        first = f": {fatal_lines[0]}" if fatal_lines else ""
        reasons.append(f"{fatals} UVM_FATAL (allowed {acceptance.max_uvm_fatals}){first}")
    if health.sim_error_count:
        reasons.append(f"{health.sim_error_count} simulator error(s): {health.sim_errors[0]}")
    if exit_code not in (None, 0) and not health.process_timeout:
        reasons.append(f"the simulator exited with status {exit_code}")
    if acceptance.require_uvm_finish:
        if health.finish_reached and not health.finished_by_uvm:
            reasons.append(f"the simulation was ended by $finish in {health.finish_file}, not by UVM")
        if health.summary_found and not health.summary_trusted:
            reasons.append("the report summary was not printed by the UVM report server")
    return reasons


def score(
    health: LogHealth,
    coverage: CoverageSummary | None,
    acceptance: Acceptance,
    test_name: str,
    *,
    exit_code: int | None = None,
) -> ScoreResult:
    """Grade one run: health gate, then coverage against the acceptance targets (module docstring)."""
    detail: dict[str, dict[str, Any]] = {}
    total_w = 0.0
    acc = 0.0
    for target in acceptance.coverage:
        if target.metric == "functional" and acceptance.functional_coverage == "unsupported":
            continue
        achieved = coverage.percent(target.metric) if coverage is not None else None
        got = achieved if achieved is not None else 0.0
        ratio = 1.0 if target.target <= 0 else min(1.0, got / target.target)
        weight = max(0.0, target.weight)
        detail[target.metric] = {
            "achieved": achieved,
            "target": target.target,
            "oracle": target.oracle,
            "ratio": round(ratio, 6),
            "weight": weight,
        }
        total_w += weight
        acc += weight * ratio
    if coverage is not None:
        for metric, pct in coverage.as_percent_dict().items():
            detail.setdefault(metric, {"achieved": pct, "target": None, "oracle": None, "ratio": None, "weight": 0.0})
    coverage_score = acc / total_w if total_w > 0 else 1.0

    reasons = health_reasons(health, acceptance, test_name, exit_code=exit_code)
    if reasons:
        return ScoreResult(score=0.0, passed=False, gate_passed=False, reasons=reasons, coverage_detail=detail)
    reasons = [
        f"{m} coverage {d['achieved'] or 0.0:.2f}% below target {d['target']:.2f}%"
        for m, d in detail.items()
        if d["target"] is not None and d["ratio"] is not None and d["ratio"] < 1.0
    ]
    if coverage is None and acceptance.coverage:
        reasons.insert(0, "no coverage data was written")
    value = max(0.0, min(1.0, coverage_score))
    passed = value >= acceptance.pass_score - _EPS
    return ScoreResult(score=round(value, 6), passed=passed, gate_passed=True, reasons=reasons, coverage_detail=detail)


def derive_acceptance(
    oracle: CoverageSummary | None,
    simulator: str = "verilator",
    *,
    fraction: float = 0.9,
    oracle_health: LogHealth | None = None,
    weights: dict[str, float] | None = None,
    timeout_s: float = 300.0,
) -> Acceptance:
    """Acceptance criteria from the oracle's (the original test's) run.

    A target per metric the simulator measures and the oracle exercised (points > 0 and percent > 0):
    ``fraction`` x the oracle's percent, weighted by ``weights`` (default ``DEFAULT_WEIGHTS``).
    When the oracle's run ended through UVM's own ``$finish``, candidates must too.
    """
    weights = {**DEFAULT_WEIGHTS, **(weights or {})}
    key = simulator.lower()
    measured = MEASURED_METRICS.get(key, MEASURED_METRICS["verilator"])
    functional = "unsupported" if key == "verilator" else "measured"
    targets: list[CoverageTarget] = []
    notes: list[str] = []
    if oracle is not None:
        for metric in measured:
            if metric == "functional" and functional == "unsupported":
                continue
            m = oracle.metrics.get(metric)
            if m is None or (m.total <= 0 and m.reported_percent is None):
                continue
            pct = m.percent
            if pct <= 0:
                continue
            targets.append(
                CoverageTarget(
                    metric=metric,
                    oracle=round(pct, 4),
                    target=round(fraction * pct, 4),
                    weight=weights.get(metric, 1.0),
                )
            )
    else:
        notes.append("no oracle coverage: the score is the health gate alone")
    if functional == "unsupported":
        notes.append(f"functional (covergroup) coverage is not measured by {simulator}: it is not scored")
    return Acceptance(
        coverage_fraction=fraction,
        coverage=targets,
        functional_coverage=functional,
        timeout_s=timeout_s,
        notes=notes,
        require_uvm_finish=bool(oracle_health is not None and oracle_health.finished_by_uvm),
    )
