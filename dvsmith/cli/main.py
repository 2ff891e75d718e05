"""The `dvsmith` command line: typer commands that parse options, call the core and render results."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.text import Text

from dvsmith import __version__
from dvsmith.cli import render
from dvsmith.cli.render import esc
from dvsmith.errors import DvsmithError

T = TypeVar("T")

app = typer.Typer(
    name="dvsmith",
    help="Turn a SystemVerilog/UVM testbench repository into a gym of verification tasks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
profiles_app = typer.Typer(help="List, show and remove ingested profiles.", no_args_is_help=True)
cache_app = typer.Typer(help="Inspect or clear dvsmith's caches (parse, AI answers, compiled simulators).",
                        no_args_is_help=True)
export_app = typer.Typer(help="Export a gym for agent harnesses and trainers (Harbor tasks, a JSONL dataset).",
                         no_args_is_help=True)
app.add_typer(profiles_app, name="profiles")
app.add_typer(cache_app, name="cache")
app.add_typer(export_app, name="export")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else there.")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Ignore every cache and rebuild it.")]
UnitOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--unit",
        help="Only the tests of this compile unit become tasks (repeatable; `dvsmith profiles show` lists units).",
    ),
]
ExecutorOpt = Annotated[
    str, typer.Option("--executor", help="local|ray: where compiles and simulations run (ray needs the ray "
                      "extra of dvsmith).")
]
RayAddressOpt = Annotated[
    str | None, typer.Option("--ray-address", envvar="RAY_ADDRESS",
                             help="Ray cluster to use with --executor ray (default: start a local one).")
]
JunitOpt = Annotated[Path | None, typer.Option("--junit", help="Write a JUnit XML report (one case per task or job).")]
MetricsPushOpt = Annotated[
    str | None, typer.Option("--metrics-push", help="Push the metrics to this Prometheus Pushgateway URL.")
]
MetricsFileOpt = Annotated[
    Path | None, typer.Option("--metrics", help="Write the metrics in Prometheus textfile format to this file.")
]


@contextlib.contextmanager
def _executor(name: str, address: str | None) -> Iterator[Any]:
    """The executor to pass to the core: None for local (the adapter itself), else an open executor."""
    from dvsmith.sim.executor import open_executor

    if name == "local":
        yield None
        return
    with open_executor(name, address=address) as ex:
        yield ex


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, a CI job cancelled): handled as Ctrl-C, exit 143."""


