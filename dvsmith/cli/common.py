"""What every `dvsmith` command shares: option types, the error guard and the interruptible event loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import traceback
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from dvsmith.cli import render
from dvsmith.errors import DvsmithError

T = TypeVar("T")

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
def executor_for(name: str, address: str | None) -> Iterator[Any]:
    """The executor to pass to the core: None for local (the adapter itself), else an open executor."""
    from dvsmith.sim.executor import open_executor

    if name == "local":
        yield None
        return
    with open_executor(name, address=address) as ex:
        yield ex


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, a CI job cancelled): handled as Ctrl-C, exit 143."""


def run_async(coro: Coroutine[Any, Any, T]) -> T:
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


def guard(fn: Callable[[], T]) -> T:
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


def ai_settings_from_env() -> Any:
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
