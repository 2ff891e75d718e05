"""A task's difficulty, measured from its facts (``dvsmith.gym.spec``), never guessed by the AI.

Features: non-blank lines and classes to write, sequences the candidate writes and sequences started
(at every level), distinct sequencers they run on, constraint / ``with`` blocks, configuration knobs
(``uvm_config_db`` sets, factory overrides, plusargs, fields set on a sequence before it starts), and,
with a simulator, how far the reference's coverage goes beyond the base test's.

Score = lines / 40 + 1.0 x (classes to write - 1) + 1.5 x sequences started + 0.5 x sequencers
+ 1.0 x constraint blocks + 0.5 x knobs + (largest coverage gain over the base, in points) / 10.
Label: easy below 4, hard from 12, medium between; a trivial task is always easy.
The thresholds are documented in the README ("Task contents and difficulty").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from dvsmith.gym.spec import TaskSpec

Label = Literal["easy", "medium", "hard"]
EASY_BELOW = 4.0
HARD_FROM = 12.0


class DifficultyFeatures(BaseModel):
    model_config = ConfigDict(extra="ignore")

    lines_to_write: int = 0
    classes_to_write: int = 0
    sequences_to_write: int = 0
    sequences_started: int = 0  # distinct sequence classes started, at every level
    sequencers: int = 0  # distinct sequencer paths they start on
    constraint_blocks: int = 0
    config_knobs: int = 0
    coverage_over_base_max: float | None = None  # percentage points, with a simulator
    score: float = 0.0
    label: Label = "easy"


def features_of(spec: TaskSpec, coverage_over_base: dict[str, float] | None = None) -> DifficultyFeatures:
    seqs = {s.sequence for s in spec.starts if s.kind == "sequence"}
    sqrs = {s.sequencer_type or s.sequencer for s in spec.starts if s.kind == "sequence"}
    knobs = (
        len(spec.config_sets)
        + len(spec.overrides)
        + len({p.name for p in spec.plusargs})
        + sum(len(s.settings) for s in spec.starts)
        + len(spec.constructor_sets)
    )
    gain = max(coverage_over_base.values(), default=0.0) if coverage_over_base else None
    f = DifficultyFeatures(
        lines_to_write=sum(c.lines for c in spec.classes_to_write),
        classes_to_write=len(spec.classes_to_write),
        sequences_to_write=sum(1 for c in spec.classes_to_write if c.kind.startswith("sequence")),
        sequences_started=len(seqs),
        sequencers=len(sqrs),
        constraint_blocks=sum(c.constraint_blocks for c in spec.classes_to_write),
        config_knobs=knobs,
        coverage_over_base_max=round(gain, 4) if gain is not None else None,
    )
    score = (
        f.lines_to_write / 40.0
        + 1.0 * max(f.classes_to_write - 1, 0)
        + 1.5 * f.sequences_started
        + 0.5 * f.sequencers
        + 1.0 * f.constraint_blocks
        + 0.5 * f.config_knobs
        + (max(gain, 0.0) / 10.0 if gain is not None else 0.0)
    )
    f.score = round(score, 3)
    f.label = label_of(score, trivial=spec.trivial)
    return f


def label_of(score: float, *, trivial: bool = False) -> Label:
    if trivial or score < EASY_BELOW:
        return "easy"
    return "hard" if score >= HARD_FROM else "medium"
