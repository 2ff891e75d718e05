"""Deterministic task metadata from the static analysis alone (no network).

Title from the test name; difficulty from measurable features (sequences started, constraint / ``with``
blocks, lines of the test and of the sequences removed with it); description, goal and hints from the
sequences and covergroups involved.
"""

from __future__ import annotations

import re

from dvsmith.ai.context import TaskContext
from dvsmith.ai.schema import Difficulty, TaskMetadata

_SPLIT_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOISE = {"test", "tc", "tb", "uvm"}
# score = 1.5 per sequence started + 1 per constraint/with block + 1 per 40 lines written
_EASY_BELOW = 4.0
_HARD_FROM = 10.0


def title_from_name(name: str) -> str:
    words = [w for part in re.split(r"[_\W]+", name) for w in _SPLIT_CAMEL.split(part) if w]
    kept = [w for w in words if w.lower() not in _NOISE] or words or ["unnamed"]
    kept = kept[:5]
    if name.islower() or name.isupper():
        kept = [kept[0].capitalize(), *(w.lower() for w in kept[1:])]
    return " ".join([*kept, "test"])


def difficulty_of(ctx: TaskContext) -> tuple[Difficulty, str]:
    f = ctx.features
    score = 1.5 * f.sequences_started + 1.0 * f.constraint_blocks + f.lines / 40.0
    level: Difficulty = "easy" if score < _EASY_BELOW else ("hard" if score >= _HARD_FROM else "medium")
    s = "" if f.sequences_started == 1 else "s"
    b = "" if f.constraint_blocks == 1 else "s"
    reason = (
        f"Starts {f.sequences_started} sequence{s}, has {f.constraint_blocks} constraint/with block{b} "
        f"and about {f.lines} lines of code to write."
    )
    return level, reason


def _quoted(names: list[str], limit: int = 4) -> str:
    shown = [f"`{n}`" for n in names[:limit]]
    if len(names) > limit:
        shown.append(f"{len(names) - limit} more")
    if len(shown) <= 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def offline_metadata(ctx: TaskContext) -> TaskMetadata:
    req = ctx.request
    base = ctx.base_class or "uvm_test"
    level, reason = difficulty_of(ctx)
    cg_names = sorted({c.name for c in ctx.covergroups})

    sentences = [f"Write the UVM test `{req.test_name}` again in `{req.test_file}`; it extends `{base}`."]
    own = list(ctx.test.sequences) if ctx.test is not None else ctx.started
    if own:
        s = "" if len(own) == 1 else "s"
        sentences.append(f"The original test starts the sequence{s} {_quoted(own)}.")
    else:
        sentences.append("The original test configures the environment and starts no sequence of its own.")
    if ctx.removed_sequences:
        one = len(ctx.removed_sequences) == 1
        noun, verb = ("sequence", "was") if one else ("sequences", "were")
        sentences.append(f"The {noun} {_quoted(ctx.removed_sequences)} {verb} removed with it and must be written too.")
    if cg_names:
        sentences.append(f"Coverage of this testbench is collected by {_quoted(cg_names)}.")
    description = " ".join(sentences[:4])

    goal = (
        f"Make `{req.test_name}` compile, run with no UVM_ERROR or UVM_FATAL, "
        "and reach the coverage of the original test."
    )

    hints = [f"Extend `{base}` and register the class with `uvm_component_utils({req.test_name})`."]
    for name in ctx.started[:2]:
        hints.append(
            f"Start `{name}` on the sequencer it targets from run_phase, between raising and dropping an objection."
        )
    for name in ctx.removed_sequences[:1]:
        hints.append(f"`{name}` was removed from the gym with the test: write it again too.")
    if ctx.features.constraint_blocks:
        hints.append("Randomize the stimulus with constraints or randomize() with {...} like the original.")
    if ctx.covergroups:
        cg = ctx.covergroups[0]
        points = ", ".join(cg.coverpoints[:4])
        hints.append(f"Aim at the coverpoints of `{cg.name}`" + (f" ({points})." if points else "."))
    hints.append(f"Select the test with +UVM_TESTNAME={req.test_name}.")
    hints.append(f"Read `{base}` and the remaining tests to see how the environment is configured.")
    hints = list(dict.fromkeys(hints))[:5]

    return TaskMetadata(
        title=title_from_name(req.test_name),
        difficulty=level,
        difficulty_reason=reason,
        description=description,
        goal=goal,
        hints=hints,
        covergroups=cg_names,
        sequences=list(ctx.started),
    )
