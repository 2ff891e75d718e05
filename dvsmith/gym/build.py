"""`dvsmith build`: profile -> tasks with metadata -> clean gym -> validation -> build.json.

Phases (timed): load, plan, metadata, clean, write, validate, then with a simulator compile and run,
then report. Everything is written into a temp folder beside OUT and renamed at the end, so an interrupted
build leaves no half-written output and the previous OUT stays intact until the new one is complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from dvsmith import __version__
from dvsmith.ai.metadata import MetadataRequest, MetadataResult, generate_metadata
from dvsmith.ai.settings import AISettings
from dvsmith.analysis.ingest import ingest, load_profile, refresh_profile
from dvsmith.analysis.profile import Profile
from dvsmith.errors import UserInputError
from dvsmith.events import Event, Reporter, null_reporter
from dvsmith.gym.clean import clean_repo
from dvsmith.gym.clean_models import CleanResult, TaskCleaning
from dvsmith.gym.models import BuildReport, Task, TaskStatus
from dvsmith.gym.outdir import check_out, clean_stale_temps, make_temp_dir, swap_into_place
from dvsmith.gym.plan import TaskPlan, plan_tasks
from dvsmith.gym.simprep import prepare_original, rewrite_gym, rewrite_settings, uvm_compat_notes
from dvsmith.gym.spec import TaskSpec
from dvsmith.gym.static_check import static_check
from dvsmith.gym.taskfacts import apply_facts, extract_specs, facts_lines, leave_out_trivial
from dvsmith.gym.trivial import leave_out_sim_trivial
from dvsmith.gym.writer import content_hash, write_manifest, write_task
from dvsmith.metrics import PhaseTimer
from dvsmith.paths import atomic_write_json

SimChoice = Literal["verilator", "none"]


class BuildOptions(BaseModel):
    name: str | None = None
    out: Path | None = None
    concurrency: int = 8
    provider: str | None = None
    model: str | None = None
    sim: SimChoice = "none"
    uvm_home: Path | None = None
    use_cache: bool = True
    log_bodies: bool = False
    force: bool = False  # replace an OUT that is not a previous build (never the repo or an ancestor of it)
    ai_settings: AISettings | None = None
    keep_trivial: bool = False  # keep tasks whose reference is an empty subclass of its base (flagged)
    executor: Any = None  # a dvsmith.sim.executor.Executor for the simulations (None: this machine)
    units: list[str] = Field(default_factory=list)  # only the tests of these compile units become tasks


def _outside_units(profile: Profile, units: list[str]) -> set[tuple[str, str]]:
    """The tests (name, file) that ``--unit`` leaves out: they stay in the gym as code, with no task."""
    if not units:
        return set()
    known = {u.name for u in profile.compile_units}
    variants = {u.name: u.variant_of for u in profile.compile_units if u.variant_of}
    unknown = [u for u in units if u not in known]
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        raise UserInputError(f"no compile unit named {', '.join(unknown)} in profile '{profile.name}' "
                             f"(its units: {listed})")  # fmt: skip
    wanted = set(units)
    return {
        (t.name, t.file)
        for t in profile.tests
        if t.compile_unit not in wanted and variants.get(t.compile_unit or "") not in wanted
    }


def default_out_dir(profile_name: str) -> Path:
    return Path.cwd() / "dvsmith_out" / profile_name


def _load(opts: BuildOptions, reporter: Reporter) -> tuple[Profile, list[str]]:
    profile = load_profile(opts.name, reporter=reporter)
    repo = Path(profile.repo_root)
    if not repo.is_dir():
        raise UserInputError(f"the repository of profile '{profile.name}' is gone: {repo}")
    if not opts.use_cache:
        profile, _ = ingest(repo, name=profile.name, use_cache=False, reporter=reporter)
        return profile, ["(all: --no-cache)"]
    profile, _, changed = refresh_profile(profile, reporter=reporter)
    if changed:
        reporter(Event("info", phase="load", message=f"{len(changed)} file(s) changed since ingest: re-analysed"))
    return profile, changed


def _assemble_task(
    plan: TaskPlan, meta: MetadataResult, cleaning: TaskCleaning, oracle_root: Path,
    spec: TaskSpec | None = None, profile: Profile | None = None, gym_dir: Path | None = None,
) -> Task:
    test = plan.test
    select = f"+UVM_TESTNAME={test.name}"
    md = meta.metadata
    task = Task(
        id=plan.id,
        test_name=test.name,
        title=md.title,
        difficulty=md.difficulty,
        difficulty_reason=md.difficulty_reason,
        description=md.description,
        goal=md.goal,
        hints=list(md.hints),
        covergroups=list(md.covergroups),
        sequences=list(md.sequences),
        files_to_write=list(cleaning.files_to_write),
        test_select=select,
        metadata_source=meta.source,
        content_hash=content_hash(oracle_root / plan.id, cleaning.oracle_files, select),
        compile_unit=test.compile_unit,
        test_file=test.file,
        base_class=test.base_class,
        removed_classes=[c.name for c in plan.removed_classes],
        removed_files=list(cleaning.removed_files),
        removed_references=[r.model_dump(mode="json") for r in cleaning.removed_references],
        oracle_files=list(cleaning.oracle_files),
        requires=list(cleaning.requires),
        plusargs=list(test.plusargs),
    )
    if spec is not None and profile is not None and gym_dir is not None:
        apply_facts(task, spec, profile, Path(profile.repo_root), gym_dir)
    return task


async def run_build(opts: BuildOptions, reporter: Reporter = null_reporter) -> BuildReport:
    started = time.perf_counter()
    timer = PhaseTimer()

    reporter(Event("phase_start", phase="load"))
    with timer.phase("load"):
        if opts.sim != "none" and getattr(opts.executor, "name", "local") == "local":
            # fail fast, before any AI call, when the simulator cannot run here (a cluster checks its own)
            from dvsmith.sim.toolchain import resolve_toolchain

            resolve_toolchain(opts.uvm_home)
        profile, changed = _load(opts, reporter)
    repo_root = Path(profile.repo_root)

    with timer.phase("plan"):
        plans = plan_tasks(profile, exclude=_outside_units(profile, opts.units))
        specs = extract_specs(profile, repo_root, plans)
        plans, specs, skipped = leave_out_trivial(profile, repo_root, plans, specs, keep=opts.keep_trivial)
    for sk in skipped:
        reporter(Event("info", phase="plan", message=f"left out trivial task {sk.id} (--keep-trivial keeps it)"))
    if not plans:
        extra = f" ({len(skipped)} trivial task(s) left out: --keep-trivial keeps them)" if skipped else ""
        raise UserInputError(
            f"profile '{profile.name}' has no task to build: every test is a base test or outside the build{extra}"
        )

    plan_out = check_out(opts.out or default_out_dir(profile.name), repo_root, force=opts.force)
    out = plan_out.out
    if plan_out.replaces == "forced":
        reporter(Event("warning", phase="load", message=f"--force: replacing {out}, which {plan_out.what}"))
    stale = clean_stale_temps(out)
    if stale:
        reporter(
            Event(
                "warning",
                phase="load",
                message=f"removed {len(stale)} temp folder(s) left by an interrupted build: {', '.join(stale)}",
            )
        )
    tmp = make_temp_dir(out)
    try:
        report = await _build_into(tmp, out, opts, profile, changed, plans, timer, reporter, specs)
        report.skipped_trivial = [*(sk.model_dump() for sk in skipped), *report.skipped_trivial]
        report.wall_s = round(time.perf_counter() - started, 4)
        report.stale_temps_removed = stale
        report.out_replaced = plan_out.replaces
        with timer.phase("report"):
            report.phases = timer.as_dict()
            atomic_write_json(tmp / "build.json", report.model_dump(mode="json"))
            swap_into_place(tmp, out)
        report.phases = timer.as_dict()
        report.wall_s = round(time.perf_counter() - started, 4)
        atomic_write_json(out / "build.json", report.model_dump(mode="json"))
        return report
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


async def _settle(task: asyncio.Future[Any]) -> None:
    """Wait until ``task`` (a thread's work) has finished, through any cancellation; its outcome is dropped."""
    while not task.done():
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.shield(task)
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not warn about it


async def _build_into(
    tmp: Path,
    out: Path,
    opts: BuildOptions,
    profile: Profile,
    changed: list[str],
    plans: list[TaskPlan],
    timer: PhaseTimer,
    reporter: Reporter,
    specs: dict[str, TaskSpec] | None = None,
) -> BuildReport:
    repo_root = Path(profile.repo_root)
    specs = specs if specs is not None else extract_specs(profile, repo_root, plans)
    gym_dir, oracle_dir = tmp / "gym", tmp / "oracle"

    # Cleaning does not depend on the metadata answers: it runs in a thread while the calls are in flight
    # (its progress events are handed to the event loop's thread).
    loop = asyncio.get_running_loop()

    def thread_reporter(event: Event) -> None:
        loop.call_soon_threadsafe(reporter, event)

    def clean() -> tuple[CleanResult, list[Any]]:
        with timer.phase("clean"):
            gym_dir.mkdir()
            oracle_dir.mkdir()
            result = clean_repo(repo_root, profile, plans, gym_dir, oracle_dir, reporter=thread_reporter)
            return result, rewrite_gym(gym_dir, profile)  # Verilator compatibility rewrites (simprep)

    reporter(Event("phase_start", phase="metadata"))
    reporter(Event("phase_start", phase="clean"))
    cleaner = asyncio.ensure_future(asyncio.to_thread(clean))
    try:
        with timer.phase("metadata"):
            requests = [
                MetadataRequest(
                    task_id=p.id,
                    test_name=p.test.name,
                    test_file=p.test.file,
                    sequences=sorted(
                        {*p.test.sequences, *(c.name for c in p.removed_classes if c.name != p.test.name)}
                    ),
                    facts=facts_lines(specs[p.id]),
                )
                for p in plans
            ]
            results, ai_stats = await generate_metadata(
                profile,
                repo_root,
                requests,
                provider=opts.provider,
                model=opts.model,
                concurrency=opts.concurrency,
                use_cache=opts.use_cache,
                log_bodies=opts.log_bodies,
                reporter=reporter,
                settings=opts.ai_settings,
            )
        cleaning, gym_rewrites = await cleaner
    except BaseException:
        await _settle(cleaner)  # the thread writes into the temp folder the caller removes next
        raise
    by_task = {c.task_id: c for c in cleaning.tasks}

    with timer.phase("write"):
        tasks = [
            _assemble_task(p, results[p.id], by_task[p.id], oracle_dir, specs[p.id], profile, gym_dir) for p in plans
        ]
        unit_files = {u.name: set(u.files) | set(u.sources) for u in profile.compile_units}
        for t in tasks:
            mine = unit_files.get(t.compile_unit or "", set())
            t.rewrites = [r.model_dump(mode="json") for r in gym_rewrites if r.file in mine]
            write_task(tmp, t)

    reporter(Event("phase_start", phase="validate"))
    with timer.phase("validate"):
        static = static_check(gym_dir, profile, plans, cleaning)
    static_by_task = {r.task_id: r for r in static.tasks}

    statuses: list[TaskStatus] = []
    for t in tasks:
        st = static_by_task.get(t.id)
        problems = list(st.problems) if st else []
        statuses.append(
            TaskStatus(
                id=t.id,
                test_name=t.test_name,
                metadata_source=t.metadata_source,
                metadata_fell_back=results[t.id].fell_back,
                static_ok=not problems,
                static_problems=problems,
                valid=not problems,
                invalid_reason=("static: " + problems[0]) if problems else None,
            )
        )

    report = BuildReport(
        dvsmith_version=__version__,
        profile=profile.name,
        repo_root=str(repo_root),
        profile_fingerprint=profile.fingerprint,
        profile_refreshed=changed,
        out_dir=str(out),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        options={
            "concurrency": opts.concurrency,
            "provider": ai_stats.provider,
            "model": ai_stats.model,
            "sim": opts.sim,
            "no_cache": not opts.use_cache,
        },
        ai=ai_stats.model_dump(mode="json"),
        tasks=statuses,
        static_problems=list(static.problems),
        compile_units=list(profile.compile_units),
        uvm_flavours={u.name: u.uvm_flavour for u in profile.compile_units},
        uvm_compat=uvm_compat_notes(profile),
        rewrite_settings=rewrite_settings(profile),
    )

    if opts.sim != "none":
        from dvsmith.gym.validate import simulate_tasks

        prepared = prepare_original(repo_root, profile)
        report.rewrites = [r.model_dump(mode="json") for r in prepared.rewrites]
        sim_summary = await simulate_tasks(
            repo_root=Path(prepared.original_root),
            gym_dir=gym_dir,
            profile=profile,
            tasks=tasks,
            statuses=statuses,
            simulator=opts.sim,
            uvm_home=opts.uvm_home,
            timer=timer,
            reporter=reporter,
            logs_dir=tmp / "logs",
            use_cache=opts.use_cache,
            executor=opts.executor,
        )
        report.sim = sim_summary
        # logs were written under the temp folder that becomes OUT: record their final paths
        logged = [*(s.oracle for s in statuses), *(s.nop for s in statuses), *(s.base for s in statuses)]
        for result in [*logged, *(t.oracle_result for t in tasks)]:
            if result is not None and result.log:
                result.log = result.log.replace(str(tmp), str(out), 1)
        for t in tasks:  # acceptance and oracle results were filled in by simulate_tasks
            write_task(tmp, t)
        if not opts.keep_trivial:  # the base test alone reaches these tasks' acceptance: left out
            left = leave_out_sim_trivial(tmp, tasks, {p.id: p.test.file for p in plans})
            report.skipped_trivial += [sk.model_dump() for sk in left]
            gone = {sk.id for sk in left}
            statuses[:] = [st for st in statuses if st.id not in gone]
            report.tasks = [st for st in report.tasks if st.id not in gone]
            tasks[:] = [t for t in tasks if t.id not in gone]

    with timer.phase("write"):
        write_manifest(tmp)
    report.ok = all(s.valid for s in statuses) and not static.problems
    return report
