"""Shared machinery of the commercial simulator adapters (Questa, Xcelium, VCS).

They cannot run on this machine; each adapter builds its tool's command lines, runs them when the
tool is on PATH, and parses the tool's log (the same UVM summary parser plus tool-specific error
lines) and coverage report text into the common ``CoverageSummary``.

The compile unit becomes one filelist (``dvsmith.f``: ``+incdir+``, ``+define+``, absolute sources)
passed with ``-f``. UVM is the tool's built-in library unless ``uvm_home`` is given, in which case
``+incdir+$UVM_HOME/src $UVM_HOME/src/uvm_pkg.sv`` is compiled first (pure-SV, ``UVM_NO_DPI``).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from abc import abstractmethod
from pathlib import Path

import orjson

from dvsmith import paths
from dvsmith.errors import ToolchainError
from dvsmith.sim.base import (
    CompileRequest,
    CompileResult,
    RunRequest,
    RunResult,
    SimulatorAdapter,
    StepCallback,
    run_process,
)
from dvsmith.sim.coverage import CoverageSummary
from dvsmith.sim.lexscan import find_uvm_top
from dvsmith.sim.uvmlog import parse_uvm_log

FILELIST = "dvsmith.f"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def filelist_lines(req: CompileRequest, uvm_home: Path | None, *, uvm_in_filelist: bool = True) -> list[str]:
    """The lines of the unit's filelist (paths confined to the repo; ``ValueError`` otherwise)."""
    root = req.repo_root.resolve()
    unit = req.unit
    lines: list[str] = []
    if uvm_home is not None and uvm_in_filelist:
        lines += ["+define+UVM_NO_DPI", f"+incdir+{uvm_home / 'src'}"]
    defines = {**unit.defines, **req.extra_defines}
    for name in sorted(defines):
        value = defines[name]
        lines.append(f"+define+{name}" if value is None else f"+define+{name}={value}")
    lines += [f"+incdir+{paths.confine(root, d)}" for d in unit.incdirs]
    if uvm_home is not None and uvm_in_filelist:
        lines.append(str(uvm_home / "src" / "uvm_pkg.sv"))
    lines += [str(paths.confine(root, s)) for s in unit.sources]
    return lines


def run_stem(req: RunRequest) -> str:
    return f"{_SAFE_NAME.sub('_', req.test)}.s{req.seed}"


