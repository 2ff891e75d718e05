"""The simulator adapter interface: compile a compile unit once, run tests of the result.

Every adapter is async (compiles and runs are subprocesses) and never raises for a failed compile or
a failing test: those are results. A missing tool raises ``dvsmith.errors.ToolchainError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import secrets
import signal
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from dvsmith.analysis.profile import CompileUnit
from dvsmith.sim.coverage import CoverageSummary
from dvsmith.sim.covergroups.model import FcovResults, Unsupported
from dvsmith.sim.probe import ProbeReport
from dvsmith.sim.sandbox import TOKEN_VAR, detect_mode, sweep, wrap
from dvsmith.sim.uvmlog import LogHealth

SIMULATORS = ("verilator", "questa", "xcelium", "vcs")
_A = TypeVar("_A", bound="SimulatorAdapter")


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
    probe: bool = True  # compile dvsmith's grader probe in (sim/probe.py); health then comes from it
    uvm_subset: bool = True  # UVM without its register layer when the testbench never names it (sim/uvmpkg.py)
    coverage_fsm: bool = True  # Verilator: False gives line/toggle/expr/user coverage without FSM coverage
    cxx: str = "auto"  # Verilator: "auto" = the toolchain's C++ compiler (clang++ when installed); "gcc" = g++


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
    tops: list[str] = Field(default_factory=list)  # every top module elaborated
    coverage_flags: list[str] = Field(default_factory=list)  # the coverage flags the build used
    cxx: str = ""  # the C++ compiler of the build ("gcc" | "clang"; "" when not Verilator or cached)
    retried_with_gxx: bool = False  # clang++ failed on the generated C++ and g++ built it
    retried_without_fsm: bool = False  # the first build failed inside Verilator with FSM coverage
    hdl_backdoor: bool = False  # built with UVM's DPI and dvsmith's VPI hdl backend (sim/hdl_backdoor.py)
    uvm_dpi: bool = False  # built with UVM's DPI code (command line, regex, reporting), backdoor or not
    diagnosis: list[dict] = Field(default_factory=list)  # causes of a failed compile (dvsmith.sim.diagnose)
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
    probe: ProbeReport | None = None  # what the grader probe wrote (None: see probe_error)
    probe_error: str | None = None
    sandbox: str = "none"  # how the simulator was confined: bwrap | unshare | none
    leftovers_killed: int = 0  # processes the run left behind, killed before any output was read


StepCallback = Callable[[str], None]


class SimulatorAdapter(ABC):
    """One simulator. ``compile`` builds a unit once; ``run`` runs one test of what it built."""

    name: str = ""

    @abstractmethod
    async def compile(self, req: CompileRequest, progress: StepCallback | None = None) -> CompileResult:
        """Compile ``req.unit``; ``progress`` (optional) is called with a short text whenever the compile
        moves to a new step ("verilating", "C++ 12/40 files", "linking")."""

    @abstractmethod
    async def run(self, req: RunRequest) -> RunResult: ...


class ProcessOutcome(_Model):
    exit_code: int | None
    timed_out: bool
    seconds: float
    sandbox: str = "none"  # bwrap | unshare | none (see dvsmith.sim.sandbox)
    leftovers_killed: int = 0  # processes the command left behind, killed after it exited


async def run_process(
    cmd: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    stdout_path: Path,
    stderr_path: Path | None = None,
    timeout_s: float | None = None,
    sandbox_writable: list[Path] | None = None,
) -> ProcessOutcome:
    """Run ``cmd`` in its own process group (a new session), output to files; on timeout kill the group.

    When the command exits, every process it left (its group, its session, or any process carrying this
    run's token in its environment) is killed before this returns, so nothing can change the output
    files afterwards. With ``sandbox_writable``, the command runs in the namespace sandbox the machine
    allows, with only those folders writable (``dvsmith.sim.sandbox``); the mode is in the outcome.
    With ``stderr_path`` None, standard error goes into the same file as standard output.
    """
    stdout_path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    env = {**env, TOKEN_VAR: token}
    mode = "none"
    if sandbox_writable is not None:
        mode = await asyncio.to_thread(detect_mode)
        cmd = wrap(cmd, sandbox_writable, mode)
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
            await asyncio.to_thread(sweep, proc.pid, token)
            raise
        leftovers = await asyncio.to_thread(sweep, proc.pid, token)
    seconds = time.perf_counter() - start
    return ProcessOutcome(
        exit_code=None if timed_out else proc.returncode,
        timed_out=timed_out,
        seconds=seconds,
        sandbox=mode,
        leftovers_killed=leftovers,
    )


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


#: adapter classes by every name they answer to, filled by ``register_adapter`` as each adapter module loads
_REGISTRY: dict[str, type[SimulatorAdapter]] = {}
#: the adapters dvsmith ships: imported by name the first time an adapter is asked for (like pytest's
#: default plugins), so this module never imports them and a third adapter only has to register itself
BUILTIN_ADAPTERS = ("dvsmith.sim.verilator", "dvsmith.sim.questa", "dvsmith.sim.xcelium", "dvsmith.sim.vcs")


def register_adapter(*aliases: str) -> Callable[[type[_A]], type[_A]]:
    """Class decorator: the adapter answers ``get_adapter(cls.name)`` and ``get_adapter(alias)``."""

    def add(cls: type[_A]) -> type[_A]:
        for key in (cls.name, *aliases):
            _REGISTRY[key.lower()] = cls
        return cls

    return add


def get_adapter(name: str, *, uvm_home: Path | str | None = None) -> SimulatorAdapter:
    """The adapter for ``name`` (verilator, questa, xcelium, vcs). ``uvm_home`` overrides the UVM
    library the adapter compiles with (Verilator; commercial tools use their built-in UVM unless
    it is given)."""
    key = name.strip().lower()
    if key not in _REGISTRY:
        for module in BUILTIN_ADAPTERS:
            importlib.import_module(module)
    cls = _REGISTRY.get(key)
    if cls is None:
        from dvsmith.errors import UserInputError

        raise UserInputError(f"unknown simulator {name!r}: choose one of {', '.join(SIMULATORS)}")
    return cls(uvm_home=uvm_home)
