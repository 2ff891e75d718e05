"""Task planning: which tests become tasks, and which code each task removes from the gym.

One task per test that is not a base test and is in the build. A task removes its test class and every
sequence that only that test (directly, or through sequences removed for the same task) uses. "Uses" is
read from the source with pyslang's lexer: any identifier naming the sequence inside another class, or
outside every class (module code, package-level typedefs), plus the profile's ``TestInfo.sequences``.
A sequence used by anything that stays in the gym is shared and stays.

When a task's code needs code another task removes (a test extending another non-base test), the task
``requires`` that task: its reference solution and files to write include the other task's code too, so
gym + oracle always compiles.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from dvsmith.analysis.parse import MAX_FILE_BYTES
from dvsmith.analysis.profile import Profile, Span, TestInfo
from dvsmith.gym.svtext import Tok, is_sv, lex
from dvsmith.paths import closeness


class RemovedClass(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    file: str
    kind: str = "other"  # test|sequence|other
    span: Span | None = None
    extern_spans: list[Span] = Field(default_factory=list)


class TaskPlan(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    test: TestInfo
    removed_classes: list[RemovedClass] = Field(default_factory=list)  # the test first, then sequences
    requires: list[str] = Field(default_factory=list)  # task ids whose removed code this task's code uses


@dataclass
class ClassEntry:
    name: str
    file: str
    kind: str
    span: Span | None
    extern_spans: list[Span] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, self.file)


class ClassIndex:
    """Every class of a profile by name, and the resolution of a name used in a given file.

    The same class name may exist in several independent benches: a use resolves to the candidate in
    the same compile unit as the using file, else in the same file, else the nearest by folder.
    """

    def __init__(self, profile: Profile) -> None:
        entries: dict[tuple[str, str], ClassEntry] = {}
        for c in profile.classes:
            entries[(c.name, c.file)] = ClassEntry(c.name, c.file, c.kind, c.span, list(c.extern_spans))
        for t in profile.tests:
            e = entries.setdefault((t.name, t.file), ClassEntry(t.name, t.file, "test", None))
            e.kind = "test"
            e.span = t.span or e.span
            e.extern_spans = list(t.extern_spans) or e.extern_spans
        for s in profile.sequences:
            e = entries.setdefault((s.name, s.file), ClassEntry(s.name, s.file, "sequence", None))
            e.kind = "sequence"
            e.span = s.span or e.span
            e.extern_spans = list(s.extern_spans) or e.extern_spans
        for group in (
            profile.sequence_items,
            profile.agents,
            profile.envs,
            profile.drivers,
            profile.monitors,
            profile.scoreboards,
            profile.sequencers,
        ):
            for c in group:
                entries.setdefault((c.name, c.file), ClassEntry(c.name, c.file, "other", None))
        self.entries = entries
        self.by_name: dict[str, list[ClassEntry]] = defaultdict(list)
        for key in sorted(entries):
            self.by_name[key[0]].append(entries[key])
        self.units_of: dict[str, set[str]] = defaultdict(set)
        for u in profile.compile_units:
            for f in (*u.files, *u.sources):
                self.units_of[f].add(u.name)

    def resolve(self, name: str, from_file: str) -> ClassEntry | None:
        cands = self.by_name.get(name)
        if not cands:
            return None
        if len(cands) == 1:
            return cands[0]
        units = self.units_of.get(from_file, set())
        if units:
            same_unit = [c for c in cands if self.units_of.get(c.file, set()) & units]
            if len(same_unit) == 1:
                return same_unit[0]
            if same_unit:
                cands = same_unit
        same_file = [c for c in cands if c.file == from_file]
        if same_file:
            return same_file[0]
        return max(cands, key=lambda c: (closeness(c.file, from_file), [-ord(ch) for ch in c.file]))


def find_class_span(toks: list[Tok], name: str) -> tuple[Span, list[Span]] | None:
    """Locate ``class name ... endclass [: name]`` and its out-of-class method bodies in a file's tokens.

    Used when the profile carries no span for a class the plan must remove.
    """
    code = [t for t in toks if not t.trivia]
    lines = _line_numbers(toks)
    span: Span | None = None
    for i, t in enumerate(code):
        if t.kind != "ClassKeyword" or i + 1 >= len(code):
            continue
        if i > 0 and code[i - 1].kind in ("TypedefKeyword", "InterfaceKeyword"):
            continue
        if code[i + 1].kind != "Identifier" or code[i + 1].text != name:
            continue
        start_i = i - 1 if i > 0 and code[i - 1].kind == "VirtualKeyword" else i
        depth = 0
        j = i
        while j < len(code):
            k = code[j].kind
            if k == "ClassKeyword" and not (j > 0 and code[j - 1].kind == "TypedefKeyword"):
                depth += 1
            elif k == "EndClassKeyword":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if j >= len(code):
            return None
        end_tok = code[j]
        if j + 2 < len(code) and code[j + 1].kind == "Colon" and code[j + 2].kind == "Identifier":
            end_tok = code[j + 2]
        first = code[start_i]
        span = Span(start=first.start, end=end_tok.end, line=lines[first.start], end_line=lines[end_tok.start])
        break
    if span is None:
        return None
    externs: list[Span] = []
    i = 0
    while i < len(code):
        t = code[i]
        if t.kind in ("FunctionKeyword", "TaskKeyword") and not (span.start <= t.start < span.end):
            closer = "EndFunctionKeyword" if t.kind == "FunctionKeyword" else "EndTaskKeyword"
            j = i + 1
            owner_hit = False
            while j < len(code) and code[j].kind not in ("Semicolon", "OpenParenthesis"):
                if (
                    code[j].kind == "Identifier"
                    and code[j].text == name
                    and (j + 1 < len(code) and code[j + 1].kind == "DoubleColon")
                ):
                    owner_hit = True
                j += 1
            if owner_hit:
                k = j
                while k < len(code) and code[k].kind != closer:
                    k += 1
                if k < len(code):
                    end_tok = code[k]
                    if k + 2 < len(code) and code[k + 1].kind == "Colon":
                        end_tok = code[k + 2]
                    first = t
                    if i > 0 and code[i - 1].kind in ("ExternKeyword",):
                        first = code[i - 1]
                    externs.append(
                        Span(
                            start=first.start,
                            end=end_tok.end,
                            line=lines[first.start],
                            end_line=lines[end_tok.start],
                        )
                    )
                    i = k
        i += 1
    return span, externs


def _line_numbers(toks: list[Tok]) -> dict[int, int]:
    lines: dict[int, int] = {}
    line = 1
    for t in toks:
        lines[t.start] = line
        line += t.text.count("\n")
    return lines


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")
    return s or "task"


def _assign_ids(tests: list[TestInfo]) -> dict[tuple[str, str], str]:
    by_slug: dict[str, list[TestInfo]] = defaultdict(list)
    for t in tests:
        by_slug[slug(t.name)].append(t)
    ids: dict[tuple[str, str], str] = {}
    for base, group in sorted(by_slug.items()):
        if len(group) == 1:
            ids[(group[0].name, group[0].file)] = base
            continue
        dirs = [posixpath.dirname(t.file).split("/") if posixpath.dirname(t.file) else [] for t in group]
        common = 0
        while all(len(d) > common for d in dirs) and len({d[common] for d in dirs}) == 1:
            common += 1
        for t, d in zip(group, dirs, strict=True):
            tag = d[common] if len(d) > common else posixpath.splitext(posixpath.basename(t.file))[0]
            ids[(t.name, t.file)] = f"{slug(tag)}-{base}"
    # last resort: numeric suffixes in a stable order
    seen: dict[str, int] = {}
    for key in sorted(ids, key=lambda k: (ids[k], k)):
        tid = ids[key]
        if tid in seen:
            seen[tid] += 1
            ids[key] = f"{tid}-{seen[tid]}"
        else:
            seen[tid] = 1
    return ids


def _sv_files(profile: Profile, idx: ClassIndex) -> list[str]:
    files = {f.path for f in profile.files}
    files |= {e.file for e in idx.entries.values()}
    files |= {p.file for p in profile.packages}
    files |= {m.file for m in (*profile.modules, *profile.interfaces)}
    for u in profile.compile_units:
        files |= set(u.files) | set(u.sources)
    return sorted(f for f in files if is_sv(f))


def _enclosing(entries: list[ClassEntry], offset: int) -> ClassEntry | None:
    """The outermost class of the file whose span (or extern method span) holds ``offset``."""
    best: ClassEntry | None = None
    best_size = -1
    for e in entries:
        for sp in (e.span, *e.extern_spans):
            if sp is not None and sp.start <= offset < sp.end and sp.end - sp.start > best_size:
                best, best_size = e, sp.end - sp.start
    return best


def reference_graph(
    profile: Profile, idx: ClassIndex, repo_root: Path
) -> dict[tuple[str, str], set[tuple[str, str] | str]]:
    """For every class (name, file): who uses it, as class keys or ``"file:<path>"`` for code outside
    every class. Fills missing spans of tests and sequences in ``idx`` from the source."""
    users: dict[tuple[str, str], set[tuple[str, str] | str]] = defaultdict(set)
    by_file: dict[str, list[ClassEntry]] = defaultdict(list)
    for e in idx.entries.values():
        by_file[e.file].append(e)
    for rel in _sv_files(profile, idx):
        path = repo_root / rel
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue  # ingest skipped it (no facts): never read it whole
            data = path.read_bytes()
        except OSError:
            continue
        toks = lex(data)
        for e in by_file.get(rel, []):
            if e.span is None and e.kind in ("test", "sequence"):
                found = find_class_span(toks, e.name)
                if found:
                    e.span, e.extern_spans = found[0], found[1]
        here = by_file.get(rel, [])
        for t in toks:
            if t.trivia or t.kind != "Identifier" or t.text not in idx.by_name:
                continue
            target = idx.resolve(t.text, rel)
            if target is None:
                continue
            user = _enclosing(here, t.start)
            if user is not None and user.key == target.key:
                continue
            users[target.key].add(user.key if user is not None else f"file:{rel}")
    for test in profile.tests:
        for seq in test.sequences:
            target = idx.resolve(seq, test.file)
            if target is not None and target.key != (test.name, test.file):
                users[target.key].add((test.name, test.file))
    return users


def plan_tasks(profile: Profile) -> list[TaskPlan]:
    """One plan per non-base, in-build test, sorted by id. Reads the source at ``profile.repo_root``."""
    repo_root = Path(profile.repo_root)
    idx = ClassIndex(profile)
    users = reference_graph(profile, idx, repo_root)
    tests = sorted((t for t in profile.tests if not t.is_base and t.in_build), key=lambda t: (t.name, t.file))
    ids = _assign_ids(tests)
    sequences = sorted(k for k, e in idx.entries.items() if e.kind == "sequence")

    uses: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for target, user_set in users.items():
        for u in user_set:
            if isinstance(u, tuple):
                uses[u].add(target)
    seq_keys = set(sequences)
    removed: dict[str, list[tuple[str, str]]] = {}
    owner: dict[tuple[str, str], str] = {}
    for t in tests:
        tid = ids[(t.name, t.file)]
        group: set[tuple[str, str]] = {(t.name, t.file)}
        order: list[tuple[str, str]] = [(t.name, t.file)]
        queue = [(t.name, t.file)]
        while queue:  # a sequence goes when every user of it goes with this task
            member = queue.pop()
            for s in sorted(uses.get(member, ())):
                if s in group or s in owner or s not in seq_keys:
                    continue
                if all(isinstance(x, tuple) and x in group for x in users[s]):
                    group.add(s)
                    order.append(s)
                    queue.append(s)
        removed[tid] = order
        for k in order:
            owner[k] = tid

    plans: list[TaskPlan] = []
    for t in tests:
        tid = ids[(t.name, t.file)]
        needs = {owner[x] for k in removed[tid] for x in uses.get(k, ()) if owner.get(x) not in (None, tid)}
        test_entry = idx.entries[(t.name, t.file)]
        test_info = t.model_copy(
            update={
                "span": t.span or test_entry.span,
                "extern_spans": list(t.extern_spans) or test_entry.extern_spans,
            }
        )
        plans.append(
            TaskPlan(
                id=tid,
                test=test_info,
                removed_classes=[
                    RemovedClass(
                        name=idx.entries[k].name,
                        file=idx.entries[k].file,
                        kind="test" if k == (t.name, t.file) else idx.entries[k].kind,
                        span=idx.entries[k].span,
                        extern_spans=list(idx.entries[k].extern_spans),
                    )
                    for k in [removed[tid][0], *sorted(removed[tid][1:])]
                ],
                requires=sorted(needs),
            )
        )
    # requires is transitive: a solution must bring back everything its code needs
    by_id = {p.id: p for p in plans}
    for p in plans:
        closure: set[str] = set()
        stack = list(p.requires)
        while stack:
            r = stack.pop()
            if r in closure or r == p.id:
                continue
            closure.add(r)
            stack.extend(by_id[r].requires)
        p.requires = sorted(closure)
    return sorted(plans, key=lambda p: p.id)