class CommercialAdapter(SimulatorAdapter):
    """A simulator driven through command lines (see the subclasses)."""

    tool = ""  # log dialect for parse_uvm_log
    executables: tuple[str, ...] = ()
    compile_error_res: tuple[re.Pattern[str], ...] = ()
    uvm_in_filelist = True  # a given UVM_HOME is compiled from the filelist (else a tool option)

    def __init__(self, *, uvm_home: Path | str | None = None) -> None:
        self.uvm_home = Path(uvm_home).expanduser().resolve() if uvm_home else None
        self.compiles = 0

    # ------------------------------------------------------------------ what subclasses provide
    @abstractmethod
    def compile_commands(self, req: CompileRequest, top: str | None) -> list[list[str]]:
        """Commands run in ``req.work_dir`` (the filelist ``dvsmith.f`` is there)."""

    @abstractmethod
    def run_commands(self, req: RunRequest, cov_dir: Path) -> list[list[str]]:
        """Commands run in ``req.work_dir``; ``req.binary`` is the compile's work folder."""

    @abstractmethod
    def coverage_report_command(self, req: RunRequest, cov_dir: Path, report: Path) -> list[str] | None:
        """A command writing a text coverage report to ``report`` (or to stdout captured there)."""

    @abstractmethod
    def parse_coverage_report(self, text: str) -> CoverageSummary: ...

    def coverage_report_path(self, req: RunRequest, cov_dir: Path, report: Path) -> Path:
        """Where the report text ends up (stdout capture by default)."""
        return report

    def read_coverage(self, req: RunRequest, cov_dir: Path, report: Path) -> CoverageSummary | None:
        """The parsed report after ``coverage_report_command`` ran (``None`` when it wrote nothing)."""
        text_path = self.coverage_report_path(req, cov_dir, report)
        if not text_path.is_file():
            return None
        summary = self.parse_coverage_report(text_path.read_text(errors="replace"))
        summary.source = str(text_path)
        return summary

    # ----------------------------------------------------------------------------- execution
    def _require(self) -> None:
        for exe in self.executables:
            if shutil.which(exe) is None:
                raise ToolchainError(f"{self.name}: {exe} not found on PATH")

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.uvm_home is not None:
            env["UVM_HOME"] = str(self.uvm_home)
        return env

    def compile_errors(self, text: str) -> list[str]:
        out = [ln.strip()[:500] for ln in text.splitlines() if any(r.match(ln.strip()) for r in self.compile_error_res)]
        return out[:40]

    async def compile(self, req: CompileRequest, progress: StepCallback | None = None) -> CompileResult:
        self._require()
        wd = req.work_dir.resolve()
        wd.mkdir(parents=True, exist_ok=True)
        log = wd / "compile.log"
        start = time.perf_counter()
        try:
            lines = filelist_lines(req, self.uvm_home, uvm_in_filelist=self.uvm_in_filelist)
        except ValueError as exc:
            msg = f"bad path in compile unit {req.unit.name!r}: {exc}"
            paths.atomic_write_text(log, msg + "\n")
            return CompileResult(ok=False, binary=None, log=log, seconds=0.0, errors=[msg])
        paths.atomic_write_text(wd / FILELIST, "\n".join(lines) + "\n")
        top = req.unit.top_modules[0] if req.unit.top_modules else None
        if top is None:
            root = req.repo_root.resolve()
            top = find_uvm_top([paths.confine(root, s) for s in req.unit.sources])
        commands = self.compile_commands(req.model_copy(update={"work_dir": wd}), top)
        key = hashlib.sha256(orjson.dumps([commands, lines])).hexdigest()
        texts: list[str] = []
        self.compiles += 1
        for i, cmd in enumerate(commands):
            step_log = wd / f"compile.{i}.log"
            outcome = await run_process(cmd, cwd=wd, env=self._env(), stdout_path=step_log)
            texts.append(f"$ {' '.join(cmd)}\n" + step_log.read_text(errors="replace"))
            if outcome.exit_code != 0:
                paths.atomic_write_text(log, "\n".join(texts))
                errors = self.compile_errors(texts[-1]) or [f"{cmd[0]} exited with {outcome.exit_code}"]
                return CompileResult(
                    ok=False,
                    binary=None,
                    log=log,
                    seconds=time.perf_counter() - start,
                    errors=errors,
                    key=key,
                    command=cmd,
                    top=top,
                )
        paths.atomic_write_text(log, "\n".join(texts))
        return CompileResult(
            ok=True,
            binary=wd,
            log=log,
            seconds=time.perf_counter() - start,
            key=key,
            command=commands[-1],
            top=top,
        )

    async def run(self, req: RunRequest) -> RunResult:
        self._require()
        wd = req.work_dir.resolve()
        wd.mkdir(parents=True, exist_ok=True)
        req = req.model_copy(update={"work_dir": wd})
        stem = run_stem(req)
        log = wd / f"{stem}.log"
        cov_dir = wd / f"{stem}.cov"
        commands = self.run_commands(req, cov_dir)
        start = time.perf_counter()
        exit_code: int | None = 0
        timed_out = False
        for cmd in commands:
            outcome = await run_process(cmd, cwd=wd, env=self._env(), stdout_path=log, timeout_s=req.timeout_s)
            exit_code, timed_out = outcome.exit_code, outcome.timed_out
            if timed_out or exit_code != 0:
                break
        wall = time.perf_counter() - start
        health = parse_uvm_log(
            log.read_text(errors="replace") if log.is_file() else "",
            req.test,
            tool=self.tool,
            process_timed_out=timed_out,
        )
        coverage: CoverageSummary | None = None
        report = wd / f"{stem}.coverage.txt"
        rep_cmd = self.coverage_report_command(req, cov_dir, report)
        if rep_cmd is not None and not timed_out:
            outcome = await run_process(rep_cmd, cwd=wd, env=self._env(), stdout_path=report, timeout_s=600)
            if outcome.exit_code == 0:
                coverage = self.read_coverage(req, cov_dir, report)
        return RunResult(
            exit_code=exit_code,
            timed_out=timed_out,
            log=log,
            coverage_file=cov_dir if cov_dir.exists() else None,
            wall_s=wall,
            health=health,
            coverage=coverage,
            command=commands[-1] if commands else [],
        )


_PCT = r"(?P<pct>\d+(?:\.\d+)?)%"


def pct_value(text: str) -> float | None:
    m = re.search(_PCT, text)
    return float(m["pct"]) if m else None
