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
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from dvsmith import paths
from dvsmith.analysis.profile import CompileUnit, Profile
from dvsmith.errors import UserInputError
from dvsmith.events import Event, Reporter, null_reporter
from dvsmith.gym.gymfiles import all_tasks, load_build
from dvsmith.gym.health import health_from_probe, probe_acceptance
from dvsmith.gym.models import Acceptance, BuildReport, OracleResult, SimSummary, Task, TaskStatus
from dvsmith.gym.plan import slug
from dvsmith.gym.trivial import apply_base_run, base_test_for
from dvsmith.metrics import PhaseTimer
from dvsmith.paths import sha256_file
from dvsmith.sim.base import CompileRequest, CompileResult, RunRequest, RunResult, get_adapter
from dvsmith.sim.coverage import CoverageSummary
from dvsmith.sim.covergroups.results import apply_functional_targets, covergroup_report
from dvsmith.sim.executor import Executor, bind, run_slots
from dvsmith.sim.points import Key, point_set, read_points_file, summarize_on, write_point_set
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
    acc = acceptance or Acceptance()
    reasons = health_from_probe(run, acc, test)
    reasons += [r for r in health_reasons(h, acc, test, exit_code=run.exit_code) if r not in reasons]
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
            "verilator": tc.verilator.version,
            "uvm_home": str(tc.uvm_home),
            "g++": tc.gxx_version,
            "ccache": "yes" if tc.ccache else "no",
        }

    orphan = [t for t in tasks if t.compile_unit not in unit_by_name]
    for t in orphan:
        _invalid(status_by_id[t.id], t, f"no compile unit for test {t.test_name} (not reached from any build root)")
    needed = sorted({t.compile_unit for t in tasks if t.compile_unit in unit_by_name})

    reporter(Event("phase_start", phase="compile"))
    reporter(Event("task_start", phase="compile", total=2 * len(needed)))
    base_names, no_base = _base_tests(tasks, profile)
    reporter(Event("phase_start", phase="run"))
    reporter(Event("task_start", phase="run", total=sum(
        2 + int(t.id in base_names) for t in tasks if t.compile_unit in unit_by_name)))  # fmt: skip
    workers = asyncio.Semaphore(run_slots(adapter))
    window = _Window()
    compile_failed: set[str] = set()
    fcov_unsupported: dict[str, list] = {}  # unit -> covergroups of the original the lowering left out

    async def compile_one(label: str, name: str, root: Path, u: CompileUnit) -> CompileResult:
        def step(text: str) -> None:
            reporter(Event("info", phase="compile", data={"step": f"{label} {name}: {text}"}))

        with window.span("compile"):
            res = await adapter.compile(
                CompileRequest(repo_root=root, unit=u, work_dir=logs / "compile" / f"{label}-{name}",
                               use_cache=use_cache),
                progress=step,
            )  # fmt: skip
        key = f"{label}:{name}"
        summary.compile_s[key] = round(res.seconds, 3)
        summary.compile_ok[key] = res.ok
        if not res.ok:
            summary.compile_errors[key] = res.errors[:20]
            summary.compile_causes[key] = list(res.diagnosis)
            summary.compile_diagnosis[key] = [c["message"] for c in res.diagnosis]
        summary.compile_commands[key] = list(res.command)
        if res.coverage_flags:
            summary.compile_coverage_flags[key] = list(res.coverage_flags)
        if res.retried_without_fsm:
            summary.compile_retried_without_fsm.append(key)
        if res.hdl_backdoor:
            summary.compile_hdl_backdoor.append(key)
        if res.uvm_dpi:
            summary.compile_uvm_dpi.append(key)
        if res.cxx:
            summary.compile_cxx[key] = res.cxx
        if res.retried_with_gxx:
            summary.compile_retried_with_gxx.append(key)
        summary.compiles += 1
        summary.compiles_cached += int(res.cached)
        if res.fcov_lowered or res.fcov_unsupported:
            summary.covergroups[key] = covergroup_report(res.fcov_lowered, res.fcov_unsupported)
        if label == "original":
            fcov_unsupported[name] = list(res.fcov_unsupported)
        reporter(Event("task_advance", phase="compile", advance=1))
        return res

    # the nop and trivial runs of a task wait for its oracle run: when the reference hangs until the run
    # timeout, they are not run (the task is invalid whatever they give, and each would hang as long)
    oracle_of: dict[str, asyncio.Future[RunResult | None]] = {
        t.id: asyncio.get_running_loop().create_future() for t in tasks if t.compile_unit in unit_by_name
    }

    async def run_one(task: Task, kind: str, binary: Path) -> tuple[Task, str, RunResult | None]:
        if kind != "oracle":
            ref = await oracle_of[task.id]
            if ref is None or ref.timed_out:
                reporter(Event("task_advance", phase="run", advance=1))
                return task, kind, None
        async with workers:
            test = base_names[task.id] if kind == "base" else task.test_name
            with window.span("run"):
                res = await adapter.run(
                    RunRequest(
                        binary=binary, test=test, seed=1, timeout_s=DEFAULT_RUN_TIMEOUT_S,
                        work_dir=logs / kind / task.id, plusargs=list(task.plusargs),
                    )
                )  # fmt: skip
        reporter(Event("task_advance", phase="run", advance=1))
        if kind == "oracle" and not oracle_of[task.id].done():
            oracle_of[task.id].set_result(res)
        return task, kind, res

    async def one_binary(
        label: str, name: str, root: Path, u: CompileUnit
    ) -> list[tuple[Task, str, RunResult | None]]:
        """Compile one tree and run its tests as soon as its binary exists (the oracle runs of a unit do not
        wait for the gym's compile, nor for other units)."""
        res = await compile_one(label, name, root, u)
        kind = "oracle" if label == "original" else "nop"
        mine = [t for t in tasks if t.compile_unit == name]
        if not res.ok or res.binary is None:
            what = "original" if label == "original" else "gym"
            why = res.diagnosis[0]["message"] if res.diagnosis else (res.errors or ["?"])[0]
            for t in mine:
                compile_failed.add(t.id)
                _invalid(status_by_id[t.id], t, f"the {what} does not compile: {why}")
                if label == "original" and not oracle_of[t.id].done():
                    oracle_of[t.id].set_result(None)
            return []
        runs = [run_one(t, kind, res.binary) for t in mine]
        if label == "original":  # the trivial check: each task's base test on the original binary
            runs += [run_one(t, "base", res.binary) for t in mine if t.id in base_names]
        return list(await asyncio.gather(*runs))

    # Originals first: their oracle runs can start while the gyms compile. How many compiles run at once
    # is the adapter's business (memory and cores, see sim/verilator.py).
    pipelines = [one_binary("original", name, repo_root, unit_by_name[name]) for name in needed]
    pipelines += [one_binary("gym", name, gym_dir, gym_unit(unit_by_name[name], gym_dir)) for name in needed]
    batches = await asyncio.gather(*pipelines)
    timer.phases["compile"] = timer.phases.get("compile", 0.0) + window.wall("compile")
    timer.phases["run"] = timer.phases.get("run", 0.0) + window.wall("run")
    not_run = {(t.id, kind) for batch in batches for t, kind, res in batch if res is None}
    results = [(t, k, r) for batch in batches for t, k, r in batch if t.id not in compile_failed and r is not None]
    summary.runs = len(results)
    summary.oracle_runs = sum(1 for _, kind, _ in results if kind == "oracle")
    summary.nop_runs = sum(1 for _, kind, _ in results if kind == "nop")
    summary.base_runs = sum(1 for _, kind, _ in results if kind == "base")

    by_task: dict[str, dict[str, RunResult]] = {}
    for t, kind, res in results:
        by_task.setdefault(t.id, {})[kind] = res
    point_sets = _write_point_sets(gym_dir.parent, unit_by_name, [(t, r) for t, k, r in results if k == "oracle"])
    for t in tasks:
        runs = by_task.get(t.id)
        if not runs:
            continue
        status = status_by_id[t.id]
        unit = unit_by_name[t.compile_unit or ""]
        cov_files = [f for f in unchanged_files(unit, repo_root, gym_dir) if f not in set(t.files_to_write)]
        oracle_run, nop_run = runs["oracle"], runs.get("nop")
        points = point_sets.get(t.compile_unit or "")
        if points is not None and oracle_run.coverage_file is not None:  # scored on the original's points
            table = points[2]
            hits = read_points_file(oracle_run.coverage_file, {k[0] for k in table})
            oracle_cov: CoverageSummary | None = summarize_on(hits, table, cov_files)
        else:
            oracle_cov = oracle_run.coverage.restrict(cov_files) if oracle_run.coverage else None
        acceptance = derive_acceptance(
            oracle_cov, simulator, oracle_health=oracle_run.health, timeout_s=DEFAULT_RUN_TIMEOUT_S
        )
        acceptance.coverage_files = cov_files
        probe_acceptance(acceptance, oracle_run, t)
        # functional coverage: targets per lowered covergroup from the oracle's run (dvsmith.sim.covergroups)
        apply_functional_targets(acceptance, oracle_run.functional, fcov_unsupported.get(t.compile_unit or "", []))
        if points is not None:
            acceptance.coverage_points, acceptance.coverage_points_sha256 = points[0], points[1]
        t.acceptance = acceptance
        if t.id in no_base:
            acceptance.notes.append(f"trivial check not run: {no_base[t.id]}")
        o = oracle_result(oracle_run, t.test_name, acceptance)
        o.coverage = oracle_cov.as_percent_dict() if oracle_cov else {}
        t.oracle_result = o
        status.oracle = o
        n = oracle_result(nop_run, t.test_name, acceptance) if nop_run is not None else None
        status.nop = n
        base_run = runs.get("base")
        if base_run is not None:  # the trivial check: does the base test alone reach this acceptance?
            name = base_names[t.id]
            apply_base_run(
                t, status, base_test=name, base_health=base_run.health,
                base_coverage=base_run.coverage.restrict(cov_files) if base_run.coverage else None,
                base_exit_code=base_run.exit_code, oracle_coverage=oracle_cov,
                base_result=oracle_result(base_run, name, acceptance),
            )
        if not o.passed:
            hint = _four_state_hint(oracle_run, unit, repo_root)
            skipped = " (its nop and trivial checks were not run)" if (t.id, "nop") in not_run else ""
            _invalid(status, t, f"the reference test fails: {o.reason}" + (f" ({hint})" if hint else "") + skipped)
        elif n is not None and n.passed:
            _invalid(status, t, "the gym passes this task without a solution (nop check)")
    return summary


