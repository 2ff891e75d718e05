"""What the grader checks for a task (task.json's ``acceptance``): health gates and coverage targets.

The scoring in ``dvsmith.sim`` reads these; ``dvsmith.gym.models`` re-exports them for the files a build writes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
    # per covergroup (scope::name) with a functional target: the oracle's bin set ("point/bin")
    functional_bins: dict[str, list[str]] = Field(default_factory=dict)
    pass_score: float = 1.0
    timeout_s: float = 300.0
    notes: list[str] = Field(default_factory=list)
    require_uvm_finish: bool = False  # the run must end through UVM's own $finish (uvm_root.svh)
    # From dvsmith's grader probe (sim/probe.py), a channel the solution cannot write:
    require_probe: bool = False  # the run must leave the probe's report: counts, phases, test, sequences
    required_sequences: list[str] = Field(default_factory=list)  # must each be started on a sequencer
    min_items_done: int = 0  # sequence items the drivers must finish (1 when the reference's did)
    # the original's coverage points (OUT-relative file, and its sha256): a candidate's coverage counts on
    # these only (dvsmith.sim.points); None for a build without coverage
    coverage_points: str | None = None
    coverage_points_sha256: str | None = None
