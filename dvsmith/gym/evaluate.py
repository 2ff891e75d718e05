"""`dvsmith eval`: grade a candidate on a scratch copy of the gym (SPEC section 4).

1. The gym must be as the build left it (checked against ``gym_manifest.json``); it is never written.
2. The solution is mapped onto the task's ``files_to_write``; a solution touching any other file (DUT,
   scoreboard, monitors, base test, filelists) scores 0 and names the file, without compiling.
3. ``gym/`` is copied to a scratch folder, the solution files and the task's removed references
   (include lines, filelist entries, test-list words) are put in place, the unit is compiled (a compile
   of identical input is reused from the compile cache), the task's test runs once per seed.
4. Health (report-server summary + simulator status) is a gate; coverage on the files the candidate does
   not write is scored against the task's targets (see the README, "Scoring").
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import orjson
from pydantic import BaseModel, Field

from dvsmith.analysis.profile import CompileUnit
from dvsmith.errors import ToolchainError, UserInputError
from dvsmith.events import Event, Reporter, null_reporter
from dvsmith.gym.allowlist import check_solution, uvm_sources
from dvsmith.gym.gymfiles import load_build, load_task
from dvsmith.gym.health import apply_probe
from dvsmith.gym.models import BuildReport, Task
from dvsmith.gym.restore import CombineConflict, merge_versions, restore_combined, restore_for_eval
from dvsmith.gym.simprep import rewrite_solution
from dvsmith.gym.solution import MappedSolution, map_solution
from dvsmith.gym.validate import gym_unit
from dvsmith.gym.writer import MANIFEST, tree_digest
from dvsmith.paths import cache_dir, confine
from dvsmith.sim.base import CompileRequest, CompileResult, RunRequest, RunResult, SimulatorAdapter, get_adapter
from dvsmith.sim.coverage import CoverageSummary
from dvsmith.sim.covergroups.results import add_functional
from dvsmith.sim.executor import Executor, bind, run_slots
from dvsmith.sim.points import Key, load_point_set, read_points_file, summarize_on
from dvsmith.sim.scoring import score


class EvalJob(BaseModel):
    task: str
    solution: list[Path]


class SeedRun(BaseModel):
    seed: int
    score: float
    passed: bool
    reasons: list[str] = Field(default_factory=list)
    uvm_errors: int | None = None
    uvm_fatals: int | None = None
    started: bool = False
    coverage: dict[str, float] = Field(default_factory=dict)
    sim_time: str | None = None
    wall_s: float = 0.0
    log: str | None = None
    sandbox: str = "none"  # how the run was confined: bwrap | unshare | none (dvsmith.sim.sandbox)


class EvalResult(BaseModel):
    task: str
    test_name: str
    compiled: bool = False
    ran: bool = False
    started: bool = False
    uvm_errors: int | None = None
    uvm_fatals: int | None = None
    uvm_warnings: int | None = None
    coverage: dict[str, float] = Field(default_factory=dict)
    coverage_detail: dict[str, dict[str, object]] = Field(default_factory=dict)
    score: float = 0.0
    passed: bool = False
    reasons: list[str] = Field(default_factory=list)
    protected_edits: list[str] = Field(default_factory=list)
    seed: int = 1
    seeds: list[SeedRun] = Field(default_factory=list)
    score_mean: float = 0.0
    score_spread: float = 0.0  # max - min over seeds
    score_stdev: float = 0.0
    log: str | None = None
    compile_log: str | None = None
    compile_cached: bool = False
    compile_s: float = 0.0
    sim_time: str | None = None
    wall_s: float = 0.0
    work_dir: str | None = None
    combined_with: list[str] = Field(default_factory=list)  # --combine: tasks compiled into the same binary
    # Verilator rewrites made on the solution's files before compiling, as the build made them on the gym
    rewrites: list[dict[str, object]] = Field(default_factory=list)  # {name, file, line, what}


def read_batch(path: Path) -> list[EvalJob]:
    """JSONL: one ``{"task": ID, "solution": [paths]}`` per line; relative paths are relative to the file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserInputError(f"cannot read batch file {path}: {exc}") from None
    jobs: list[EvalJob] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = orjson.loads(line)
            sol = doc["solution"]
            sols = [sol] if isinstance(sol, str) else list(sol)
            jobs.append(EvalJob(task=str(doc["task"]), solution=[(path.parent / s) for s in sols]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise UserInputError(f'{path}:{n}: not a {{"task", "solution"}} JSON line ({exc})') from None
    return jobs


def check_gym_intact(out_dir: Path) -> dict[str, str]:
    """The gym's files must match the checksums taken at build time."""
    manifest_path = out_dir / MANIFEST
    try:
        manifest: dict[str, str] = orjson.loads(manifest_path.read_bytes())
    except FileNotFoundError:
        raise UserInputError(f"not a dvsmith gym (no {MANIFEST}): {out_dir}") from None
    except orjson.JSONDecodeError:
        raise UserInputError(f"corrupt {MANIFEST} in {out_dir}: rebuild the gym") from None
    now = tree_digest(out_dir / "gym")
    changed = sorted(k for k in set(manifest) | set(now) if manifest.get(k) != now.get(k))
    if changed:
        raise UserInputError(f"gym/ changed since it was built ({', '.join(changed[:3])}): rebuild or restore it")
    return manifest


async def evaluate_many(
    gym_out: Path,
    jobs: list[EvalJob],
    *,
    seed: int = 1,
    seeds: int = 1,
    uvm_home: Path | None = None,
    reporter: Reporter = null_reporter,
    combine: bool = False,
    executor: Executor | None = None,
) -> list[EvalResult]:
    """Evaluate every job in parallel; each distinct solution is compiled once (the compile cache).

    With ``combine``, the solutions of different tasks of one compile unit are put into one tree and
    compiled once (see the README: faster, but the solutions share a binary); a group whose files
    cannot be merged, or whose combined compile fails, is evaluated one solution at a time.
    """
    out_dir = gym_out.resolve()
    if not out_dir.is_dir():
        raise UserInputError(f"gym folder not found: {gym_out}")
    report = load_build(out_dir)
    manifest = check_gym_intact(out_dir)
    tasks = [load_task(out_dir, j.task) for j in jobs]  # unknown ids fail before any work
    mapped = [map_solution(j.solution, t.files_to_write, manifest) for t, j in zip(tasks, jobs, strict=True)]
    simulator = str(report.options.get("sim") or "verilator")
    adapter = bind(get_adapter("verilator" if simulator == "none" else simulator, uvm_home=uvm_home), executor)
    ev = _Evaluator(out_dir, report, adapter, seed=seed, seeds=seeds, uvm_home=uvm_home)
    reporter(Event("task_start", phase="eval", total=len(jobs)))
    results: list[EvalResult | None] = [ev.screen(t, m) for t, m in zip(tasks, mapped, strict=True)]
    pending = [i for i, r in enumerate(results) if r is None]
    for i, r in enumerate(results):
        if r is not None:  # rejected without compiling
            reporter(Event("task_advance", phase="eval", advance=1, data={"task_id": tasks[i].id}))

    async def single(i: int) -> None:
        results[i] = await ev.evaluate(tasks[i], mapped[i])
        reporter(Event("task_advance", phase="eval", advance=1, data={"task_id": tasks[i].id}))

    coros = []
    if combine:
        for group in _combine_groups(pending, tasks):
            if len(group) == 1:
                coros.append(single(group[0]))
            else:
                coros.append(ev.evaluate_combined([tasks[i] for i in group], [mapped[i] for i in group],
                                                  group, results, reporter))  # fmt: skip
    else:
        coros = [single(i) for i in pending]
    await asyncio.gather(*coros)
    return [r for r in results if r is not None]


def _with_empty_files(task: Task, files: dict[str, Path], work: Path) -> dict[str, Path]:
    """A file to write that the solution leaves out and the gym lacks counts as empty: the candidate may
    put all its classes in one file, and the restored `include line of the other still compiles."""
    out = dict(files)
    for rel in task.files_to_write:
        if rel not in out and not (work / "gym" / rel).exists():
            empty = work / "empty" / rel
            empty.parent.mkdir(parents=True, exist_ok=True)
            empty.write_bytes(b"")
            out[rel] = empty
    return out


def candidate_coverage(
    run: RunResult, task: Task, points: dict[Key, frozenset[str]] | None
) -> CoverageSummary | None:
    """The run's coverage as it is scored: on the original's points (key and hierarchy, totals from the
    original) and the task's coverage files. Without a recorded point set (an older build), the run's
    own points restricted to the coverage files."""
    if points is not None:
        if run.coverage_file is None or not run.coverage_file.is_file():
            return None
        hits = read_points_file(run.coverage_file, {k[0] for k in points})
        # the same files the targets were derived on (never the files the candidate writes)
        return summarize_on(hits, points, task.acceptance.coverage_files, source=str(run.coverage_file))
    cov = run.coverage
    if cov is not None and task.acceptance.coverage_files:
        cov = cov.restrict(task.acceptance.coverage_files)
    return cov


def _combine_groups(pending: list[int], tasks: list[Task]) -> list[list[int]]:
    """Jobs of the same compile unit, each task at most once per group."""
    groups: list[list[int]] = []
    for i in pending:
        for g in groups:
            if tasks[g[0]].compile_unit == tasks[i].compile_unit and all(tasks[j].id != tasks[i].id for j in g):
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


class _Evaluator:
    def __init__(
        self,
        out_dir: Path,
        report: BuildReport,
        adapter: SimulatorAdapter,
        *,
        seed: int,
        seeds: int,
        uvm_home: Path | None = None,
    ):
        self.out_dir = out_dir
        self.uvm_home = uvm_home
        self.report = report
        self.adapter = adapter
        self.seed = seed
        self.seeds = seeds
        self.runs = asyncio.Semaphore(run_slots(adapter))
        self._point_cache: dict[tuple[str, str], dict[Key, frozenset[str]]] = {}

    def screen(self, task: Task, mapped: MappedSolution) -> EvalResult | None:
        """A final result for a solution rejected without compiling, else None."""
        result = EvalResult(task=task.id, test_name=task.test_name, seed=self.seed)
        if mapped.symlinks:
            result.reasons = [f"the solution file {p} is a symlink: a solution holds regular files only"
                              for p in sorted(mapped.symlinks)]  # fmt: skip
            return result
        if mapped.protected_edits:
            result.protected_edits = sorted(mapped.protected_edits)
            result.reasons = [
                f"the solution changes a file outside files_to_write: {p}" for p in result.protected_edits
            ]
            return result
        if not mapped.files:
            result.reasons = ["the solution is empty: it provides none of the files to write"]
            return result
        reasons = self.allowlist(task, mapped)
        if reasons:
            result.reasons = reasons
            return result
        return None

    def allowlist(self, task: Task, mapped: MappedSolution) -> list[str]:
        """Why the solution may not be compiled (the language allowlist and the task's structure, see
        ``dvsmith.gym.allowlist``); empty when it may."""
        gym = self.out_dir / "gym"
        try:
            uvm_src = uvm_sources(self.uvm_home)
        except ToolchainError as exc:
            return [f"cannot check the solution without the UVM library: {exc}"]
        reference = {rel: self.out_dir / "oracle" / task.id / rel for rel in task.oracle_files}
        report = check_solution(gym, gym_unit(self._unit(task), gym), task, mapped.files, reference, uvm_src)
        return report.reasons

    def _points(self, task: Task) -> dict[Key, frozenset[str]] | None:
        """The original's coverage points for the task (from OUT, checked against the sha256 the build
        recorded), None when the build recorded none. ``ValueError`` when they are gone or changed."""
        rel = task.acceptance.coverage_points
        if not rel:
            return None
        try:
            path = confine(self.out_dir, rel)
        except ValueError:
            raise ValueError(f"coverage point set {rel!r} is outside the gym's folder") from None
        key = (str(path), task.acceptance.coverage_points_sha256 or "")
        if key not in self._point_cache:
            self._point_cache[key] = load_point_set(path, task.acceptance.coverage_points_sha256).table()
        return self._point_cache[key]

    def _unit(self, task: Task) -> CompileUnit:
        unit = next((u for u in self.report.compile_units if u.name == task.compile_unit), None)
        if unit is None:
            raise UserInputError(f"task {task.id} has no compile unit in build.json: rebuild the gym")
        return unit

    async def _scratch(self, label: str) -> Path:
        scratch_root = cache_dir() / "eval"
        scratch_root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f"{label}.", dir=scratch_root))
        await asyncio.to_thread(shutil.copytree, self.out_dir / "gym", work / "gym", symlinks=True)
        return work

    async def _rewrite(self, work: Path, unit: CompileUnit, files: set[str]) -> tuple[list[dict[str, object]], str]:
        """The build's Verilator rewrites on the solution's files (in the scratch gym), as made, and a
        warning when they could not be made (the files are then compiled as written: nothing is written
        until every rewrite has run)."""
        settings = self.report.rewrite_settings
        if settings is None or not files:  # a gym built before build.json recorded them: left as they are
            return [], ""
        try:
            records = await asyncio.to_thread(rewrite_solution, work / "gym", gym_unit(unit, work / "gym"),
                                              settings, files)  # fmt: skip
        except (ValueError, RuntimeError, OSError, IndexError, KeyError, AttributeError, TypeError) as exc:
            # the solution is hostile input: a rewrite that trips on it must not stop the grading
            why = type(exc).__name__
            return [], f"warning: the build's Verilator rewrites could not be made on the solution ({why})"
        return [r.model_dump(mode="json") for r in records], ""

    async def _compile(self, work: Path, unit: CompileUnit) -> CompileResult:
        return await self.adapter.compile(
            CompileRequest(repo_root=work / "gym", unit=gym_unit(unit, work / "gym"), work_dir=work / "compile")
        )

    async def evaluate(self, task: Task, mapped: MappedSolution) -> EvalResult:
        started = time.perf_counter()
        result = EvalResult(task=task.id, test_name=task.test_name, seed=self.seed)
        unit = self._unit(task)
        work = await self._scratch(task.id)
        result.work_dir = str(work)
        files = _with_empty_files(task, mapped.files, work)
        restore_for_eval(work / "gym", task, files)
        result.rewrites, warning = await self._rewrite(work, unit, set(files))
        comp = await self._compile(work, unit)
        await self._grade(task, comp, work, result)
        if warning:
            result.reasons.append(warning)
        with contextlib.suppress(OSError):
            shutil.rmtree(work / "gym")  # keep the logs, drop the copied sources
        result.wall_s = round(time.perf_counter() - started, 3)
        return result

    async def evaluate_combined(
        self,
        tasks: list[Task],
        mapped: list[MappedSolution],
        indices: list[int],
        results: list[EvalResult | None],
        reporter: Reporter,
    ) -> None:
        """One tree and one compile for several tasks' solutions; one by one when that cannot work."""
        started = time.perf_counter()
        unit = self._unit(tasks[0])
        gym = self.out_dir / "gym"
        work = await self._scratch("combined")
        versions: dict[str, list[bytes]] = {}
        for task, m in zip(tasks, mapped, strict=True):
            for rel, path in _with_empty_files(task, m.files, work).items():
                versions.setdefault(rel, []).append(path.read_bytes())
        merged_files: dict[str, Path] = {}
        ok = True
        for rel, datas in sorted(versions.items()):
            merged = merge_versions((gym / rel).read_bytes() if (gym / rel).is_file() else None, datas)
            if merged is None:
                ok = False
                break
            merged_files[rel] = work / "merged" / rel
            merged_files[rel].parent.mkdir(parents=True, exist_ok=True)
            merged_files[rel].write_bytes(merged)
        comp: CompileResult | None = None
        rewrites: list[dict[str, object]] = []
        warning = ""
        if ok:
            try:
                restore_combined(work / "gym", tasks, merged_files, set(unit.files) | set(unit.sources))
                rewrites, warning = await self._rewrite(work, unit, set(merged_files))
                comp = await self._compile(work, unit)
            except CombineConflict:
                comp = None
        if comp is None or not comp.ok:  # cannot combine, or one solution breaks the shared compile
            shutil.rmtree(work, ignore_errors=True)
            for task, m, i in zip(tasks, mapped, indices, strict=True):
                results[i] = await self.evaluate(task, m)
                reporter(Event("task_advance", phase="eval", advance=1, data={"task_id": task.id}))
            return

        async def grade(task: Task, i: int) -> None:
            mine = set(task.files_to_write)
            result = EvalResult(task=task.id, test_name=task.test_name, seed=self.seed, work_dir=str(work),
                                combined_with=sorted(t.id for t in tasks if t.id != task.id),
                                rewrites=[r for r in rewrites if r["file"] in mine])  # fmt: skip
            await self._grade(task, comp, work / task.id, result)
            if warning and mine & set(merged_files):
                result.reasons.append(warning)
            result.wall_s = round(time.perf_counter() - started, 3)
            results[i] = result
            reporter(Event("task_advance", phase="eval", advance=1, data={"task_id": task.id}))

        await asyncio.gather(*(grade(t, i) for t, i in zip(tasks, indices, strict=True)))
        with contextlib.suppress(OSError):
            shutil.rmtree(work / "gym")

    async def _grade(self, task: Task, comp: CompileResult, work: Path, result: EvalResult) -> None:
        result.compile_log = str(comp.log)
        result.compile_cached = comp.cached
        result.compile_s = round(comp.seconds, 3)
        result.compiled = comp.ok
        if not comp.ok or comp.binary is None:
            result.reasons = ["the solution does not compile", *comp.errors[:10]]
            return
        if comp.fcov_tampering:  # the solution names dvsmith's covergroup runtime: it could forge its bins
            result.reasons = [f"the solution uses dvsmith's functional coverage runtime ({comp.fcov_tampering[0]})"]
            return
        if not task.valid:
            result.reasons.append(f"warning: this task was marked invalid at build time ({task.invalid_reason})")
        binary = comp.binary
        try:
            points = self._points(task)
        except ValueError as exc:
            result.reasons = [f"{exc}: rebuild the gym"]
            return

        async def run_seed(s: int) -> tuple[SeedRun, dict[str, dict[str, object]], int | None]:
            async with self.runs:
                run = await self.adapter.run(
                    RunRequest(binary=binary, test=task.test_name, seed=s, timeout_s=task.acceptance.timeout_s,
                               work_dir=work / "run", plusargs=list(task.plusargs))
                )
            cov = candidate_coverage(run, task, points)
            cov = add_functional(cov, run.functional, task.acceptance)  # lowered covergroups' bins
            # health: the log and exit status (scoring.health_reasons, in score()), then the grader probe
            graded = score(run.health, cov, task.acceptance, task.test_name, exit_code=run.exit_code)
            graded = apply_probe(graded, run, task.acceptance, task.test_name)
            h = run.health
            seed_run = SeedRun(
                seed=s, score=graded.score, passed=graded.passed, reasons=graded.reasons,
                uvm_errors=h.uvm_error, uvm_fatals=h.uvm_fatal,
                started=h.test_started and h.test_name == task.test_name,
                coverage=cov.as_percent_dict() if cov else {}, sim_time=h.sim_time, wall_s=round(run.wall_s, 3),
                log=str(run.log), sandbox=run.sandbox,
            )  # fmt: skip
            return seed_run, dict(graded.coverage_detail), h.uvm_warning

        outcomes = await asyncio.gather(*(run_seed(self.seed + i) for i in range(self.seeds)))
        per_seed = [o[0] for o in outcomes]
        first, detail, warnings = outcomes[0]
        scores = [r.score for r in per_seed]
        result.ran = True
        result.seeds = per_seed
        result.started = first.started
        result.uvm_errors, result.uvm_fatals, result.uvm_warnings = first.uvm_errors, first.uvm_fatals, warnings
        result.coverage = first.coverage
        result.coverage_detail = detail
        result.sim_time = first.sim_time
        result.log = first.log
        result.score_mean = round(statistics.fmean(scores), 6)
        result.score_spread = round(max(scores) - min(scores), 6)
        result.score_stdev = round(statistics.pstdev(scores), 6) if len(scores) > 1 else 0.0
        result.score = result.score_mean
        result.passed = all(r.passed for r in per_seed)
        for r in per_seed:
            for reason in r.reasons:
                text = reason if self.seeds == 1 else f"seed {r.seed}: {reason}"
                if text not in result.reasons:
                    result.reasons.append(text)
