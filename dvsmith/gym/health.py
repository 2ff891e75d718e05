"""The health gate's first opinion: dvsmith's grader probe (sim/probe.py), a channel no solution can write.

At build time the oracle's run decides what a candidate's run must show (``probe_acceptance``): a probe
report at all, and the sequences and driver traffic the reference produced. At grading time
``apply_probe`` fails a run whose probe report is missing or says it was unhealthy, whatever its log says.
"""

from __future__ import annotations

from dvsmith.gym.models import Acceptance, Task
from dvsmith.sim.base import RunResult
from dvsmith.sim.probe import probe_reasons
from dvsmith.sim.scoring import ScoreResult


def apply_probe(graded: ScoreResult, run: RunResult, acceptance: Acceptance, test_name: str) -> ScoreResult:
    """The probe's account is the health gate's first opinion (the log parse the second): a run whose probe
    report is missing or says the run was unhealthy scores 0, whatever the log says."""
    if not acceptance.require_probe:
        return graded
    reasons = probe_reasons(
        run.probe, run.probe_error, test_name=test_name, required_sequences=acceptance.required_sequences,
        min_items_done=acceptance.min_items_done, max_uvm_errors=acceptance.max_uvm_errors,
        max_uvm_fatals=acceptance.max_uvm_fatals,
    )  # fmt: skip
    if not reasons:
        return graded
    merged = [*reasons, *(r for r in graded.reasons if r not in reasons)] if not graded.gate_passed else reasons
    return graded.model_copy(update={"score": 0.0, "passed": False, "gate_passed": False, "reasons": merged})


def probe_acceptance(acceptance: Acceptance, oracle_run: RunResult, task: Task) -> None:
    """Fill the probe-derived acceptance fields from the reference's run (in place). A sequence is
    required when the task names it and the reference was seen starting it; driver traffic is required
    when the reference's drivers finished items."""
    report = oracle_run.probe
    if report is None:
        return
    acceptance.require_probe = True
    wanted = set(task.sequences) | {c for c in task.removed_classes if c in report.sequences}
    acceptance.required_sequences = sorted(s for s in wanted if report.sequences.get(s, 0) > 0)
    acceptance.min_items_done = 1 if report.items_done > 0 else 0


def health_from_probe(run: RunResult, acceptance: Acceptance, test_name: str) -> list[str]:
    """The probe's reasons alone (for oracle and nop results)."""
    if not acceptance.require_probe:
        return []
    return probe_reasons(
        run.probe, run.probe_error, test_name=test_name, required_sequences=acceptance.required_sequences,
        min_items_done=acceptance.min_items_done, max_uvm_errors=acceptance.max_uvm_errors,
        max_uvm_fatals=acceptance.max_uvm_fatals,
    )  # fmt: skip
