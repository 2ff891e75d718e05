"""Files a build writes: task.json and build.json (SPEC section 3)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dvsmith.ai.schema import Difficulty, MetadataSource
from dvsmith.analysis.profile import CompileUnit
from dvsmith.gym.difficulty import DifficultyFeatures
from dvsmith.gym.spec import TaskSpec


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CoverageTarget(_Model):
    metric: str  # line|branch|expr|toggle|user|functional
    oracle: float  # oracle's percentage (0..100)
    target: float  # the percentage a candidate must reach
    weight: float = 1.0


class Acceptance(_Model):
    """What the grader checks. Health is a gate; coverage is scored against targets."""

    max_uvm_errors: int = 0
    max_uvm_fatals: int = 0
    require_test_started: bool = True
    coverage_fraction: float = 0.9  # fraction of the oracle's coverage each metric must reach
    coverage: list[CoverageTarget] = Field(default_factory=list)
    coverage_files: list[str] = Field(default_factory=list)  # gym-relative files coverage is measured on
    functional_coverage: str = "unsupported"  # "unsupported" under Verilator, else "measured"
    pass_score: float = 1.0
    timeout_s: float = 300.0
    notes: list[str] = Field(default_factory=list)
    require_uvm_finish: bool = False  # the run must end through UVM's own $finish (uvm_root.svh)


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
    tool_versions: dict[str, str] = Field(default_factory=dict)


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
    skipped_trivial: list[dict[str, str]] = Field(default_factory=list)  # {test, reason}: left out (--keep-trivial)
    ok: bool = True
