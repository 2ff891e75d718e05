"""Files a build writes: task.json and build.json (SPEC section 3)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dvsmith.ai.schema import Difficulty, MetadataSource
from dvsmith.analysis.profile import CompileUnit
from dvsmith.gym.difficulty import DifficultyFeatures
from dvsmith.gym.spec import TaskSpec
from dvsmith.sim.acceptance import Acceptance, CoverageTarget  # noqa: F401  (re-exported: the grader owns them)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class OracleResult(_Model):
    passed: bool
    reason: str = ""
    uvm_errors: int | None = None
    uvm_fatals: int | None = None
    uvm_warnings: int | None = None
    test_started: bool = False
    coverage: dict[str, float] = Field(default_factory=dict)
    sim_time: str | None = None
    wall_s: float = 0.0
    log: str | None = None


class Task(_Model):
    id: str
    test_name: str
    title: str
    difficulty: Difficulty
    difficulty_reason: str
    description: str
    goal: str
    hints: list[str]
    covergroups: list[str] = Field(default_factory=list)
    sequences: list[str] = Field(default_factory=list)
    files_to_write: list[str] = Field(default_factory=list)  # paths in gym/
    test_select: str = ""  # e.g. +UVM_TESTNAME=foo_test
    acceptance: Acceptance = Field(default_factory=Acceptance)
    metadata_source: MetadataSource = "offline"
    content_hash: str = ""
    # extras
    compile_unit: str | None = None
    test_file: str = ""
    base_class: str | None = None
    removed_classes: list[str] = Field(default_factory=list)
    removed_files: list[str] = Field(default_factory=list)
    removed_references: list[dict[str, Any]] = Field(default_factory=list)
    oracle_files: list[str] = Field(default_factory=list)  # paths under oracle/ID/
    requires: list[str] = Field(default_factory=list)  # other tasks' tests this task writes too (non-base parents)
    valid: bool = True
    invalid_reason: str | None = None
    oracle_result: OracleResult | None = None
    plusargs: list[str] = Field(default_factory=list)  # run-time plusargs the repo's build gives this test
    rewrites: list[dict[str, Any]] = Field(default_factory=list)  # Verilator rewrites in the gym {name, file, ...}
    # facts read from the reference and the gym (dvsmith.gym.spec), never from the AI
    spec: TaskSpec | None = None
    difficulty_features: DifficultyFeatures | None = None  # what the difficulty label is computed from
    trivial: bool = False  # static: an empty subclass of its base; with a simulator: the base reaches acceptance
    trivial_reason: str | None = None
    coverage_over_base: dict[str, float] | None = None  # oracle minus base test, percentage points per metric
    hints_dropped: list[dict[str, str]] = Field(default_factory=list)  # {hint, reason}: contradicted by the facts


class TaskStatus(_Model):
    id: str
    test_name: str
    metadata_source: MetadataSource
    metadata_fell_back: bool = False
    static_ok: bool = True
    static_problems: list[str] = Field(default_factory=list)
    valid: bool = True
    invalid_reason: str | None = None
    oracle: OracleResult | None = None
    nop: OracleResult | None = None  # the gym as it is, run for this task: must fail
    base: OracleResult | None = None  # the base test run on the original (trivial check)
    trivial: bool = False


class SimSummary(_Model):
    simulator: str
    compiles: int = 0
    compiles_cached: int = 0
    runs: int = 0
    oracle_runs: int = 0  # each task's reference test on the original
    nop_runs: int = 0  # each task's test on the gym as it is (must fail)
    base_runs: int = 0  # each task's base test on the original (trivial check)
    compile_s: dict[str, float] = Field(default_factory=dict)  # "gym:<unit>" / "original:<unit>" -> seconds
    compile_ok: dict[str, bool] = Field(default_factory=dict)
    compile_errors: dict[str, list[str]] = Field(default_factory=dict)
    compile_diagnosis: dict[str, list[str]] = Field(default_factory=dict)  # one line per cause of a failed compile
    compile_causes: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)  # the same, structured
    compile_commands: dict[str, list[str]] = Field(default_factory=dict)  # the exact Verilator commands
    compile_coverage_flags: dict[str, list[str]] = Field(default_factory=dict)
    compile_retried_without_fsm: list[str] = Field(default_factory=list)
    compile_hdl_backdoor: list[str] = Field(default_factory=list)  # built with UVM's DPI + VPI (HDL backdoor)
    compile_uvm_dpi: list[str] = Field(default_factory=list)  # built with UVM's DPI (backdoor or command line)
    compile_cxx: dict[str, str] = Field(default_factory=dict)  # the C++ compiler of each build ("gcc" | "clang")
    compile_retried_with_gxx: list[str] = Field(default_factory=list)  # clang++ failed on the C++, g++ built it
    tool_versions: dict[str, str] = Field(default_factory=dict)
    # per compile ("gym:<unit>"/"original:<unit>"): covergroups lowered, and those not (file:line, construct)
    covergroups: dict[str, dict[str, Any]] = Field(default_factory=dict)


class RewriteSettings(_Model):
    """Which Verilator rewrites a build applies (the profile's ``dvsmith.toml`` choice), kept in build.json
    so that `dvsmith eval` rewrites a candidate's files as the build rewrote the gym and the original."""

    enabled: bool = True
    disabled: list[str] = Field(default_factory=list)


class BuildReport(_Model):
    schema_version: int = 1
    dvsmith_version: str
    profile: str
    repo_root: str
    profile_fingerprint: str
    profile_refreshed: list[str] = Field(default_factory=list)  # files re-analysed because they changed
    out_dir: str
    created_at: str
    options: dict[str, Any] = Field(default_factory=dict)
    phases: dict[str, float] = Field(default_factory=dict)
    wall_s: float = 0.0
    ai: dict[str, Any] = Field(default_factory=dict)
    tasks: list[TaskStatus] = Field(default_factory=list)
    static_problems: list[str] = Field(default_factory=list)
    sim: SimSummary | None = None
    compile_units: list[CompileUnit] = Field(default_factory=list)  # as in the profile, paths gym-relative
    out_replaced: str = ""  # what OUT was before this build: absent|empty|build|forced
    stale_temps_removed: list[str] = Field(default_factory=list)  # temp folders of dead builds cleaned up
    # how real repos are simulated (issue 13): each unit's recipe is in compile_units[].recipe
    uvm_flavours: dict[str, str] = Field(default_factory=dict)  # unit -> "1.1" | "1.2" | "2017"
    uvm_compat: list[str] = Field(default_factory=list)  # what the build adds for UVM 1.x units, one line each
    rewrites: list[dict[str, Any]] = Field(default_factory=list)  # {name, file, line, what}, on the original
    # how candidates' files are rewritten at eval (None: a build older than that, candidates left as they are)
    rewrite_settings: RewriteSettings | None = None
    skipped_trivial: list[dict[str, str]] = Field(default_factory=list)  # {test, reason}: left out (--keep-trivial)
    ok: bool = True


class SkippedTrivial(BaseModel):
    """A test left out of the gym because its task would be trivial (``build.json: skipped_trivial``)."""

    test: str
    file: str = ""
    id: str
    reason: str
    when: str = "static"  # static (empty subclass) | simulation (the base test reaches the acceptance)