class _Window:
    """Wall time during which at least one span of a kind was open (compiles and runs overlap each other,
    so a phase's time is the union of its spans, not their sum)."""

    def __init__(self) -> None:
        self._open: dict[str, int] = {}
        self._since: dict[str, float] = {}
        self._total: dict[str, float] = {}

    @contextlib.contextmanager
    def span(self, kind: str) -> Iterator[None]:
        if self._open.get(kind, 0) == 0:
            self._since[kind] = time.perf_counter()
        self._open[kind] = self._open.get(kind, 0) + 1
        try:
            yield
        finally:
            self._open[kind] -= 1
            if self._open[kind] == 0:
                self._total[kind] = self._total.get(kind, 0.0) + time.perf_counter() - self._since[kind]

    def wall(self, kind: str) -> float:
        return self._total.get(kind, 0.0)
def _write_point_sets(
    out_dir: Path, units: dict[str, CompileUnit], oracle_runs: list[tuple[Task, RunResult]]
) -> dict[str, tuple[str, str, dict[Key, frozenset[str]]]]:
    """The original's coverage points per compile unit (every point of its compile, hit or not, from its
    oracle runs), written to ``OUT/coverage/<unit>.points.json``: unit -> (OUT-relative path, sha256,
    table). Eval scores a candidate's coverage on these points only (``dvsmith.sim.points``)."""
    seen: dict[str, set[tuple[Key, str]]] = {}
    for task, run in oracle_runs:
        unit = units.get(task.compile_unit or "")
        if unit is None or run.coverage_file is None or not run.coverage_file.is_file():
            continue
        known = set(unit.files) | set(unit.sources)
        seen.setdefault(unit.name, set()).update(read_points_file(run.coverage_file, known))
    out: dict[str, tuple[str, str, dict[Key, frozenset[str]]]] = {}
    for name, keys in sorted(seen.items()):
        rel = f"coverage/{slug(name) or 'unit'}.points.json"
        ps = point_set(keys, name)
        out[name] = (rel, write_point_set(out_dir / rel, ps), ps.table())
    return out


