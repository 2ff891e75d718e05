"""Hints checked against the facts before they are written; facts-derived hints fill the gaps.

A hint (from the AI or the offline provider) is untrusted text. It is dropped when it:
- names something (a `backticked` name or a snake_case identifier) that is neither in the profile, nor
  in the gym's files, nor in the facts of the task (its source's identifiers, config keys, paths);
- names a file path that is neither in ``gym/`` nor among the files to write;
- points at covergroups or coverpoints while functional coverage is not scored (Verilator);
- says a class it names is "started" when that class is a parent of the test, or names a sequence as
  started that the reference does not start (at any level);
- orders two classes ("X before Y", "declare X before the test") when they live in different files
  (the grader restores their include lines, so order is not the candidate's to choose), or in an order
  the reference's file contradicts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from dvsmith.analysis.profile import Profile
from dvsmith.gym.spec import TaskSpec

_BACKTICK = re.compile(r"`([^`]+)`")
_SNAKE = re.compile(r"(?<![A-Za-z0-9_$`+./=])([A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+)(?![A-Za-z0-9_])")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_ORDER = re.compile(r"\b(before|after)\b", re.IGNORECASE)
_START = re.compile(
    r"\b(?:start(?:s|ed|ing)?|run(?:s|ning)?|launch(?:es|ed)?)\s+(?:the\s+|a\s+)?(?:sequence\s+)?`?([A-Za-z_]\w*)`?",
    re.IGNORECASE,
)
_COVER = re.compile(r"\bcover(group|point)s?\b", re.IGNORECASE)
_PATHLIKE = re.compile(r"^[\w.\-/]+\.(sv|svh|v|vh|f|mk)$|^[\w.\-]+/[\w.\-/]+$")

#: UVM / SystemVerilog words a hint may use freely (besides any uvm_*/UVM_* name and *_phase)
_ALLOWED = {
    "type_id", "get_type", "super_new", "raise_objection", "drop_objection", "set_drain_time", "start_item",
    "finish_item", "p_sequencer", "m_sequencer", "get_full_name", "set_timeout", "default_sequence",
    "uvm_config_db", "randomize_with", "pre_body", "post_body", "get_response", "set_type_override",
    "set_inst_override", "set_type_override_by_type", "set_inst_override_by_type", "value_plusargs",
    "test_plusargs", "report_phase", "phase_done", "get_arg_value", "type_name", "start_of_simulation",
}


class HintFacts(BaseModel):
    """What a hint is checked against (built once per task)."""

    model_config = ConfigDict(extra="ignore")

    names: set[str] = Field(default_factory=set)  # every name that exists (profile, gym, facts)
    files: set[str] = Field(default_factory=set)  # gym paths and files to write
    covergroup_names: set[str] = Field(default_factory=set)  # covergroups and coverpoints
    functional_scored: bool = False
    parents: set[str] = Field(default_factory=set)  # the test's base chain
    started: set[str] = Field(default_factory=set)  # everything the reference starts, at every level
    started_in: dict[str, list[str]] = Field(default_factory=dict)  # sequence -> methods that start it
    inherited: set[str] = Field(default_factory=set)  # started by code the test inherits
    sequences: set[str] = Field(default_factory=set)  # every sequence class of the profile
    class_file: dict[str, str] = Field(default_factory=dict)  # reference classes -> their file
    class_line: dict[str, int] = Field(default_factory=dict)
    test: str = ""
    test_file: str = ""


class DroppedHint(BaseModel):
    hint: str
    reason: str


def hint_facts(
    profile: Profile,
    spec: TaskSpec,
    files_to_write: Iterable[str],
    gym_files: Iterable[str],
    *,
    functional_scored: bool,
    source_identifiers: Iterable[str] = (),
) -> HintFacts:
    names: set[str] = {c.name for c in profile.classes}
    for group in (profile.tests, profile.sequences, profile.sequence_items, profile.agents, profile.envs,
                  profile.drivers, profile.monitors, profile.scoreboards, profile.sequencers):
        names |= {c.name for c in group}
    names |= {p.name for p in profile.packages} | {m.name for m in (*profile.modules, *profile.interfaces)}
    cover: set[str] = set()
    for cg in profile.covergroups:
        cover |= {cg.name, *cg.coverpoints, *cg.crosses}
    names |= cover
    names |= set(source_identifiers)
    for s in spec.starts:
        names |= set(_IDENT.findall(s.sequencer)) | set(_IDENT.findall(" ".join(s.settings)))
    for cs in spec.config_sets:
        names |= {cs.key, *_IDENT.findall(cs.path), *_IDENT.findall(cs.value)}
    names |= {p.name for p in spec.plusargs} | {d.name for d in spec.defines}
    names |= set(_IDENT.findall(" ".join(spec.constructor_sets)))
    names |= {o.original for o in spec.overrides} | {o.override for o in spec.overrides}
    names |= {o.id for o in spec.outputs if o.id} | set(spec.test_methods) | set(spec.inherited_starts)
    names |= {g["key"] for g in spec.provides.config_gets}
    names |= {r.reg for r in spec.reg_accesses} | {r.field for r in spec.reg_accesses if r.field}
    files = set(files_to_write) | set(gym_files)
    test_cls = next((c for c in spec.classes_to_write if c.kind == "test"), None)
    return HintFacts(
        names=names,
        files=files,
        covergroup_names=cover,
        functional_scored=functional_scored,
        parents={p for p in spec.base_chain if p},
        started={s.sequence for s in spec.starts},
        started_in={
            n: sorted({m for s in spec.starts if s.sequence == n for m in (s.method, s.phase) if m})
            for n in spec.sequence_names()
        },
        inherited=set(spec.inherited_starts),
        sequences={s.name for s in profile.sequences},
        class_file={c.name: c.file for c in spec.classes_to_write},
        test=spec.test,
        test_file=test_cls.file if test_cls else "",
    )


def _mentions(hint: str) -> tuple[list[str], list[str]]:
    """(identifiers, file paths) a hint names, in order of appearance."""
    idents: list[str] = []
    paths: list[str] = []
    for chunk in _BACKTICK.findall(hint):
        chunk = chunk.strip()
        if (_PATHLIKE.match(chunk) and "/" in chunk) or chunk.endswith((".sv", ".svh")):
            paths.append(chunk)
            continue
        if chunk.startswith("+"):
            continue
        idents += [w for w in _IDENT.findall(chunk) if not w[0].isdigit()]
    stripped = _BACKTICK.sub(" ", hint)
    idents += _SNAKE.findall(stripped)
    return list(dict.fromkeys(idents)), list(dict.fromkeys(paths))


def _started_names(hint: str) -> list[str]:
    """Names a hint says are started ("start `X`", "starts the sequence X"; also "X is started")."""
    names = [m.group(1) for m in _START.finditer(hint)]
    names += re.findall(r"`?([A-Za-z_]\w*)`?\s+(?:is|are)\s+started\b(?!\s+by\s+code)", hint)
    return list(dict.fromkeys(names))


def _free(name: str) -> bool:
    low = name.lower()
    return (
        low.startswith("uvm_")
        or name.startswith("UVM_")
        or low.endswith("_phase")
        or low in _ALLOWED
        or (name.isupper() and len(name) <= 3)
    )


def check_hint(hint: str, facts: HintFacts) -> str | None:
    """Why ``hint`` contradicts the facts (None when it may be written)."""
    idents, paths = _mentions(hint)
    for p in paths:
        if p.lstrip("./") not in facts.files:
            return f"names the file {p}, which is neither in gym/ nor to be written"
    for name in idents:
        if name in facts.names or _free(name):
            continue
        # a keyword or an English word in backticks (`virtual`, `randomize`) is no claim about the repo
        if "_" not in name and name.islower():
            continue
        return f"names `{name}`, which is not in the profile, the gym or the task's facts"
    if not facts.functional_scored and (_COVER.search(hint) or any(n in facts.covergroup_names for n in idents)):
        return "points at covergroups or coverpoints, but functional coverage is not scored"
    started = _started_names(hint)
    for name in started:
        if name in facts.parents:
            return f"says `{name}` is started, but it is a parent class of the test"
        if name in facts.sequences and name in facts.inherited and name not in facts.started:
            return f"names `{name}` as started, but the test inherits the code that starts it"
        if name in facts.sequences and name not in facts.started:
            return f"names `{name}` as started, but the reference does not start it"
    methods = {m.lower() for m in re.findall(r"\b(\w+_phase|body)\b", hint)}
    for name in started:
        where = facts.started_in.get(name)
        if where and methods and not methods & {w.lower() for w in where}:
            return f"says `{name}` is started in {', '.join(sorted(methods))}, but the reference starts it in " + (
                ", ".join(where))
    if _ORDER.search(hint):
        named = [n for n in idents if n in facts.class_file]
        files = {facts.class_file[n] for n in named}
        if len(files) > 1:
            return "orders classes that live in different files (their include lines are restored by the grader)"
        lone = named[0] if len(named) == 1 else None
        if lone and lone != facts.test and re.search(r"\bthe test\b", hint, re.IGNORECASE) \
                and facts.class_file[lone] != facts.test_file:
            return f"orders `{lone}` against the test, but they are in different files"
    return None


def check_hints(hints: Iterable[str], facts: HintFacts) -> tuple[list[str], list[DroppedHint]]:
    kept: list[str] = []
    dropped: list[DroppedHint] = []
    for h in hints:
        why = check_hint(h, facts)
        if why is None:
            kept.append(h)
        else:
            dropped.append(DroppedHint(hint=h, reason=why))
    return kept, dropped


def fact_hints(spec: TaskSpec) -> list[str]:
    """Hints that say only what the facts say (used to fill up to three hints)."""
    out: list[str] = []
    for s in spec.starts:
        if s.started_by != spec.test or s.kind != "sequence":
            continue
        where = f"on `{s.sequencer}`" if s.sequencer else "on its default sequencer"
        if s.sequencer_type:
            where += f" ({article(s.sequencer_type)} `{s.sequencer_type}`)"
        if s.how == "default_sequence":
            how = "as the default_sequence of " + (s.phase or "its phase")
        else:
            how = f"from {s.method}"
        out.append(f"Start `{s.sequence}` {where} {how}.")
    for s in spec.starts:
        if s.settings and s.started_by == spec.test:
            out.append(f"Before starting `{s.sequence}`, the reference sets {_names(s.settings)}.")
    for cs in spec.config_sets:
        out.append(
            f"Set `{cs.key}` through uvm_config_db#({cs.type}) for `{cs.path}` (the reference sets `{cs.value}`)."
        )
    if spec.objections.raised:
        out.append(f"Raise an objection in {', '.join(spec.objections.phases)} and drop it when the stimulus is done.")
    if spec.constructor_sets:
        out.append("The reference's constructor sets " + ", ".join(f"`{x}`" for x in spec.constructor_sets) + ".")
    for c in spec.classes_to_write:
        if c.kind == "sequence":
            out.append(f"Write `{c.name}` in `{c.file}` too: it was removed with the test.")
    if spec.inherited_starts:
        one = len(spec.inherited_starts) == 1
        out.append(f"{_names(spec.inherited_starts)} {'is' if one else 'are'} started by code the test inherits "
                   f"from `{spec.base_class}`: do not start {'it' if one else 'them'} again.")
    if spec.base_class:
        out.append(f"Extend `{spec.base_class}` and register the class with `uvm_component_utils({spec.test})`.")
    return list(dict.fromkeys(out))


def _names(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
