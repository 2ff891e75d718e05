"""The profile: what ingest learns about a repository (SPEC section 2).

Field names here are a contract read by other programs: keep them. Extra fields are welcome.
All ``file`` values are POSIX paths relative to the repo root; ``line`` values are 1-based.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class GitInfo(_Model):
    commit: str | None = None
    remote: str | None = None
    dirty: bool = False


class Span(_Model):
    """Source range of a declaration: byte offsets [start, end) in the file, and its lines."""

    start: int
    end: int
    line: int
    end_line: int


class ClassRef(_Model):
    name: str
    file: str
    line: int
    base_class: str | None = None


class TestInfo(ClassRef):
    is_base: bool = False
    in_build: bool = True
    sequences: list[str] = Field(default_factory=list)
    # extras (not in the SPEC contract, used by build/eval)
    is_virtual: bool = False
    base_chain: list[str] = Field(default_factory=list)  # direct base first, up to uvm_test
    span: Span | None = None
    extern_spans: list[Span] = Field(default_factory=list)  # out-of-class method bodies (same file)
    compile_unit: str | None = None
    plusargs: list[str] = Field(default_factory=list)  # run-time plusargs the repo's build gives this test


class SequenceInfo(ClassRef):
    is_virtual_sequence: bool = False
    in_build: bool = True
    base_chain: list[str] = Field(default_factory=list)
    span: Span | None = None
    extern_spans: list[Span] = Field(default_factory=list)


class ComponentInfo(ClassRef):
    """sequence_items, agents, envs, drivers, monitors, scoreboards, sequencers."""


class CovergroupInfo(_Model):
    name: str
    file: str
    line: int
    scope: str | None = None  # enclosing class or module
    coverpoints: list[str] = Field(default_factory=list)
    crosses: list[str] = Field(default_factory=list)


class PackageInfo(_Model):
    name: str
    file: str
    includes: list[str] = Field(default_factory=list)  # repo-relative resolved paths


class NamedFile(_Model):
    name: str
    file: str


class ClassDecl(_Model):
    """Every class found (extra): the inheritance graph and source ranges cleaning needs."""

    name: str
    file: str
    line: int
    base_class: str | None = None
    base_chain: list[str] = Field(default_factory=list)
    is_virtual: bool = False
    kind: str = "other"  # test|sequence|sequence_item|agent|env|driver|monitor|scoreboard|sequencer|other
    in_build: bool = True
    span: Span | None = None
    extern_spans: list[Span] = Field(default_factory=list)
    scope: str | None = None  # enclosing package/module/class, when any


class BuildInfo(_Model):
    kind: Literal["makefile", "filelist", "fusesoc", "script", "none"] = "none"
    files: list[str] = Field(default_factory=list)  # Makefiles, scripts, .core files
    filelists: list[str] = Field(default_factory=list)
    simulators: list[str] = Field(default_factory=list)
    test_select: str | None = None  # e.g. "+UVM_TESTNAME", "make TEST=<name>"
    # extra: the Makefile variable that carries the test name into +UVM_TESTNAME (``make TEST=<name>``)
    test_var: str | None = None


class Recipe(_Model):
    """How the repo's own build compiles and runs a unit (extra): what its Makefile/script printed.

    Paths are repo-relative. ``run_dir`` is the folder the simulator command runs in: the original tool
    resolves `` `include "x" `` against it first, then the ``+incdir+`` folders, then the including file's
    folder, and the Verilator command reproduces that order.
    """

    origin: str = ""  # "sim/Makefile:compile", a script, or a filelist
    source: Literal["make-dry-run", "static", "filelist", "config"] = "static"
    tool: str | None = None  # the simulator command word that compiled (xrun, vcs, vlog, verilator, ...)
    run_dir: str = "."
    commands: list[str] = Field(default_factory=list)  # the simulator command lines, as the build printed them
    timescale: str | None = None
    plusargs: list[str] = Field(default_factory=list)  # run-time plusargs common to every test
    test_plusargs: dict[str, list[str]] = Field(default_factory=dict)  # test -> its own extra plusargs
    test_defines: dict[str, dict[str, str | None]] = Field(default_factory=dict)  # test -> its own extra defines
    verilog_exts: list[str] = Field(default_factory=list)  # extensions compiled as Verilog-2001 (".v"), not SV


class UvmUse(_Model):
    """One use of a UVM 1.1/1.2 API that UVM 1800.2-2017 deprecated or dropped (extra)."""

    file: str
    line: int
    api: str  # e.g. "uvm_test_done", "`uvm_do_with"
    flavour: Literal["1.1", "1.2"]
    dropped: bool = False  # gone from 2017 altogether (needs dvsmith's compatibility file)


