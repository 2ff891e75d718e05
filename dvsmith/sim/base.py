"""The simulator adapter interface: compile a compile unit once, run tests of the result.

Every adapter is async (compiles and runs are subprocesses) and never raises for a failed compile or
a failing test: those are results. A missing tool raises ``dvsmith.errors.ToolchainError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from abc import ABC, abstractmethod
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from dvsmith.analysis.profile import CompileUnit
from dvsmith.sim.coverage import CoverageSummary
from dvsmith.sim.covergroups.model import FcovResults, Unsupported
from dvsmith.sim.uvmlog import LogHealth

SIMULATORS = ("verilator", "questa", "xcelium", "vcs")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CompileRequest(_Model):
    repo_root: Path
    unit: CompileUnit
    work_dir: Path  # compile.log goes here
    coverage: bool = True
    opt: str = "-O0"  # C++ optimization of the generated model (Verilator)
    extra_defines: dict[str, str | None] = Field(default_factory=dict)
    jobs: int = 2
    use_cache: bool = True  # False (--no-cache): compile even when an identical build is cached


class CompileResult(_Model):
    ok: bool
    binary: Path | None  # Verilator: the simulation executable; others: the compiled work folder
    log: Path
    seconds: float
    errors: list[str] = Field(default_factory=list)  # the relevant lines of the log
    cached: bool = False
    key: str = ""
    command: list[str] = Field(default_factory=list)
    top: str | None = None
    # covergroup lowering (Verilator): covergroups lowered, not supported, text naming dvsmith's runtime
    fcov_lowered: list[str] = Field(default_factory=list)
    fcov_unsupported: list[Unsupported] = Field(default_factory=list)
    fcov_tampering: list[str] = Field(default_factory=list)


class RunRequest(_Model):
    binary: Path
    test: str
    seed: int = 1
    plusargs: list[str] = Field(default_factory=list)
    timeout_s: float = 300.0
    work_dir: Path


class RunResult(_Model):
    exit_code: int | None  # None when the process was killed by our timeout
    timed_out: bool
    log: Path  # the simulator's standard output (UVM reports)
    stderr_log: Path | None = None
    coverage_file: Path | None = None
    wall_s: float
    health: LogHealth
    coverage: CoverageSummary | None = None
    functional: FcovResults | None = None  # lowered covergroups' hit counts (Verilator)
    command: list[str] = Field(default_factory=list)


class SimulatorAdapter(ABC):
    """One simulator. ``compile`` builds a unit once; ``run`` runs one test of what it built."""

    name: str = ""

    @abstractmethod
    async def compile(self, req: CompileRequest) -> CompileResult: ...

    @abstractmethod
    async def run(self, req: RunRequest) -> RunResult: ...


class ProcessOutcome(_Model):
    exit_code: int | None
    timed_out: bool
    seconds: float


async def run_process(
    cmd: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    stdout_path: Path,
    stderr_path: Path | None = None,
    timeout_s: float | None = None,
) -> ProcessOutcome:
    """Run ``cmd`` in its own process group, output to files; on timeout kill the whole group.

    With ``stderr_path`` None, standard error goes into the same file as standard output.
    """
    stdout_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(stdout_path.open("wb"))
        err = stack.enter_context(stderr_path.open("wb")) if stderr_path is not None else None
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            cwd=str(cwd),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=err if err is not None else asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        timed_out = False
        try:
            await asyncio.wait_for(proc.wait(), timeout=timeout_s)
        except TimeoutError:
            timed_out = True
            _kill_group(proc.pid)
            await proc.wait()
        except BaseException:
            _kill_group(proc.pid)
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(proc.wait(), timeout=5)
            raise
    seconds = time.perf_counter() - start
    return ProcessOutcome(exit_code=None if timed_out else proc.returncode, timed_out=timed_out, seconds=seconds)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def get_adapter(name: str, *, uvm_home: Path | str | None = None) -> SimulatorAdapter:
    """The adapter for ``name`` (verilator, questa, xcelium, vcs). ``uvm_home`` overrides the UVM
    library the adapter compiles with (Verilator; commercial tools use their built-in UVM unless
    it is given)."""
    key = name.strip().lower()
    if key == "verilator":
        from dvsmith.sim.verilator import VerilatorAdapter

        return VerilatorAdapter(uvm_home=uvm_home)
    if key in ("questa", "modelsim", "vsim"):
        from dvsmith.sim.questa import QuestaAdapter

        return QuestaAdapter(uvm_home=uvm_home)
    if key in ("xcelium", "xrun"):
        from dvsmith.sim.xcelium import XceliumAdapter

        return XceliumAdapter(uvm_home=uvm_home)
    if key == "vcs":
        from dvsmith.sim.vcs import VcsAdapter

        return VcsAdapter(uvm_home=uvm_home)
    from dvsmith.errors import UserInputError

    raise UserInputError(f"unknown simulator {name!r}: choose one of {', '.join(SIMULATORS)}")
