"""Static validation of a cleaned gym (SPEC section 3, "Validation: static").

- the gym still parses with pyslang: no file has more parse errors than the original file had;
- no identifier in the gym's SystemVerilog names a removed class (read from pyslang tokens);
- no `include or filelist entry points at a file that is missing from the gym but existed in the repo;
- no removed class name or removed file name is left anywhere under gym/ (any file, hidden or binary),
  and no run of three significant lines of a task's removed code;
- every task has oracle files, none empty; the gym holds no VCS folder.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections import defaultdict
from pathlib import Path

import pyslang
from pydantic import BaseModel, ConfigDict, Field

from dvsmith.analysis import limits
from dvsmith.analysis.profile import Profile
from dvsmith.gym.clean import fingerprint
from dvsmith.gym.clean_models import CleanResult
from dvsmith.gym.plan import ClassIndex, TaskPlan
from dvsmith.gym.svtext import (
    decode,
    find_words,
    is_filelist,
    is_sv,
    lex,
    line_starts,
    looks_binary,
    norm_rel,
    resolve_include,
    shingles,
)

_IGNORED_DIAGS = ("CouldNotOpenIncludeFile", "UnknownDirective")
UNPARSEABLE = 1_000_000  # parse_errors() of a file pyslang cannot parse at all
_VCS = frozenset({".git", ".svn", ".hg"})

OTHER_TEXT_SHINGLE_BYTES = 256 * 1024  # non-SystemVerilog text files larger than this: no code scan


class TaskStatic(BaseModel):
    model_config = ConfigDict(extra="ignore")

    task_id: str
    ok: bool = True
    problems: list[str] = Field(default_factory=list)


class StaticReport(BaseModel):
    model_config = ConfigDict(extra="ignore")

    ok: bool = True
    tasks: list[TaskStatic] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)  # not tied to one task
    files_checked: int = 0
    sv_files_parsed: int = 0


def parse_errors(data: bytes, name: str) -> int:
    """Parse errors pyslang reports for one file on its own (missing includes and macros aside)."""
    text, _ = decode(data)
    try:
        tree = pyslang.syntax.SyntaxTree.fromText(text, name)
    except Exception:  # pathological input (10,000-deep nesting): pyslang gives up, as it did in ingest
        return UNPARSEABLE
    return sum(1 for d in tree.diagnostics if d.isError() and not str(d.code).endswith(_suffixes()))


def _suffixes() -> tuple[str, ...]:
    return tuple(f"({c})" for c in _IGNORED_DIAGS)


def _gym_files(gym: Path) -> tuple[list[str], list[str]]:
    """Regular files (relative, sorted) under the gym, and problems with its layout: VCS folders and
    symlinks leading outside the gym. Symlinks are not followed."""
    files: list[str] = []
    layout: list[str] = []
    gym_resolved = gym.resolve()
    for dirpath, dirnames, filenames in os.walk(gym):
        rel_dir = Path(dirpath).relative_to(gym).as_posix()
        dirnames.sort()
        for n in [*dirnames, *sorted(filenames)]:
            full = Path(dirpath) / n
            rel = n if rel_dir == "." else f"{rel_dir}/{n}"
            if n in _VCS:
                layout.append(f"version-control data in the gym: {rel}")
            if full.is_symlink():
                try:
                    target = full.resolve(strict=True)
                except (OSError, RuntimeError):
                    layout.append(f"symlink {rel} is dangling or a loop")
                    continue
                if target != gym_resolved and gym_resolved not in target.parents:
                    layout.append(f"symlink {rel} leads outside the gym")
                continue
            if n in filenames and full.is_file():
                files.append(rel)
    return sorted(files), layout


def _filelist_entries(data: bytes) -> list[tuple[int, str, bool]]:
    """(line, path, is_nested_filelist) for each file named by a filelist."""
    out: list[tuple[int, str, bool]] = []
    text, _ = decode(data)
    for no, raw in enumerate(text.split("\n"), start=1):
        line = re.split(r"//|#", raw, maxsplit=1)[0].strip()
        if not line:
            continue
        words = line.split()
        i = 0
        while i < len(words):
            w = words[i]
            if w in ("-f", "-F") and i + 1 < len(words):
                out.append((no, words[i + 1], True))
                i += 2
                continue
            if w in ("-v", "-y") and i + 1 < len(words):
                if w == "-v":
                    out.append((no, words[i + 1], False))
                i += 2
                continue
            if not w.startswith(("-", "+")):
                out.append((no, w, False))
            i += 1
    return out


def static_check(gym_dir: Path, profile: Profile, plans: list[TaskPlan], cleaning: CleanResult) -> StaticReport:
    repo = Path(profile.repo_root)
    files, layout = _gym_files(gym_dir)
    file_set = set(files)
    repo_has = (lambda rel: (repo / rel).is_file()) if repo.is_dir() else (lambda rel: False)
    task_ids = [c.task_id for c in cleaning.tasks] or [p.id for p in plans]
    problems: dict[str, list[str]] = {t: [] for t in task_ids}
    global_problems: list[str] = list(layout)

    def report(owners: list[str] | str | None, message: str) -> None:
        owners = [owners] if isinstance(owners, str) else (owners or [])
        owners = [o for o in owners if o in problems]
        if not owners:
            global_problems.append(message)
        for o in owners:
            if message not in problems[o]:
                problems[o].append(message)

    idx = ClassIndex(profile)
    removed_keys: dict[tuple[str, str], str] = {}
    for p in plans:
        for rc in p.removed_classes:
            removed_keys[(rc.name, rc.file)] = p.id
    base_owner = {b: t for t, bases in cleaning.removed_basenames.items() for b in bases}
    removed_files = {f: c.task_id for c in cleaning.tasks for f in c.removed_files}
    fp_owner: dict[str, list[str]] = defaultdict(list)
    for t, fps in cleaning.fingerprints.items():
        for fp in fps:
            fp_owner[fp].append(t)

    def owner_of(word: str, rel: str) -> str | None:
        if word in base_owner:
            return base_owner[word]
        entry = idx.resolve(word, rel)
        return removed_keys.get(entry.key) if entry is not None else None

    name_set = frozenset(n for n, _ in removed_keys)
    base_set = frozenset(base_owner)
    incdirs_all: list[str] = []
    incdirs_of: dict[str, list[str]] = defaultdict(list)
    for u in profile.compile_units:
        incdirs_all += [d for d in u.incdirs if d not in incdirs_all]
        for f in (*u.files, *u.sources):
            incdirs_of[f] += [d for d in u.incdirs if d not in incdirs_of[f]]
    known = {f.path: list(f.includes) for f in profile.files}

    sv_parsed = 0
    for rel in files:
        if (gym_dir / rel).stat().st_size > limits.MAX_FILE_BYTES:
            continue  # copied unchanged; ingest did not parse it either
        data = (gym_dir / rel).read_bytes()
        lazy_starts: list[list[int]] = []  # computed at the first report of this file (most have none)

        def line_of(off: int, data: bytes = data, lazy: list[list[int]] = lazy_starts) -> int:
            if not lazy:
                lazy.append(line_starts(data))
            starts = lazy[0]
            lo, hi = 0, len(starts)
            while lo < hi:
                mid = (lo + hi) // 2
                if starts[mid] <= off:
                    lo = mid + 1
                else:
                    hi = mid
            return lo

        identifier_hits: set[int] = set()
        kept_include_spans: list[tuple[int, int]] = []
        text_file = not looks_binary(data)
        if is_sv(rel) and text_file:
            sv_parsed += 1
            orig = repo / rel
            before = parse_errors(orig.read_bytes(), rel) if orig.is_file() else 0
            after = parse_errors(data, rel)
            if after > before:
                report(
                    cleaning.edited_files.get(rel),
                    f"{rel}: {after} parse error(s) after cleaning, the original had {before}",
                )
            toks = lex(data)
            code = [t for t in toks if not t.trivia]
            for i, t in enumerate(code):
                if t.kind == "Identifier" and t.text in idx.by_name:
                    owner = owner_of(t.text, rel)
                    if owner is not None:
                        identifier_hits.add(t.start)
                        report(owner, f"{rel}:{line_of(t.start)}: reference to removed class {t.text}")
                elif t.kind == "Directive" and t.text == "`include" and i + 1 < len(code):
                    lit = code[i + 1]
                    if lit.kind != "StringLiteral":
                        continue
                    incdirs = [*incdirs_of.get(rel, []), *incdirs_all]
                    spec = lit.text.strip('"')
                    if resolve_include(spec, rel, incdirs, file_set.__contains__, known.get(rel, ())):
                        # a file the gym has: its name (say tests/test_x.svh, kept for the helper classes it
                        # still holds) is no reference to a removed class
                        kept_include_spans.append((lit.start, lit.end))
                        continue
                    orig_target = resolve_include(spec, rel, incdirs, repo_has, known.get(rel, ()))
                    if orig_target is not None:
                        report(
                            removed_files.get(orig_target),
                            f'{rel}:{line_of(t.start)}: `include "{spec}" names a file missing from the gym',
                        )
        if text_file and (is_filelist(rel) or rel in profile.build.filelists):
            base_dir = posixpath.dirname(rel)
            for no, entry, _nested in _filelist_entries(data):
                if "$" in entry:
                    continue
                cands = [c for c in (norm_rel(posixpath.join(base_dir, entry)), norm_rel(entry)) if c]
                if any(c in file_set for c in cands):
                    continue
                hit = next((c for c in cands if repo_has(c)), None)
                if hit is not None:
                    report(removed_files.get(hit), f"{rel}:{no}: filelist entry {entry} names a missing file")
        for hs, _he, word in find_words(data, name_set, base_set):
            if hs in identifier_hits or any(a <= hs < b for a, b in kept_include_spans):
                continue
            owner = owner_of(word, rel)
            if owner is None:
                continue
            what = "file name" if word in base_owner else "class name"
            report(owner, f"{rel}:{line_of(hs)}: removed {what} {word} left in the gym")
        # removed code pasted elsewhere: sources, and other text files up to a size (a real repo can carry
        # hundreds of MB of simulation reports, which hold no testbench code)
        if text_file and fp_owner and (is_sv(rel) or len(data) <= OTHER_TEXT_SHINGLE_BYTES):
            for sh in sorted(shingles(decode(data)[0])):
                for owner in fp_owner.get(fingerprint(sh), []):
                    first = sh.split("\n", 1)[0]
                    report(owner, f"{rel}: holds removed code of the solution ({first[:60]!r} ...)")

    oracle_root = Path(cleaning.oracle_dir)
    for c in cleaning.tasks:
        if not c.oracle_files:
            report(c.task_id, "no oracle files")
        for f in c.oracle_files:
            path = oracle_root / c.task_id / f
            if not path.is_file():
                report(c.task_id, f"oracle file missing: {f}")
            elif path.stat().st_size == 0:
                report(c.task_id, f"oracle file empty: {f}")
    for p in plans:
        if p.test.span is None and not any(rc.span for rc in p.removed_classes):
            report(p.id, f"source range of {p.test.name} unknown: the test could not be removed")

    tasks = [TaskStatic(task_id=t, ok=not problems[t], problems=problems[t]) for t in task_ids]
    return StaticReport(
        ok=not global_problems and all(t.ok for t in tasks),
        tasks=tasks,
        problems=global_problems,
        files_checked=len(files),
        sv_files_parsed=sv_parsed,
    )