class CompileUnit(_Model):
    """One independently compiled testbench in the repo (extra): what a simulator adapter compiles.

    Most repos have one. A repo holding two independent testbenches (each with its own top module and
    filelist) has two; each test belongs to exactly one unit (``TestInfo.compile_unit``).
    """

    name: str  # unique in the profile, e.g. the filelist stem or the top module
    root: str = "."  # folder (repo-relative) commands run from; relative paths below are repo-relative
    filelist: str | None = None  # the root filelist this unit came from, when any
    sources: list[str] = Field(default_factory=list)  # ordered compile list, repo-relative
    incdirs: list[str] = Field(default_factory=list)
    defines: dict[str, str | None] = Field(default_factory=dict)
    top_modules: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)  # every repo file the unit reads (sources + includes)
    # extras for real repositories (issue 13)
    recipe: Recipe | None = None
    include_dirs_last: list[str] = Field(default_factory=list)  # including files' folders, searched last
    uvm_flavour: Literal["1.1", "1.2", "2017"] = "2017"
    uvm_uses: list[UvmUse] = Field(default_factory=list)
    variant_of: str | None = None  # a per-test define variant of this unit


class Diagnostic(_Model):
    file: str
    line: int = 0
    message: str


class FileRecord(_Model):
    """One analysed file (extra): used for the fingerprint and to notice changes since ingest."""

    path: str
    size: int
    mtime_ns: int
    sha256: str
    includes: list[str] = Field(default_factory=list)
    in_build: bool = True


class Profile(_Model):
    schema_version: int = SCHEMA_VERSION
    name: str
    repo_root: str
    git: GitInfo | None = None
    created_at: str
    fingerprint: str

    tests: list[TestInfo] = Field(default_factory=list)
    sequences: list[SequenceInfo] = Field(default_factory=list)
    sequence_items: list[ComponentInfo] = Field(default_factory=list)
    agents: list[ComponentInfo] = Field(default_factory=list)
    envs: list[ComponentInfo] = Field(default_factory=list)
    drivers: list[ComponentInfo] = Field(default_factory=list)
    monitors: list[ComponentInfo] = Field(default_factory=list)
    scoreboards: list[ComponentInfo] = Field(default_factory=list)
    sequencers: list[ComponentInfo] = Field(default_factory=list)
    covergroups: list[CovergroupInfo] = Field(default_factory=list)
    packages: list[PackageInfo] = Field(default_factory=list)
    interfaces: list[NamedFile] = Field(default_factory=list)
    modules: list[NamedFile] = Field(default_factory=list)
    build: BuildInfo = Field(default_factory=BuildInfo)
    diagnostics: list[Diagnostic] = Field(default_factory=list)

    # extras
    classes: list[ClassDecl] = Field(default_factory=list)
    compile_units: list[CompileUnit] = Field(default_factory=list)
    sim_config: str | None = None  # the dvsmith.toml (or --sim-config file) that was applied
    rewrites_enabled: bool = True  # Verilator compatibility rewrites (dvsmith.toml ``rewrites``)
    rewrites_disabled: list[str] = Field(default_factory=list)  # rewrites switched off by name
    files: list[FileRecord] = Field(default_factory=list)
