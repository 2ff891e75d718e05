"""Where compiles and simulations run: an ``Executor`` (``local`` here, ``ray`` on a Ray cluster).

The callers (``gym.validate.simulate_tasks``, ``gym.evaluate``) keep talking to a ``SimulatorAdapter``;
``bind(adapter, executor)`` returns one whose ``compile`` and ``run`` go through the executor, and
``run_slots(adapter)`` says how many runs to keep in flight (the local cores, or the cluster's CPUs).
The local executor is the adapter itself (``bind`` returns it unchanged).

Executors register themselves by name (``register``); ``ray`` lives in ``dvsmith.sim.ray_executor`` and
is imported only when asked for (``pip install 'dvsmith[ray]'``). Besides compile and run, every
executor offers ``call(fn, payload, inputs)``: run ``fn(tree, work, payload)`` where ``tree`` holds the
input files and ``work`` is an empty folder whose files come back with the result; compile and run on
Ray are built on the same shipping, and tests exercise it with a trivial function.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from dvsmith.analysis.profile import CompileUnit
from dvsmith.errors import UserInputError
from dvsmith.paths import confine
from dvsmith.sim.base import CompileRequest, CompileResult, RunRequest, RunResult, SimulatorAdapter

EXECUTORS = ("local", "ray")
_LAZY = {"ray": "dvsmith.sim.ray_executor"}
_REGISTRY: dict[str, type[Executor]] = {}
INCLUDE_EXTS = (".sv", ".svh", ".v", ".vh")

JobFn = Callable[[Path, Path, Any], Any]


class JobResult(BaseModel):
    value: Any = None
    files: dict[str, bytes] = Field(default_factory=dict)  # relative path in the work folder -> content


class Executor(ABC):
    """Runs compiles and simulations for an adapter, and generic jobs (``call``)."""

    name: ClassVar[str] = ""

    @abstractmethod
    async def compile(self, adapter: SimulatorAdapter, req: CompileRequest) -> CompileResult: ...

    @abstractmethod
    async def run(self, adapter: SimulatorAdapter, req: RunRequest) -> RunResult: ...

    @abstractmethod
    async def call(self, fn: JobFn, payload: Any, inputs: dict[str, Path] | None = None, *,
                   kind: str = "run") -> JobResult: ...  # fmt: skip

    def slots(self) -> int:
        """How many runs to keep in flight."""
        return max(1, os.cpu_count() or 1)

    def toolchain(self, adapter: SimulatorAdapter) -> Any:
        fn = getattr(adapter, "toolchain", None)
        return fn() if callable(fn) else None

    def close(self) -> None:
        return None


def register(cls: type[Executor]) -> type[Executor]:
    """Class decorator: make an executor available to ``get_executor`` by its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls


def get_executor(name: str = "local", **options: Any) -> Executor:
    key = (name or "local").strip().lower()
    if key not in _REGISTRY and key in _LAZY:
        try:
            importlib.import_module(_LAZY[key])
        except ImportError as exc:
            raise UserInputError(
                f"the {key} executor needs the {key} package: pip install 'dvsmith[{key}]' ({exc})"
            ) from None
    cls = _REGISTRY.get(key)
    if cls is None:
        raise UserInputError(f"unknown executor {name!r}: choose one of {', '.join(EXECUTORS)}")
    return cls(**options)


@contextlib.contextmanager
def open_executor(name: str = "local", **options: Any) -> Iterator[Executor]:
    ex = get_executor(name, **options)
    try:
        yield ex
    finally:
        ex.close()


