"""`dvsmith export`, `profiles`, `cache` and `ai-logs`: commands over what earlier commands stored."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dvsmith.cli import render
from dvsmith.cli.common import JsonOpt, guard
from dvsmith.cli.render import esc

profiles_app = typer.Typer(help="List, show and remove ingested profiles.", no_args_is_help=True)
cache_app = typer.Typer(help="Inspect or clear dvsmith's caches (parse, AI answers, compiled simulators).",
                        no_args_is_help=True)
export_app = typer.Typer(help="Export a gym for agent harnesses and trainers (Harbor tasks, a JSONL dataset).",
                         no_args_is_help=True)


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

    result = guard(lambda: export_harbor(out_dir, dest, HarborOptions(org=org, dvsmith_wheel=wheel)))
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

    result = guard(lambda: export_jsonl(out_dir, file, with_oracle=with_oracle, include_invalid=include_invalid))
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

    items = guard(list_profiles)
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
    profile = guard(lambda: load_profile(name, reporter=reporter))
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

    guard(lambda: remove_profile(name))
    render.err_console.print(f"removed profile {esc(name)}")


# ----------------------------------------------------------------------------------------------- cache
@cache_app.command("info")
def cache_info(json_out: JsonOpt = False) -> None:
    """Show where caches live and how big they are."""
    from dvsmith.paths import cache_info as core_info

    info = guard(core_info)
    if json_out:
        render.print_json(info)
        return
    rows = [(k, v["path"], v["files"], f"{v['bytes'] / 1e6:.1f} MB") for k, v in info["caches"].items()]
    render.out_console.print(render.table("Caches", ["cache", "path", "files", "size"], rows))


@cache_app.command("clear")
def cache_clear(json_out: JsonOpt = False) -> None:
    """Delete every cache (parse cache, AI answers, compiled simulators). Profiles are kept."""
    from dvsmith.paths import cache_clear as core_clear

    removed = guard(core_clear)
    if json_out:
        render.print_json(removed)
        return
    render.err_console.print(f"cleared: {', '.join(f'{k} ({v} files)' for k, v in removed.items())}")


# --------------------------------------------------------------------------------------------- ai-logs
def ai_logs(
    tail: Annotated[int, typer.Option(min=1, help="How many recent calls to show.")] = 20,
    json_out: JsonOpt = False,
) -> None:
    """Show recent AI calls and a summary (calls, failures, latency, tokens, cost)."""
    from dvsmith.ai.calllog import read_ai_logs, summarize_logs

    entries = guard(lambda: read_ai_logs(None))
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
