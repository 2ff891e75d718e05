"""Trivial and unjudgeable tasks.

Static half (no simulator): a reference test that is an empty subclass of its base (no method, no
property, no constructor statement beyond ``super.new``, no sequence removed with it) is ``trivial``
(``TaskSpec.trivial``). Such tasks are left out of the gym by default (their test stays in ``gym/``
like a base test); ``build --keep-trivial`` keeps them, flagged.

Runtime half (with a simulator, in the build's simulation phase): the task's nearest concrete ancestor
test is run on the original binary (``base_test_for``). ``judge_against_base`` compares that run with
the task's acceptance: when the base alone passes the health gate and reaches every coverage target, the
task is ``trivial`` (an empty subclass would pass); a task with no measured coverage target and no
behaviour of its own is unjudgeable and says so. ``coverage_over_base`` (oracle minus base, percentage
points per metric) is recorded either way.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from dvsmith.analysis.profile import Profile, TestInfo
from dvsmith.gym.models import Acceptance, OracleResult, SkippedTrivial, Task, TaskStatus
from dvsmith.gym.spec import TaskSpec
from dvsmith.gym.taskfacts import refresh_difficulty
from dvsmith.sim.coverage import CoverageSummary
from dvsmith.sim.scoring import health_reasons
from dvsmith.sim.uvmlog import LogHealth


class BaseVerdict(BaseModel):
    model_config = ConfigDict(extra="ignore")

    base_test: str
    trivial: bool = False
    reason: str | None = None
    coverage_over_base: dict[str, float] = Field(default_factory=dict)
    base_passed_gate: bool = False


def base_test_for(test: TestInfo, profile: Profile) -> tuple[str | None, str]:
    """The nearest ancestor of ``test`` that can be run by name on the original, and why (or why none).

    A base declared ``virtual`` cannot be created by the factory; the chain is walked up to the first
    concrete test of the same compile unit.
    """
    by_name: dict[str, list[TestInfo]] = {}
    for t in profile.tests:
        by_name.setdefault(t.name, []).append(t)
    skipped: list[str] = []
    for name in test.base_chain or ([test.base_class] if test.base_class else []):
        if not name or name.startswith("uvm_"):
            break
        cands = [t for t in by_name.get(name, []) if t.compile_unit == test.compile_unit] or by_name.get(name, [])
        if not cands:
            return None, f"the base class {name} is not a test of the profile"
        if cands[0].is_virtual:
            skipped.append(name)
            continue
        return name, "nearest concrete ancestor test" + (f" (skipped virtual {', '.join(skipped)})" if skipped else "")
    virt = f" ({', '.join(skipped)} {'is' if len(skipped) == 1 else 'are'} virtual)" if skipped else ""
    return None, f"no concrete base test to run{virt}"


def coverage_over_base(oracle: CoverageSummary | None, base: CoverageSummary | None) -> dict[str, float]:
    """Oracle percent minus base percent per metric the oracle measured (base missing counts as 0)."""
    if oracle is None:
        return {}
    base_pct = base.as_percent_dict() if base is not None else {}
    return {m: round(p - base_pct.get(m, 0.0), 4) for m, p in sorted(oracle.as_percent_dict().items())}


def judge_against_base(
    *,
    base_test: str,
    acceptance: Acceptance,
    base_health: LogHealth,
    base_coverage: CoverageSummary | None,
    oracle_coverage: CoverageSummary | None,
    spec: TaskSpec | None = None,
    base_exit_code: int | None = 0,
) -> BaseVerdict:
    """Does the base test alone pass this task? Coverage on the task's ``coverage_files`` (restricted by
    the caller) for both runs."""
    gate = health_reasons(base_health, acceptance, base_test, exit_code=base_exit_code)
    verdict = BaseVerdict(base_test=base_test, base_passed_gate=not gate,
                          coverage_over_base=coverage_over_base(oracle_coverage, base_coverage))
    targets = [c for c in acceptance.coverage
               if not (c.metric == "functional" and acceptance.functional_coverage == "unsupported")]
    if gate:
        verdict.reason = f"the base test {base_test} fails the gate: {gate[0]}"
        return verdict
    if not targets:
        own = spec is not None and not spec.trivial
        verdict.trivial = not own
        verdict.reason = (
            "unjudgeable: no coverage target was measured and the base test passes the gate"
            + ("" if own else ", and the test adds no behaviour of its own")
        )
        return verdict
    base_pct = base_coverage.as_percent_dict() if base_coverage is not None else {}
    short = [c.metric for c in targets if base_pct.get(c.metric, 0.0) + 1e-9 < c.target]
    if not short:
        verdict.trivial = True
        verdict.reason = f"the base test {base_test} alone reaches every coverage target"
    else:
        verdict.reason = f"the base test {base_test} stays below the target in {', '.join(short)}"
    return verdict


def apply_base_run(
    task: Task,
    status: TaskStatus,
    *,
    base_test: str,
    base_health: LogHealth,
    base_coverage: CoverageSummary | None,
    base_exit_code: int | None,
    oracle_coverage: CoverageSummary | None,
    base_result: OracleResult | None = None,
) -> BaseVerdict:
    """Record a base-test run on a task (coverages already restricted to ``task.acceptance.coverage_files``):
    ``coverage_over_base``, the trivial verdict, and the difficulty measured again with the gain."""
    verdict = judge_against_base(
        base_test=base_test, acceptance=task.acceptance, base_health=base_health, base_coverage=base_coverage,
        oracle_coverage=oracle_coverage, spec=task.spec, base_exit_code=base_exit_code,
    )
    task.coverage_over_base = verdict.coverage_over_base
    status.base = base_result
    if verdict.trivial:
        task.trivial = True
        task.trivial_reason = verdict.reason
        status.trivial = True
    elif verdict.reason:
        task.acceptance.notes.append(f"base test: {verdict.reason}")
    refresh_difficulty(task)
    return verdict


def leave_out_sim_trivial(out_dir: Path, tasks: list[Task], test_files: dict[str, str]) -> list[SkippedTrivial]:
    """Remove ``tasks/ID`` and ``oracle/ID`` of tasks the simulation found trivial (not the statically
    trivial ones kept by --keep-trivial: those are flagged already). Their test stays removed from
    ``gym/``; ``build.json`` lists them under ``skipped_trivial`` (when = simulation)."""
    out: list[SkippedTrivial] = []
    for t in tasks:
        if not t.trivial or (t.spec is not None and t.spec.trivial):
            continue
        for sub in ("tasks", "oracle"):
            shutil.rmtree(out_dir / sub / t.id, ignore_errors=True)
        out.append(SkippedTrivial(test=t.test_name, file=test_files.get(t.id, t.test_file), id=t.id,
                                  reason=t.trivial_reason or "trivial", when="simulation"))
    return out