# ------------------------------------------------------------------------------------------- local
def work_files(work: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for path in sorted(work.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[path.relative_to(work).as_posix()] = path.read_bytes()
    return out


def materialize(inputs: dict[str, Path], tree: Path) -> None:
    for rel, src in inputs.items():
        dest = confine(tree, rel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)


def call_in_folders(fn: JobFn, payload: Any, inputs: dict[str, Path] | None) -> JobResult:
    """``fn(tree, work, payload)`` in fresh folders; the work folder's files come back."""
    with tempfile.TemporaryDirectory(prefix="dvsmith-job-") as tmp:
        tree, work = Path(tmp) / "tree", Path(tmp) / "work"
        tree.mkdir()
        work.mkdir()
        materialize(inputs or {}, tree)
        value = fn(tree, work, payload)
        return JobResult(value=value, files=work_files(work))


@register
class LocalExecutor(Executor):
    """This machine: the adapter compiles and runs in-process (compiles serialized by the adapter)."""

    name = "local"

    def __init__(self, **_: Any) -> None:
        pass

    async def compile(self, adapter: SimulatorAdapter, req: CompileRequest) -> CompileResult:
        return await adapter.compile(req)

    async def run(self, adapter: SimulatorAdapter, req: RunRequest) -> RunResult:
        return await adapter.run(req)

    async def call(self, fn: JobFn, payload: Any, inputs: dict[str, Path] | None = None, *,
                   kind: str = "run") -> JobResult:  # fmt: skip
        return await asyncio.to_thread(call_in_folders, fn, payload, inputs)


# ----------------------------------------------------------------------------------------- binding
class ExecutedAdapter(SimulatorAdapter):
    """An adapter whose compiles and runs go through an executor."""

    def __init__(self, inner: SimulatorAdapter, executor: Executor) -> None:
        self.inner = inner
        self.executor = executor
        self.name = inner.name

    async def compile(self, req: CompileRequest, progress: Any = None) -> CompileResult:
        if progress is not None:
            progress(f"sent to the {self.executor.name} executor")
        return await self.executor.compile(self.inner, req)

    async def run(self, req: RunRequest) -> RunResult:
        return await self.executor.run(self.inner, req)

    def __getattr__(self, item: str) -> Any:
        if item == "toolchain" and callable(getattr(self.inner, "toolchain", None)):
            return lambda: self.executor.toolchain(self.inner)
        return getattr(self.inner, item)


def bind(adapter: SimulatorAdapter, executor: Executor | None) -> SimulatorAdapter:
    """``adapter`` running on ``executor`` (``None`` or local: the adapter itself)."""
    if executor is None or isinstance(executor, LocalExecutor):
        return adapter
    return ExecutedAdapter(adapter, executor)


def run_slots(adapter: SimulatorAdapter) -> int:
    """Runs to keep in flight for ``adapter``: one per local core, or what its executor can hold."""
    if isinstance(adapter, ExecutedAdapter):
        return adapter.executor.slots()
    return max(1, os.cpu_count() or 1)


def unit_inputs(repo_root: Path, unit: CompileUnit) -> dict[str, Path]:
    """Every file a compile of ``unit`` reads (the compile cache's input set): the sources, the files
    the unit records, the SystemVerilog files under its include folders (``+incdir+``, the including
    files' folders, the recipe's run folder). Relative path -> file."""
    root = repo_root.resolve()
    out: dict[str, Path] = {}

    def add(path: Path) -> None:
        if path.is_file():
            with contextlib.suppress(ValueError):
                out[path.resolve().relative_to(root).as_posix()] = path

    for rel in [*unit.sources, *unit.files, *([unit.filelist] if unit.filelist else [])]:
        with contextlib.suppress(ValueError):
            add(confine(root, rel))
    folders = [*unit.incdirs, *unit.include_dirs_last]
    if unit.recipe is not None and unit.recipe.run_dir not in folders:
        folders.insert(0, unit.recipe.run_dir)  # the folder the original tool resolved includes against
    for rel in folders:
        with contextlib.suppress(ValueError):
            folder = confine(root, rel)
            if folder.is_dir():
                for dirpath, dirnames, filenames in os.walk(folder):
                    dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                    for fn in sorted(filenames):
                        if fn.endswith(INCLUDE_EXTS):
                            add(Path(dirpath) / fn)
    return out
