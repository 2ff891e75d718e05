"""Validation by simulation (SPEC section 3) and `dvsmith validate` on an existing gym.

Per compile unit: compile the gym once (it must compile) and the original once. Then, in parallel (one
worker per core), every task's reference test runs on the original (the oracle result, from which the
acceptance targets are derived) and on the gym as it is (the "nop" check: without a solution the task
must fail). Two compiles per unit whatever the number of tasks.

Coverage is compared on the same files for the oracle and for every candidate: the files the cleaning
left byte-identical to the original, minus the task's own files to write (``Acceptance.coverage_files``).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from dvsmith.analysis.profile import CompileUnit, Profile
from dvsmith.errors import UserInputError
from dvsmith.events import Event, Reporter, null_reporter
from dvsmith.gym.models import Acceptance, BuildReport, OracleResult, SimSummary, Task, TaskStatus
from dvsmith.metrics import PhaseTimer
from dvsmith.paths import sha256_file
from dvsmith.sim.base import CompileRequest, CompileResult, RunRequest, RunResult, get_adapter
from dvsmith.sim.executor import Executor, bind, run_slots
from dvsmith.sim.scoring import derive_acceptance, health_reasons

DEFAULT_RUN_TIMEOUT_S = 300.0


def _sha(path: Path) -> str | None:
    try:
        return sha256_file(path)
    except OSError:
        return None


def gym_unit(unit: CompileUnit, gym_dir: Path) -> CompileUnit:
    """The unit as the gym has it: sources the cleaning removed are gone (their references too)."""
    return unit.model_copy(
        update={
            "sources": [s for s in unit.sources if (gym_dir / s).is_file()],
            "files": [f for f in unit.files if (gym_dir / f).is_file()],
        }
    )


def unchanged_files(unit: CompileUnit, repo_root: Path, gym_dir: Path) -> list[str]:
    """Files of the unit that the gym holds byte-identical to the original."""
    out = []
    for rel in sorted(set(unit.files) | set(unit.sources)):
        a, b = _sha(repo_root / rel), _sha(gym_dir / rel)
        if a is not None and a == b:
            out.append(rel)
    return out


def oracle_result(run: RunResult, test: str, acceptance: Acceptance | None = None) -> OracleResult:
    h = run.health
    reasons = health_reasons(h, acceptance or Acceptance(), test, exit_code=run.exit_code)
    return OracleResult(
        passed=not reasons,
        reason="; ".join(reasons),
        uvm_errors=h.uvm_error,
        uvm_fatals=h.uvm_fatal,
        uvm_warnings=h.uvm_warning,
        test_started=h.test_started and h.test_name == test,
        coverage={},
        sim_time=h.sim_time,
        wall_s=round(run.wall_s, 3),
        log=str(run.log),
    )


async def simulate_tasks(
    *,
    repo_root: Path,
    gym_dir: Path,
    profile: Profile,
    tasks: list[Task],
    statuses: list[TaskStatus],
    simulator: str,
    uvm_home: Path | None,
    timer: PhaseTimer,
    reporter: Reporter = null_reporter,
    logs_dir: Path | None = None,
    units: list[CompileUnit] | None = None,
    use_cache: bool = True,
    executor: Executor | None = None,
) -> SimSummary:
    """Compile gym and original once per unit, run every task's oracle and nop check, fill the tasks'
    ``acceptance`` and ``oracle_result`` and the statuses' validity. Returns the simulation summary."""
    adapter = bind(get_adapter(simulator, uvm_home=uvm_home), executor)
    logs = logs_dir or (gym_dir.parent / "logs")
    unit_by_name = {u.name: u for u in (units if units is not None else profile.compile_units)}
    status_by_id = {s.id: s for s in statuses}
    summary = SimSummary(simulator=simulator)
    toolchain = getattr(adapter, "toolchain", None)
    if callable(toolchain):
        tc = await asyncio.to_thread(toolchain)
        summary.tool_versions = {
            "verilator": tc.verilator.version, "uvm_home": str(tc.uvm_home), "g++": tc.gxx_version,
            "ccache": "yes" if tc.ccache else "no",
        }

    orphan = [t for t in tasks if t.compile_unit not in unit_by_name]
    for t in orphan:
        _invalid(status_by_id[t.id], t, f"no compile unit for test {t.test_name} (not reached from any build root)")
    needed = sorted({t.compile_unit for t in tasks if t.compile_unit in unit_by_name})

    reporter(Event("phase_start", phase="compile"))
    reporter(Event("task_start", phase="compile", total=2 * len(needed)))
    gym_bins: dict[str, CompileResult] = {}
    orig_bins: dict[str, CompileResult] = {}
    with timer.phase("compile"):
        for name in needed:
            unit = unit_by_name[name]
            for label, root, u, store in (
                ("gym", gym_dir, gym_unit(unit, gym_dir), gym_bins),
                ("original", repo_root, unit, orig_bins),
            ):
                res = await adapter.compile(
                    CompileRequest(
                        repo_root=root, unit=u, work_dir=logs / "compile" / f"{label}-{name}", use_cache=use_cache
                    )
                )
                key = f"{label}:{name}"
                summary.compile_s[key] = round(res.seconds, 3)
                summary.compile_ok[key] = res.ok
                if not res.ok:
                    summary.compile_errors[key] = res.errors[:20]
                summary.compiles += 1
                summary.compiles_cached += int(res.cached)
                store[name] = res
                reporter(Event("task_advance", phase="compile", advance=1))

    jobs: list[tuple[Task, str, Path]] = []  # (task, "oracle"|"nop", binary)
    for t in tasks:
        if t.compile_unit not in unit_by_name:
            continue
        g, o = gym_bins[t.compile_unit], orig_bins[t.compile_unit]
        if not o.ok or o.binary is None:
            _invalid(status_by_id[t.id], t, f"the original does not compile: {(o.errors or ['?'])[0]}")
            continue
        if not g.ok or g.binary is None:
            _invalid(status_by_id[t.id], t, f"the gym does not compile: {(g.errors or ['?'])[0]}")
            continue
        jobs += [(t, "oracle", o.binary), (t, "nop", g.binary)]

    workers = asyncio.Semaphore(run_slots(adapter))
    reporter(Event("phase_start", phase="run"))
    reporter(Event("task_start", phase="run", total=len(jobs)))

    async def one(task: Task, kind: str, binary: Path) -> tuple[Task, str, RunResult]:
        async with workers:
            res = await adapter.run(
                RunRequest(
                    binary=binary, test=task.test_name, seed=1, timeout_s=DEFAULT_RUN_TIMEOUT_S,
                    work_dir=logs / kind / task.id,
                )
            )
        reporter(Event("task_advance", phase="run", advance=1))
        return task, kind, res

    with timer.phase("run"):
        results = await asyncio.gather(*(one(t, k, b) for t, k, b in jobs))
    summary.runs = len(results)
    summary.oracle_runs = sum(1 for _, kind, _ in results if kind == "oracle")
    summary.nop_runs = sum(1 for _, kind, _ in results if kind == "nop")

    by_task: dict[str, dict[str, RunResult]] = {}
    for t, kind, res in results:
        by_task.setdefault(t.id, {})[kind] = res
    for t in tasks:
        runs = by_task.get(t.id)
        if not runs:
            continue
        status = status_by_id[t.id]
        unit = unit_by_name[t.compile_unit or ""]
        cov_files = [f for f in unchanged_files(unit, repo_root, gym_dir) if f not in set(t.files_to_write)]
        oracle_run, nop_run = runs["oracle"], runs["nop"]
        oracle_cov = oracle_run.coverage.restrict(cov_files) if oracle_run.coverage else None
        acceptance = derive_acceptance(
            oracle_cov, simulator, oracle_health=oracle_run.health, timeout_s=DEFAULT_RUN_TIMEOUT_S
        )
        acceptance.coverage_files = cov_files
        t.acceptance = acceptance
        o = oracle_result(oracle_run, t.test_name, acceptance)
        o.coverage = oracle_cov.as_percent_dict() if oracle_cov else {}
        t.oracle_result = o
        status.oracle = o
        n = oracle_result(nop_run, t.test_name, acceptance)
        status.nop = n
        if not o.passed:
            _invalid(status, t, f"the reference test fails: {o.reason}")
        elif n.passed:
            _invalid(status, t, "the gym passes this task without a solution (nop check)")
    return summary


