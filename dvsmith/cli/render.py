"""rich rendering: progress bars driven by core events, tables, one-line errors. No logic here."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from rich.console import Console, RenderableType
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from dvsmith.events import Event

# emoji off: a file named "a:cat:.sv" is shown as it is
err_console = Console(stderr=True, highlight=False, emoji=False)
out_console = Console(highlight=False, emoji=False)


def esc(value: object) -> str:
    """Any user- or repo-supplied text, made safe to put inside a rich markup string."""
    return escape(str(value))


def print_json(obj: Any) -> None:
    """One machine-readable JSON document on stdout and nothing else there."""
    sys.stdout.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode() + "\n")
    sys.stdout.flush()


def error_line(message: str) -> None:
    first = " ".join(str(message).split()) or "unknown error"
    err_console.print(f"[bold red]error:[/] {esc(first)}", soft_wrap=True)


def warn_line(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {esc(message)}", soft_wrap=True)


class ProgressReporter:
    """Turns core events into rich progress bars on stderr (or nothing when quiet)."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet
        self.progress = Progress(
            TextColumn("[bold]{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=quiet or not err_console.is_terminal,
        )
        self._bars: dict[str, TaskID] = {}
        self._details: dict[str, dict[str, int]] = {}
        self.warnings: list[str] = []

    def __enter__(self) -> ProgressReporter:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def _detail(self, phase: str) -> str:
        counts = self._details.get(phase, {})
        return "  ".join(f"{k} {v}" for k, v in counts.items() if v)

    def __call__(self, event: Event) -> None:
        if event.kind == "warning":
            self.warnings.append(event.message)  # warnings go to stderr even with --json
            self.progress.console.print(f"[yellow]warning:[/] {esc(event.message)}", soft_wrap=True)
            return
        if event.kind == "task_start":
            bar = self._bars.get(event.phase)
            if bar is None:
                self._bars[event.phase] = self.progress.add_task(event.phase, total=event.total, detail="")
            else:
                self.progress.update(bar, total=event.total)
            return
        if event.kind == "task_advance":
            bar = self._bars.get(event.phase)
            if bar is None:
                bar = self._bars[event.phase] = self.progress.add_task(event.phase, total=None, detail="")
            counts = self._details.setdefault(event.phase, {})
            source = event.data.get("source")
            if source == "cache":
                counts["cached"] = counts.get("cached", 0) + 1
            if event.data.get("fell_back"):
                counts["fallback"] = counts.get("fallback", 0) + 1
            self.progress.update(bar, advance=event.advance, detail=self._detail(event.phase))
            return
        if event.kind == "info":
            step = event.data.get("step")
            if step is not None:  # a long step's live state (e.g. "original a: C++ 3/12 objects")
                bar = self._bars.get(event.phase)
                if bar is not None:
                    self.progress.update(bar, detail=escape(str(step)))
                return
            if event.data.get("retry"):
                counts = self._details.setdefault(event.phase, {})
                counts["retries"] = counts.get("retries", 0) + int(str(event.data["retry"]))
                bar = self._bars.get(event.phase)
                if bar is not None:
                    self.progress.update(bar, detail=self._detail(event.phase))
            elif event.message and not self.quiet:
                self.progress.console.print(f"[dim]{esc(event.message)}[/]", soft_wrap=True)


def cell(value: object) -> RenderableType:
    """A table cell: rich objects as they are, anything else as plain text (never parsed as markup)."""
    return value if isinstance(value, Text) else Text(str(value))


def table(title: str, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> Table:
    t = Table(title=title, title_justify="left", show_edge=False, header_style="bold")
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*[cell(x) for x in r])
    return t


def phase_table(phases: Mapping[str, float]) -> Table:
    total = sum(phases.values())
    rows = [(name, f"{secs:.2f}", f"{(secs / total * 100 if total else 0):.0f}%") for name, secs in phases.items()]
    rows.append(("total", f"{total:.2f}", "100%"))
    return table("Phases", ["phase", "seconds", "share"], rows)
