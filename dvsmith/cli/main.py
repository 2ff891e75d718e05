"""The `dvsmith` command line: typer commands that parse options, call the core and render results."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.text import Text

from dvsmith import __version__
from dvsmith.cli import manage, render
from dvsmith.cli.common import (
    ExecutorOpt,
    JsonOpt,
    JunitOpt,
    MetricsFileOpt,
    MetricsPushOpt,
    NoCacheOpt,
    RayAddressOpt,
    UnitOpt,
    ai_settings_from_env,
    executor_for,
    guard,
    run_async,
)
from dvsmith.cli.render import esc

T = TypeVar("T")

app = typer.Typer(
    name="dvsmith",
    help="Turn a SystemVerilog/UVM testbench repository into a gym of verification tasks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(manage.profiles_app, name="profiles")
app.add_typer(manage.cache_app, name="cache")
app.add_typer(manage.export_app, name="export")
app.command("ai-logs")(manage.ai_logs)

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
        profile, stats = guard(
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
        with executor_for(executor, ray_address) as ex, collecting() as samples:
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
                ai_settings=ai_settings_from_env(),
                executor=ex,
                keep_trivial=keep_trivial,
                units=list(unit or []),
            )
            with reporter:
                report = run_async(run_build(opts, reporter))
        for w in publish_build(report, samples, junit=junit, push=metrics_push):
            render.warn_line(w)
        return report

    reporter = render.ProgressReporter(quiet=json_out)
    report = guard(run)
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
        with executor_for(executor, ray_address) as ex, reporter:
            result = run_async(revalidate(gym_dir, sim=sim, uvm_home=uvm_home, reporter=reporter, executor=ex))
        for w in publish_build(result, None, command="validate", metrics_file=metrics, junit=junit, push=metrics_push):
            render.warn_line(w)
        return result

    result = guard(run)
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
        with executor_for(executor, ray_address) as ex, reporter:
            results = run_async(
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
    results = guard(run)
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
    report = guard(lambda: core_doctor(uvm_home=uvm_home))
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
            return run_async(check_repo(repo, uvm_home=uvm_home, units=units, reporter=reporter))

    report = guard(run)
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