def _invalid(status: TaskStatus, task: Task, reason: str) -> None:
    status.valid = False
    status.invalid_reason = status.invalid_reason or reason
    task.valid = False
    task.invalid_reason = task.invalid_reason or reason


async def revalidate(
    out_dir: Path, *, sim: str = "none", uvm_home: Path | None = None, reporter: Reporter = null_reporter,
    executor: Executor | None = None,
) -> BuildReport:
    """Re-run the static checks (and with a simulator the oracle/nop runs) on an existing gym.

    The cleaning is recomputed from the profile into a scratch folder (milliseconds) to know what was
    removed; the existing gym is then checked against it and against its build-time checksums.
    """
    import shutil
    import tempfile

    import orjson

    from dvsmith.analysis.ingest import refresh_profile
    from dvsmith.analysis.store import load_profile
    from dvsmith.gym.build import all_tasks, load_build
    from dvsmith.gym.clean import clean_repo
    from dvsmith.gym.plan import plan_tasks
    from dvsmith.gym.static_check import static_check
    from dvsmith.gym.writer import MANIFEST, tree_digest, write_task

    if sim not in ("verilator", "none"):
        raise UserInputError(f"unknown simulator '{sim}' (verilator|none)")
    out_dir = out_dir.resolve()
    report = load_build(out_dir)
    tasks = all_tasks(out_dir)
    gym_dir = out_dir / "gym"
    if not gym_dir.is_dir():
        raise UserInputError(f"not a dvsmith gym (no gym/ folder): {out_dir}")
    started = time.perf_counter()
    timer = PhaseTimer()
    with timer.phase("load"):
        profile, _, _ = refresh_profile(load_profile(report.profile, reporter=reporter), reporter=reporter)
    global_problems: list[str] = []
    with timer.phase("validate"):
        plans = [p for p in plan_tasks(profile) if p.id in {t.id for t in tasks}]
        scratch = Path(tempfile.mkdtemp(prefix="dvsmith-validate-"))
        try:
            (scratch / "gym").mkdir()
            (scratch / "oracle").mkdir()
            cleaning = clean_repo(Path(profile.repo_root), profile, plans, scratch / "gym", scratch / "oracle")
            cleaning.gym_dir, cleaning.oracle_dir = str(gym_dir), str(out_dir / "oracle")
            static = static_check(gym_dir, profile, plans, cleaning)
            expected = tree_digest(scratch / "gym")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        now = tree_digest(gym_dir)
        manifest_path = out_dir / MANIFEST
        recorded = orjson.loads(manifest_path.read_bytes()) if manifest_path.is_file() else None
        if recorded is None:
            global_problems.append(f"no {MANIFEST}: the gym's checksums are unknown")
        elif (changed := sorted(k for k in set(recorded) | set(now) if recorded.get(k) != now.get(k))):
            global_problems.append(f"gym/ changed since the build: {', '.join(changed[:5])}")
        if expected != now:
            stale = sorted(k for k in set(expected) | set(now) if expected.get(k) != now.get(k))
            global_problems.append(f"gym/ differs from a fresh cleaning of the repo: {', '.join(stale[:5])}")
    by_task = {r.task_id: r for r in static.tasks}
    statuses: list[TaskStatus] = []
    for t in tasks:
        st = by_task.get(t.id)
        task_problems = list(st.problems) if st else [f"test {t.test_name} is no longer a task of the profile"]
        statuses.append(
            TaskStatus(
                id=t.id, test_name=t.test_name, metadata_source=t.metadata_source,
                static_ok=not task_problems, static_problems=task_problems, valid=not task_problems,
                invalid_reason=("static: " + task_problems[0]) if task_problems else None,
            )
        )
    report.static_problems = [*static.problems, *global_problems]
    if sim != "none":
        report.sim = await simulate_tasks(
            repo_root=Path(profile.repo_root), gym_dir=gym_dir, profile=profile, tasks=tasks, statuses=statuses,
            simulator=sim, uvm_home=uvm_home, timer=timer, reporter=reporter, logs_dir=out_dir / "logs",
            units=report.compile_units, executor=executor,
        )
        for t in tasks:
            write_task(out_dir, t)
    report.tasks = statuses
    report.phases = timer.as_dict()
    report.wall_s = round(time.perf_counter() - started, 4)
    report.ok = all(s.valid for s in statuses) and not report.static_problems
    return report