def _run_async(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` where Ctrl-C (or SIGTERM) always ends the command as interrupted: the first signal
    cancels the work, so running compiles and simulations are killed and temp folders removed, and, whatever
    the cancelled code does with the cancellation (a library may turn it into another error and the work go
    on), the command raises ``KeyboardInterrupt`` (exit 130; ``Terminated``, 143, for SIGTERM) instead of
    returning. A second Ctrl-C interrupts at once."""
    interrupted: int | None = None

    async def main() -> T:
        nonlocal interrupted
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def on_signal(sig: int) -> None:
            nonlocal interrupted
            interrupted = interrupted or sig
            loop.remove_signal_handler(sig)  # the next one: Python's own behaviour
            if task is not None:
                task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # no signals in this thread
                loop.add_signal_handler(sig, on_signal, sig)
        try:
            return await coro
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(sig)

    def stop() -> KeyboardInterrupt:
        return Terminated() if interrupted == signal.SIGTERM else KeyboardInterrupt()

    try:
        result = asyncio.run(main())
    except asyncio.CancelledError:
        if interrupted:
            raise stop() from None
        raise
    if interrupted:
        raise stop()
    return result


def _guard(fn: Callable[[], T]) -> T:
    """Run a core call; turn dvsmith errors into one line and the right exit code."""
    try:
        return fn()
    except DvsmithError as exc:
        render.error_line(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except Terminated:
        render.error_line("terminated")
        raise typer.Exit(143) from None
    except KeyboardInterrupt:
        render.error_line("interrupted")
        raise typer.Exit(130) from None
    except OSError as exc:
        render.error_line(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
        raise typer.Exit(2) from None
    except Exception as exc:  # a bug: say so in one line, full traceback only on request
        if os.environ.get("DVSMITH_DEBUG"):
            traceback.print_exc()
        render.error_line(f"internal error ({type(exc).__name__}): {exc} (set DVSMITH_DEBUG=1 for a traceback)")
        raise typer.Exit(1) from None


def _ai_settings_from_env() -> Any:
    """AI tunables from DVSMITH_AI_<FIELD> environment variables (e.g. DVSMITH_AI_TIMEOUT_S=20)."""
    from dvsmith.ai.settings import AISettings
    from dvsmith.errors import UserInputError

    values = {
        f: os.environ[f"DVSMITH_AI_{f.upper()}"]
        for f in AISettings.model_fields
        if f"DVSMITH_AI_{f.upper()}" in os.environ
    }
    try:
        return AISettings.model_validate(values)
    except ValueError as exc:
        raise UserInputError(f"bad DVSMITH_AI_* setting: {str(exc).splitlines()[0:3]}") from None


def _version(value: bool) -> None:
    if value:
        print(f"dvsmith {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """dvsmith: ingest a UVM repo, build a gym of tasks, validate and evaluate solutions."""


# ---------------------------------------------------------------------------------------------- ingest
@app.command()
def ingest(
    repo: Annotated[Path, typer.Argument(help="Local folder of the SystemVerilog/UVM repository.")],
    name: Annotated[str | None, typer.Option(help="Profile name (default: the folder's name).")] = None,
    no_cache: NoCacheOpt = False,
    json_out: JsonOpt = False,
    sim_config: Annotated[
        Path | None, typer.Option("--sim-config", help="A dvsmith.toml to use instead of the repo root's.")
    ] = None,
) -> None:
    """Analyse a repository with pyslang and store its profile (no AI, no simulator)."""
    from dvsmith.analysis.ingest import ingest as core_ingest
    from dvsmith.cli import warm

    eligible = not no_cache and sim_config is None  # what the warm shortcut may answer next time
    listing: str | None = None
    if eligible:
        with contextlib.suppress(OSError, ValueError):  # a missing repo: the core says so below
            listing = warm.listing_key(repo.expanduser().resolve())  # before the ingest walks it
    reporter = render.ProgressReporter(quiet=json_out)
    with reporter:
        profile, stats = _guard(
            lambda: core_ingest(
                repo, name=name, use_cache=not no_cache, reporter=reporter,
                sim_config=sim_config.resolve() if sim_config else None,
            )
        )  # fmt: skip
    # a warm ingest (nothing parsed, nothing to warn about) leaves a stamp: the next one with the same
    # arguments is answered before the CLI loads when nothing changed (dvsmith.cli.warm)
    record = listing is not None and stats.files_parsed == 0 and not reporter.warnings
    if json_out:
        doc = profile.model_dump(mode="json")
        doc["stats"] = stats.model_dump(mode="json")
        render.print_json(doc)
        if record:
            _record_warm(repo, name, json_out, profile, stats, None, listing)
        return
    c = render.err_console
    head = (
        f"[bold green]ingested[/] {esc(profile.name)}: {len(profile.tests)} tests "
        f"({sum(1 for t in profile.tests if t.is_base)} base), {len(profile.sequences)} sequences, "
        f"{len(profile.covergroups)} covergroups, build={esc(profile.build.kind)}"
    )
    line = (
        f"files {stats.files_total}, parsed {stats.files_parsed}, cache hits {stats.cache_hits}, "
        f"{warm.SECONDS_MARK} s; {len(profile.diagnostics)} diagnostics"
    )
    rows = [
        (
            t.name,
            t.file,
            t.line,
            t.base_class or "",
            "yes" if t.is_base else "",
            "yes" if t.in_build else "no",
            ", ".join(t.sequences),
        )
        for t in profile.tests
    ]
    output = {}
    for key, renderable in (("head", head), ("stats", line), ("table", render.table(
            "Tests", ["test", "file", "line", "extends", "base", "in build", "starts"], rows))):  # fmt: skip
        with c.capture() as cap:
            c.print(renderable)
        output[key] = cap.get()
    stats_line = output["stats"].replace(warm.SECONDS_MARK, f"{stats.seconds:.3f}", 1)
    c.file.write(output["head"] + stats_line + output["table"])
    c.file.flush()
    if record:
        _record_warm(repo, name, json_out, profile, stats, output, listing)


def _record_warm(repo: Path, name: str | None, json_out: bool, profile: Any, stats: Any,
                 output: dict[str, str] | None, listing: str | None) -> None:  # fmt: skip
    from dvsmith.analysis.store import profile_path
    from dvsmith.cli import warm

    if listing is None:
        return
    git = profile.git.model_dump(mode="json") if profile.git is not None else None
    with contextlib.suppress(OSError, ValueError):  # a shortcut only: never fails the command
        warm.record(repo=repo, name=name, json_out=json_out, profile_name=profile.name,
                    profile_path=profile_path(profile.name), files_total=stats.files_total,
                    cache_hits=stats.cache_hits, output=output, listing=listing, git=git)  # fmt: skip


# ----------------------------------------------------------------------------------------------- build
@app.command()
def build(
    name: Annotated[str | None, typer.Argument(help="Profile name (default: the most recently ingested).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default: ./dvsmith_out/NAME).")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="AI calls in flight at once.")] = 8,
    provider: Annotated[
        str | None, typer.Option(help="anthropic|offline (default: anthropic when ANTHROPIC_API_KEY is set).")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model id (default: claude-haiku-5-5).")] = None,
    sim: Annotated[str, typer.Option(help="verilator|none: validate every task by simulation.")] = "none",
    uvm_home: Annotated[Path | None, typer.Option(help="UVM library folder (default: UVM_HOME or PyPI).")] = None,
    no_cache: NoCacheOpt = False,
    log_bodies: Annotated[bool, typer.Option("--log-bodies", help="Log prompt and answer bodies.")] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace OUT even when it is not empty and not a previous dvsmith build (never the repository, "
            "DVSMITH_HOME, the current folder or a folder containing them).",
        ),
    ] = False,
    keep_trivial: Annotated[
        bool, typer.Option("--keep-trivial", help="Keep tasks whose reference is an empty subclass (flagged).")
    ] = False,
    unit: UnitOpt = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    junit: JunitOpt = None,
    metrics_push: MetricsPushOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Build the gym: tasks with metadata, a cleaned repo, hidden oracles, validation and a report."""
    from dvsmith.errors import UserInputError
    from dvsmith.export.reports import publish_build
    from dvsmith.gym.build import BuildOptions, run_build
    from dvsmith.metrics import collecting

    def run() -> Any:
        if provider not in (None, "anthropic", "offline"):
            raise UserInputError(f"unknown provider '{provider}' (anthropic|offline)")
        if sim not in ("verilator", "none"):
            raise UserInputError(f"unknown simulator '{sim}' (verilator|none)")
        with _executor(executor, ray_address) as ex, collecting() as samples:
            opts = BuildOptions(
                name=name,
                out=out,
                concurrency=concurrency,
                provider=provider,
                model=model,
                sim=sim,
                uvm_home=uvm_home,
                use_cache=not no_cache,
                log_bodies=log_bodies,
                force=force,
                ai_settings=_ai_settings_from_env(),
                executor=ex,
                keep_trivial=keep_trivial,
                units=list(unit or []),
            )
            with reporter:
                report = _run_async(run_build(opts, reporter))
        for w in publish_build(report, samples, junit=junit, push=metrics_push):
            render.warn_line(w)
        return report

    reporter = render.ProgressReporter(quiet=json_out)
    report = _guard(run)
    if json_out:
        render.print_json(report.model_dump(mode="json"))
    else:
        _show_build(report)
    raise typer.Exit(0 if report.ok else 1)


def _show_build(report: Any) -> None:
    c = render.err_console
    ai = report.ai
    rows = []
    for t in report.tasks:
        o = t.oracle
        cov = ", ".join(f"{k} {v:.0f}%" for k, v in (o.coverage.items() if o else [])) or "-"
        rows.append(
            (
                t.id,
                t.metadata_source + (" (fallback)" if t.metadata_fell_back else ""),
                "ok" if t.static_ok else "FAIL",
                "-" if o is None else ("pass" if o.passed else "FAIL"),
                cov,
                "valid" if t.valid else f"INVALID: {t.invalid_reason}",
            )
        )
    c.print(render.table("Tasks", ["task", "metadata", "static", "oracle", "coverage", "status"], rows))
    c.print(render.phase_table(report.phases))
    c.print(
        f"AI: provider {esc(ai.get('provider'))} model {esc(ai.get('model'))}: {ai.get('calls', 0)} calls, "
        f"{ai.get('cache_hits', 0)} cache hits, {ai.get('retries', 0)} retries, {ai.get('fallbacks', 0)} fallbacks, "
        f"p50 {ai.get('p50_latency_s', 0):.2f} s, p95 {ai.get('p95_latency_s', 0):.2f} s, "
        f"tokens {ai.get('tokens_in', 0)}/{ai.get('tokens_out', 0)}, ${ai.get('estimated_cost_usd', 0):.4f}"
    )
    if report.sim:
        s = report.sim
        c.print(f"simulation: {esc(s.simulator)}: {s.compiles} compiles ({s.compiles_cached} cached), {s.runs} runs")
        for key, causes in s.compile_diagnosis.items():  # one line per cause class of a failed compile
            tree, _, unit = key.partition(":")
            for cause in causes:
                c.print(f"[red]{esc(tree)} {esc(unit)} does not compile:[/] {esc(cause)}", soft_wrap=True)
    for p in report.static_problems:
        c.print(f"[red]static:[/] {esc(p)}")
    valid = sum(1 for t in report.tasks if t.valid)
    colour = "green" if report.ok else "red"
    where = esc(report.out_dir)
    c.print(f"[bold {colour}]{valid}/{len(report.tasks)} tasks valid[/] → {where} ({report.wall_s:.2f} s)")


# -------------------------------------------------------------------------------------------- validate
@app.command()
def validate(
    gym_dir: Annotated[Path, typer.Argument(help="A folder written by `dvsmith build`.")],
    sim: Annotated[str, typer.Option(help="verilator|none")] = "none",
    uvm_home: Annotated[Path | None, typer.Option(help="UVM library folder.")] = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    junit: JunitOpt = None,
    metrics: MetricsFileOpt = None,
    metrics_push: MetricsPushOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Re-run the build's checks (static, and with --sim the oracle simulations) on an existing gym."""
    from dvsmith.export.reports import publish_build
    from dvsmith.gym.validate import revalidate

    reporter = render.ProgressReporter(quiet=json_out)

    def run() -> Any:
        with _executor(executor, ray_address) as ex, reporter:
            result = _run_async(revalidate(gym_dir, sim=sim, uvm_home=uvm_home, reporter=reporter, executor=ex))
        for w in publish_build(result, None, command="validate", metrics_file=metrics, junit=junit, push=metrics_push):
            render.warn_line(w)
        return result

    result = _guard(run)
    if json_out:
        render.print_json(result.model_dump(mode="json"))
    else:
        _show_build(result)
    raise typer.Exit(0 if result.ok else 1)


# ------------------------------------------------------------------------------------------------ eval
@app.command("eval")
def eval_cmd(
    gym_dir: Annotated[Path, typer.Argument(help="A folder written by `dvsmith build`.")],
    task_id: Annotated[str | None, typer.Argument(help="Task id (see tasks/).")] = None,
    solution: Annotated[list[Path] | None, typer.Argument(help="Solution files or one folder.")] = None,
    seed: Annotated[int, typer.Option(help="First simulation seed.")] = 1,
    seeds: Annotated[int, typer.Option(min=1, max=100, help="Run this many seeds and report mean and spread.")] = 1,
    batch: Annotated[
        Path | None, typer.Option(help='JSONL of {"task": ID, "solution": [paths]} to evaluate in parallel.')
    ] = None,
    combine: Annotated[
        bool,
        typer.Option(
            "--combine",
            help="Compile the solutions of different tasks of a batch together (faster; they share one binary).",
        ),
    ] = False,
    uvm_home: Annotated[Path | None, typer.Option(help="UVM library folder.")] = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    junit: JunitOpt = None,
    metrics: MetricsFileOpt = None,
    metrics_push: MetricsPushOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Grade a candidate solution: compile it into a copy of the gym, run the task's test, score it."""
    from dvsmith.errors import UserInputError
    from dvsmith.export.reports import publish_eval
    from dvsmith.gym.evaluate import EvalJob, evaluate_many, read_batch

    def run() -> Any:
        jobs: list[EvalJob] = []
        if batch is not None:
            jobs = read_batch(batch)
        if task_id is not None:
            if not solution:
                raise UserInputError("give the solution files (or a folder) after the task id")
            jobs.append(EvalJob(task=task_id, solution=list(solution)))
        if not jobs:
            raise UserInputError("nothing to evaluate: give TASK_ID SOLUTION... or --batch FILE")
        started = time.perf_counter()
        with _executor(executor, ray_address) as ex, reporter:
            results = _run_async(
                evaluate_many(
                    gym_dir, jobs, seed=seed, seeds=seeds, uvm_home=uvm_home, reporter=reporter, combine=combine,
                    executor=ex,
                )
            )
        for w in publish_eval(results, gym=str(gym_dir), metrics_file=metrics, junit=junit, push=metrics_push,
                              wall_s=time.perf_counter() - started):  # fmt: skip
            render.warn_line(w)
        return results

    reporter = render.ProgressReporter(quiet=json_out)
    results = _guard(run)
    if json_out:
        docs = [r.model_dump(mode="json") for r in results]
        render.print_json(docs[0] if len(docs) == 1 else docs)
    else:
        c = render.err_console
        for r in results:
            colour = "green" if r.passed else "red"
            c.print(f"[bold {colour}]{'PASS' if r.passed else 'FAIL'}[/] {esc(r.task)}: score {r.score:.3f}")
            for reason in r.reasons:
                c.print(f"  - {esc(reason)}")
            if r.log:
                c.print(f"  log: {esc(r.log)}")
    raise typer.Exit(0 if all(r.passed for r in results) else 1)


# ---------------------------------------------------------------------------------------------- export
@export_app.command("harbor")
def export_harbor_cmd(
    out_dir: Annotated[Path, typer.Argument(help="A folder written by `dvsmith build`.")],
    dest: Annotated[Path, typer.Argument(help="Folder to write one Harbor task folder per valid task into.")],
    org: Annotated[str, typer.Option(help="Organisation of the Harbor task names (ORG/PROFILE.TASK).")] = "dvsmith",
    wheel: Annotated[
        Path | None, typer.Option(help="Install dvsmith from this wheel in the image (default: PyPI, this version).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Write Harbor 0.26 task folders: instruction.md, task.toml, environment/, tests/test.sh, solution/."""
    from dvsmith.export.harbor import HarborOptions, export_harbor

    result = _guard(lambda: export_harbor(out_dir, dest, HarborOptions(org=org, dvsmith_wheel=wheel)))
    if json_out:
        render.print_json(result.model_dump(mode="json"))
        return
    for w in result.warnings:
        render.warn_line(w)
    for tid, why in result.skipped.items():
        render.warn_line(f"skipped invalid task {tid}: {why}")
    render.err_console.print(f"[bold green]exported[/] {len(result.tasks)} Harbor task(s) → {result.dest}")


@export_app.command("jsonl")
def export_jsonl_cmd(
    out_dir: Annotated[Path, typer.Argument(help="A folder written by `dvsmith build`.")],
    file: Annotated[Path, typer.Argument(help="The JSON Lines file to write.")],
    with_oracle: Annotated[bool, typer.Option("--with-oracle", help="Add the reference files (oracle).")] = False,
    include_invalid: Annotated[bool, typer.Option("--include-invalid", help="Also export invalid tasks.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Write one JSON line per task (id, instruction, files_to_write, test_select, difficulty, ...)."""
    from dvsmith.export.jsonl import export_jsonl

    result = _guard(lambda: export_jsonl(out_dir, file, with_oracle=with_oracle, include_invalid=include_invalid))
    if json_out:
        render.print_json(result.model_dump(mode="json"))
        return
    for tid, why in result.skipped.items():
        render.warn_line(f"skipped invalid task {tid}: {why}")
    render.err_console.print(f"[bold green]exported[/] {result.lines} task(s) → {result.file}")


# -------------------------------------------------------------------------------------------- profiles
@profiles_app.command("list")
def profiles_list(json_out: JsonOpt = False) -> None:
    """List ingested profiles."""
    from dvsmith.analysis.store import list_profiles

    items = _guard(list_profiles)
    if json_out:
        render.print_json([i.model_dump(mode="json") for i in items])
        return
    rows = [(i.name, i.tests, i.created_at, i.repo_root) for i in items]
    render.out_console.print(render.table("Profiles", ["name", "tests", "created", "repo"], rows))


@profiles_app.command("show")
def profiles_show(name: Annotated[str, typer.Argument()], json_out: JsonOpt = False) -> None:
    """Show one profile."""
    from dvsmith.analysis.ingest import load_profile

    reporter = render.ProgressReporter(quiet=json_out)
    profile = _guard(lambda: load_profile(name, reporter=reporter))
    if json_out:
        render.print_json(profile.model_dump(mode="json"))
        return
    c = render.out_console
    c.print(f"[bold]{esc(profile.name)}[/]  {esc(profile.repo_root)}  created {esc(profile.created_at)}")
    for field in (
        "tests",
        "sequences",
        "sequence_items",
        "agents",
        "envs",
        "drivers",
        "monitors",
        "scoreboards",
        "sequencers",
        "covergroups",
        "packages",
        "interfaces",
        "modules",
    ):
        items = getattr(profile, field)
        more = " ..." if len(items) > 8 else ""
        c.print(f"{field:<15} {len(items):>4}  {esc(', '.join(i.name for i in items[:8]))}{more}")
    b = profile.build
    c.print(
        esc(f"build           {b.kind}  simulators: {', '.join(b.simulators) or '-'}  select: {b.test_select or '-'}")
    )
    per_unit = {u.name: 0 for u in profile.compile_units}
    for t in profile.tests:
        if not t.is_base and t.compile_unit in per_unit:
            per_unit[t.compile_unit] += 1
    units = [f"{n} ({k} tests)" for n, k in per_unit.items()]
    more = " ..." if len(units) > 8 else ""
    c.print(f"compile units   {len(units):>4}  {esc(', '.join(units[:8]))}{more}")
    c.print(f"diagnostics     {len(profile.diagnostics):>4}")


@profiles_app.command("rm")
def profiles_rm(name: Annotated[str, typer.Argument()]) -> None:
    """Remove a profile."""
    from dvsmith.analysis.store import remove_profile

    _guard(lambda: remove_profile(name))
    render.err_console.print(f"removed profile {esc(name)}")


# ----------------------------------------------------------------------------------------------- cache
@cache_app.command("info")
def cache_info(json_out: JsonOpt = False) -> None:
    """Show where caches live and how big they are."""
    from dvsmith.paths import cache_info as core_info

    info = _guard(core_info)
    if json_out:
        render.print_json(info)
        return
    rows = [(k, v["path"], v["files"], f"{v['bytes'] / 1e6:.1f} MB") for k, v in info["caches"].items()]
    render.out_console.print(render.table("Caches", ["cache", "path", "files", "size"], rows))


@cache_app.command("clear")
def cache_clear(json_out: JsonOpt = False) -> None:
    """Delete every cache (parse cache, AI answers, compiled simulators). Profiles are kept."""
    from dvsmith.paths import cache_clear as core_clear

    removed = _guard(core_clear)
    if json_out:
        render.print_json(removed)
        return
    render.err_console.print(f"cleared: {', '.join(f'{k} ({v} files)' for k, v in removed.items())}")


# --------------------------------------------------------------------------------------------- ai-logs
@app.command("ai-logs")
def ai_logs(
    tail: Annotated[int, typer.Option(min=1, help="How many recent calls to show.")] = 20,
    json_out: JsonOpt = False,
) -> None:
    """Show recent AI calls and a summary (calls, failures, latency, tokens, cost)."""
    from dvsmith.ai.calllog import read_ai_logs, summarize_logs

    entries = _guard(lambda: read_ai_logs(None))
    summary = summarize_logs(entries)
    recent = entries[-tail:]
    if json_out:
        render.print_json({"summary": summary, "calls": recent})
        return
    rows = [
        (
            e.get("time", ""),
            e.get("task", ""),
            e.get("model", ""),
            f"{float(e.get('duration_s', 0)):.2f}",
            e.get("tokens_in", 0),
            e.get("tokens_out", 0),
            e.get("retries", 0),
            e.get("outcome", ""),
        )
        for e in recent
    ]
    c = render.out_console
    c.print(render.table("Recent AI calls", ["time", "task", "model", "s", "in", "out", "retries", "outcome"], rows))
    c.print(esc(" ".join(f"{k}={v}" for k, v in summary.items())))


# ---------------------------------------------------------------------------------------------- doctor
@app.command()
def doctor(
    repo: Annotated[
        Path | None,
        typer.Argument(help="A repository: also compile it the way a build does (no AI) and say why not."),
    ] = None,
    uvm_home: Annotated[Path | None, typer.Option(help="UVM library folder to check.")] = None,
    unit: UnitOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show what toolchain was found (Verilator, UVM, z3, g++, clang++, make, perl, ccache) and what is missing;
    with REPO, compile its original and gym per compile unit and print one line per cause of a failure.

    Exit code 0 when a Verilator simulation can run (with REPO: and every unit compiles), 1 otherwise."""
    from dvsmith.sim.toolchain import doctor as core_doctor

    if repo is not None:
        _doctor_repo(repo, uvm_home, json_out, list(unit or []))
        return
    report = _guard(lambda: core_doctor(uvm_home=uvm_home))
    if json_out:
        render.print_json({**report.model_dump(mode="json"), "ok": report.ok, "missing": report.missing})
    else:
        rows = [
            (
                t.name,
                Text("found", style="green") if t.found else Text("missing", style="red"),
                t.version or "",
                t.path or "",
                t.note or "",
            )
            for t in report.tools
        ]
        render.out_console.print(render.table("Toolchain", ["tool", "status", "version", "path", "note"], rows))
        if report.missing:
            render.err_console.print(f"[red]missing for simulation:[/] {esc(', '.join(report.missing))}")
    raise typer.Exit(0 if report.ok else 1)


def _doctor_repo(repo: Path, uvm_home: Path | None, json_out: bool, units: list[str]) -> None:
    from dvsmith.gym.check import check_repo

    reporter = render.ProgressReporter(quiet=json_out)

    def run() -> Any:
        with reporter:
            return _run_async(check_repo(repo, uvm_home=uvm_home, units=units, reporter=reporter))

    report = _guard(run)
    if json_out:
        render.print_json({**report.model_dump(mode="json"), "ok": report.ok})
    else:
        rows = [
            (c.unit, c.tree, Text("compiles", style="green") if c.ok else Text("FAILS", style="red"),
             f"{c.seconds:.0f}", "\n".join(c.causes))
            for c in report.compiles
        ]  # fmt: skip
        render.out_console.print(render.table(f"Verilator compiles of {report.profile}",
                                              ["unit", "tree", "status", "s", "cause"], rows))  # fmt: skip
        c = render.err_console
        c.print(f"{report.tests} tests; tasks valid {report.tasks_valid}/{report.tasks} (offline metadata)")
        for tid, reason in report.invalid.items():
            c.print(f"[yellow]invalid[/] {esc(tid)}: {esc(reason)}", soft_wrap=True)
    raise typer.Exit(0 if report.ok else 1)


def run() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    sys.exit(app())