def _base_tests(tasks: list[Task], profile: Profile) -> tuple[dict[str, str], dict[str, str]]:
    """(task id -> the base test to run on the original for the trivial check, task id -> why none)."""
    out: dict[str, str] = {}
    why_not: dict[str, str] = {}
    for t in tasks:
        info = next((x for x in profile.tests if x.name == t.test_name and x.file == t.test_file), None)
        if info is None:
            why_not[t.id] = f"test {t.test_name} is not in the profile"
            continue
        name, why = base_test_for(info, profile)
        if name is None:
            why_not[t.id] = why
        else:
            out[t.id] = name
    return out, why_not


def _four_state_hint(run: RunResult, unit: CompileUnit, repo_root: Path) -> str | None:
    """Why a reference run's assertion may fail under Verilator only (the check reads X/Z values)."""
    errors = run.health.sim_errors
    if not errors:
        return None
    from dvsmith.sim.diagnose import run_failure_hint

    files: dict[str, Path] = {}
    for rel in unit.files:
        with contextlib.suppress(ValueError):
            files[rel] = paths.confine(repo_root, rel)
    return run_failure_hint(errors, files)


def _invalid(status: TaskStatus, task: Task, reason: str) -> None:
    status.valid = False
    status.invalid_reason = status.invalid_reason or reason
    task.valid = False
    task.invalid_reason = task.invalid_reason or reason


