"""Build hooks for the facts of each task: extract them, leave trivial tasks out, tell the AI, and hold
the AI's answer to them (hints, sequence names, difficulty)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from dvsmith.analysis.profile import Profile
from dvsmith.gym.difficulty import DifficultyFeatures, features_of
from dvsmith.gym.hints import article, check_hints, fact_hints, hint_facts
from dvsmith.gym.models import SkippedTrivial, Task
from dvsmith.gym.plan import TaskPlan, plan_tasks
from dvsmith.gym.spec import TaskSpec
from dvsmith.gym.spec_extract import SpecExtractor
from dvsmith.gym.svtext import lex

HINTS_MIN, HINTS_MAX = 3, 5


def extract_specs(profile: Profile, repo_root: Path, plans: list[TaskPlan]) -> dict[str, TaskSpec]:
    """The facts of every planned task, keyed by task id."""
    removed = {c.name for p in plans for c in p.removed_classes}
    ex = SpecExtractor(profile, repo_root, gym_removed=removed)
    specs: dict[str, TaskSpec] = {}
    for p in plans:
        try:
            specs[p.id] = ex.extract(p.test.name, p.test.file, [(c.name, c.file, c.kind) for c in p.removed_classes])
        except Exception as exc:  # pyslang on pathological input: the task keeps going without facts
            specs[p.id] = TaskSpec(test=p.test.name, base_class=p.test.base_class, base_chain=list(p.test.base_chain),
                                   diagnostics=[f"facts not extracted: {type(exc).__name__}: {exc}"])
    for p in plans:  # a required task's classes are written too
        own = {c.name for c in specs[p.id].classes_to_write}
        for rid in p.requires:
            for c in specs[rid].classes_to_write:
                if c.name not in own:
                    specs[p.id].classes_to_write.append(c.model_copy(update={"kind": f"{c.kind} (of task {rid})"}))
                    own.add(c.name)
    return specs


def leave_out_trivial(
    profile: Profile, repo_root: Path, plans: list[TaskPlan], specs: dict[str, TaskSpec], *, keep: bool
) -> tuple[list[TaskPlan], dict[str, TaskSpec], list[SkippedTrivial]]:
    """Without ``keep``: re-plan without the statically trivial tests (they stay in the gym)."""
    trivial = [p for p in plans if specs[p.id].trivial]
    if keep or not trivial:
        return plans, specs, []
    skipped = [SkippedTrivial(test=p.test.name, file=p.test.file, id=p.id,
                              reason=specs[p.id].trivial_reason or "trivial") for p in trivial]
    kept = plan_tasks(profile, exclude={(p.test.name, p.test.file) for p in trivial})
    return kept, extract_specs(profile, repo_root, kept) if kept else {}, skipped


def facts_lines(spec: TaskSpec) -> list[str]:
    """The facts in plain sentences, for the AI prompt (authoritative there)."""
    out = [f"The test {spec.test} extends {spec.base_class or '?'}."]
    if spec.test_methods:
        out.append(f"It defines: {', '.join(spec.test_methods)}.")
    for c in spec.classes_to_write:
        out.append(f"Class to write: {c.name} ({c.kind}) in file {c.file}.")
    for s in spec.starts:
        where = f"on {s.sequencer}" if s.sequencer else "on its own sequencer"
        if s.sequencer_type:
            where += f" ({article(s.sequencer_type)} {s.sequencer_type})"
        owner = " (written by the candidate)" if s.must_write else " (in the gym)" if s.kind == "sequence" else ""
        out.append(f"{s.started_by} starts {s.sequence} {where} via {s.how} in {s.method}{owner}.")
    for cs in spec.config_sets:
        out.append(f"{cs.set_by} sets uvm_config_db#({cs.type}) {cs.path}.{cs.key} = {cs.value}.")
    for o in spec.overrides:
        out.append(f"{o.set_by} sets a factory {o.kind} override {o.original} -> {o.override}.")
    for p in spec.plusargs:
        out.append(f"{p.read_by} reads the plusarg +{p.name}.")
    for d in spec.defines:
        out.append(f"Code under `{d.directive} {d.name}.")
    for r in spec.reg_accesses:
        out.append(f"{r.by} calls {r.op} on register {r.reg}" + (f" field {r.field}." if r.field else "."))
    if spec.trivial:
        out.append("The test is an empty subclass of its base.")
    out.append("Sequence files are included by include lines the grader restores; declaration order across files "
               "is not the candidate's to choose.")
    return out


def _gym_files(gym_dir: Path) -> list[str]:
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(gym_dir):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for fn in filenames:
            out.append((Path(dirpath) / fn).relative_to(gym_dir).as_posix())
    return out


def source_identifiers(repo_root: Path, spec: TaskSpec, profile: Profile) -> set[str]:
    """Identifiers of the reference classes' files and of the test's base chain (real names a hint may use)."""
    files = {c.file for c in spec.classes_to_write}
    for name in spec.base_chain:
        files |= {c.file for c in profile.classes if c.name == name}
    out: set[str] = set()
    for rel in sorted(files):
        try:
            data = (repo_root / rel).read_bytes()
        except OSError:
            continue
        out |= {t.text for t in lex(data) if not t.trivia and t.kind == "Identifier"}
    return out


def apply_facts(task: Task, spec: TaskSpec, profile: Profile, repo_root: Path, gym_dir: Path) -> None:
    """Hold the task's AI-written fields to the facts: hints checked (and filled from the facts), sequence
    names limited to those the reference starts, difficulty label measured (AI's kept as the reason)."""
    task.spec = spec
    task.trivial = spec.trivial
    task.trivial_reason = spec.trivial_reason
    facts = hint_facts(
        profile, spec, task.files_to_write, _gym_files(gym_dir),
        functional_scored=task.acceptance.functional_coverage != "unsupported",
        source_identifiers=source_identifiers(repo_root, spec, profile),
    )
    kept, dropped = check_hints(task.hints, facts)
    if task.metadata_source == "offline":  # deterministic stand-ins: the facts say it better
        kept = fact_hints(spec)[:HINTS_MAX] + [h for h in kept if h not in fact_hints(spec)]
        kept = kept[: max(HINTS_MIN, len(fact_hints(spec)[:HINTS_MAX]))]
    for h in fact_hints(spec):
        if len(kept) >= HINTS_MIN:
            break
        if h not in kept:
            kept.append(h)
    task.hints = kept[:HINTS_MAX]
    task.hints_dropped = [d.model_dump() for d in dropped]
    # the description is held to the same facts, sentence by sentence
    sentences = [x for x in re.split(r"(?<=[.!?])\s+", task.description.strip()) if x]
    ok, bad = check_hints(sentences, facts)
    if bad:
        task.hints_dropped += [{"hint": d.hint, "reason": "description: " + d.reason} for d in bad]
        task.description = " ".join(ok) or f"Write the UVM test `{task.test_name}` again."
    started = spec.sequence_names()
    known = {s.name for s in profile.sequences}
    seqs = [s for s in task.sequences if s in started]
    task.sequences = seqs or [s for s in started if s in known]
    refresh_difficulty(task)


def refresh_difficulty(task: Task) -> None:
    """(Re)compute the measured difficulty (after a simulation adds ``coverage_over_base``). The label is
    measured; an AI's own judgement stays as text in ``difficulty_reason``."""
    if task.spec is None:
        return
    first = task.difficulty_features is None
    ai_label = task.difficulty
    feats = features_of(task.spec, task.coverage_over_base)
    task.difficulty_features = feats
    task.difficulty = feats.label
    if not first:
        return
    if task.metadata_source == "offline":
        task.difficulty_reason = describe_features(feats)
    elif task.difficulty_reason and ai_label != feats.label:
        task.difficulty_reason = f"{task.difficulty_reason} (the AI judged it {ai_label})"


def describe_features(f: DifficultyFeatures) -> str:
    def n(k: int, word: str) -> str:
        plural = word + ("es" if word.endswith("s") else "s")
        return f"{k} {word if k == 1 else plural}"

    parts = [
        f"{n(f.classes_to_write, 'class')} ({f.lines_to_write} lines) to write",
        f"{n(f.sequences_started, 'sequence')} started on {n(f.sequencers, 'sequencer')}",
        n(f.constraint_blocks, "constraint block"),
        n(f.config_knobs, "config knob"),
    ]
    if f.coverage_over_base_max is not None:
        parts.append(f"{f.coverage_over_base_max:.1f} coverage points over the base test")
    return ", ".join(parts)