def _read_manifest(path: Path) -> dict[str, str]:
    """The gym's recorded checksums; a damaged file is bad input (exit 2), not a crash."""
    import orjson

    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise UserInputError(f"corrupt {path.name} in {path.parent}: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise UserInputError(f"corrupt {path.name} in {path.parent}: not a map of file -> checksum")
    return data


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

    from dvsmith.analysis.ingest import load_profile, refresh_profile
    from dvsmith.gym.clean import clean_repo
    from dvsmith.gym.plan import plan_tasks
    from dvsmith.gym.simprep import prepare_original, rewrite_gym
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
        # tasks the build left out as trivial: static ones were never planned (their test stays in gym/),
        # simulation ones were planned and cleaned, then their task folder was dropped
        static_skip = {(s["test"], s.get("file", "")) for s in report.skipped_trivial if s.get("when") != "simulation"}
        sim_skip = {s["id"] for s in report.skipped_trivial if s.get("when") == "simulation"}
        wanted = {t.id for t in tasks} | sim_skip
        plans = [p for p in plan_tasks(profile, exclude=static_skip) if p.id in wanted]
        scratch = Path(tempfile.mkdtemp(prefix="dvsmith-validate-"))
        try:
            (scratch / "gym").mkdir()
            (scratch / "oracle").mkdir()
            cleaning = clean_repo(Path(profile.repo_root), profile, plans, scratch / "gym", scratch / "oracle")
            rewrite_gym(scratch / "gym", profile)  # the build rewrote the gym the same way
            cleaning.gym_dir, cleaning.oracle_dir = str(gym_dir), str(out_dir / "oracle")
            static = static_check(gym_dir, profile, plans, cleaning)
            expected = tree_digest(scratch / "gym")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        now = tree_digest(gym_dir)
        manifest_path = out_dir / MANIFEST
        recorded = _read_manifest(manifest_path) if manifest_path.is_file() else None
        if recorded is None:
            global_problems.append(f"no {MANIFEST}: the gym's checksums are unknown")
        elif changed := sorted(k for k in set(recorded) | set(now) if recorded.get(k) != now.get(k)):
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
                id=t.id,
                test_name=t.test_name,
                metadata_source=t.metadata_source,
                static_ok=not task_problems,
                static_problems=task_problems,
                valid=not task_problems,
                invalid_reason=("static: " + task_problems[0]) if task_problems else None,
            )
        )
    report.static_problems = [*static.problems, *global_problems]
    if sim != "none":
        prepared = prepare_original(Path(profile.repo_root), profile)
        report.rewrites = [r.model_dump(mode="json") for r in prepared.rewrites]
        report.sim = await simulate_tasks(
            repo_root=Path(prepared.original_root), gym_dir=gym_dir, profile=profile, tasks=tasks, statuses=statuses,
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
