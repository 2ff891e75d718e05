"""Deterministic cleaning: the gym (the repo without any task's solution) and each task's oracle.

Every change to a file is a byte range deleted from the original file and owned by one task: a class
(and its out-of-class methods), an `include line, a filelist entry, a word in a Makefile test list, a
comment or string naming a removed class. Then, per file:

- gym file    = original minus every task's ranges (a file holding only one task's removed code goes
  away entirely);
- oracle file = original minus the ranges of the tasks this task does not put back (for a file the gym
  keeps, that is the cleaned file with this task's classes back in place: what the candidate writes);
- removed_references = the line hunks turning the cleaned file into the same "minus other tasks" text
  for files the candidate does not write (include lines, filelist entries, test-list words, comments).

So gym + oracle files + restored references is exactly the original repo minus other tasks' code.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import posixpath
import re
import shutil
import stat
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dvsmith.analysis import limits
from dvsmith.analysis.profile import Profile, Span
from dvsmith.errors import UserInputError
from dvsmith.events import Event, Reporter, null_reporter
from dvsmith.gym.clean_edits import Edit, diff_refs, sv_reference_edits, text_reference_edits
from dvsmith.gym.clean_models import CleanResult, RemovedRange, TaskCleaning
from dvsmith.gym.plan import ClassIndex, TaskPlan
from dvsmith.gym.svtext import (
    Tok,
    apply_deletions,
    decode,
    in_ranges,
    is_sv,
    lex,
    line_bounds,
    looks_binary,
    merge_ranges,
    resolve_include,
    shingles,
)
from dvsmith.paths import atomic_write_bytes

EXCLUDED_DIRS = frozenset(
    {
        ".git",
        ".svn",
        ".hg",
        "obj_dir",
        "INCA_libs",
        "xcelium.d",
        "csrc",
        "__pycache__",
        ".dvsmith",
        "xsim.dir",
    }
)
EXCLUDED_SUFFIXES = (".log", ".vcd", ".fst", ".wlf", ".ucdb", ".vpd", ".fsdb", ".pyc", ".daidir", ".shm")
EXCLUDED_FILES = frozenset({"coverage.dat", "transcript", "ucli.key"})


# ---------------------------------------------------------------------------------------------- copy


def editor_junk(name: str) -> bool:
    """An editor's swap, lock or backup file (vim ``.x.sv.swp``/``.swo``, emacs ``#x.sv#``/``.#x.sv``,
    ``x.sv~``): never a source, and a swap file holds the text of the buffer, a removed test's included."""
    if name.startswith(".") and len(name) > 4 and name[-4:-1] == ".sw" and "a" <= name[-1] <= "p":
        return True
    return name.endswith("~") or name.startswith(".#") or (len(name) > 2 and name[0] == name[-1] == "#")


def _excluded(name: str, full: Path, is_dir: bool) -> bool:
    if name in EXCLUDED_DIRS or name in EXCLUDED_FILES:
        return True
    if name.startswith("simv") or name.endswith(EXCLUDED_SUFFIXES):
        return True
    if is_dir and name == "work":  # a simulator library folder, not a source folder named work
        try:
            inner = {p.name for p in full.iterdir()}
        except OSError:
            return False
        return bool(inner & {"_info", "_vmake", "_lib.qdb"}) or any(n.endswith(".qdb") for n in inner)
    return False


def _walk(repo: Path, skip_roots: Iterable[Path]) -> tuple[list[str], dict[str, str], list[str]]:
    """Regular files to copy, symlinks inside the repo (rel -> target rel), and skip notes."""
    skips = {p.resolve() for p in skip_roots}
    files: list[str] = []
    links: dict[str, str] = {}
    notes: list[str] = []
    repo_resolved = repo.resolve()

    def visit(folder: Path, rel_parts: tuple[str, ...]) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            notes.append(f"unreadable folder {'/'.join(rel_parts) or '.'}: {exc.strerror}")
            return
        for ent in entries:
            full = Path(ent.path)  # never below a followed symlink: already a resolved path
            rel = "/".join((*rel_parts, ent.name))
            if ent.is_symlink():
                if ent.name in EXCLUDED_DIRS:
                    continue
                try:
                    target = full.resolve(strict=True)
                except FileNotFoundError:
                    notes.append(f"skipped symlink {rel}: dangling")
                    continue
                except (OSError, RuntimeError):
                    notes.append(f"skipped symlink {rel}: a symlink loop")
                    continue
                if target != repo_resolved and repo_resolved not in target.parents:
                    notes.append(f"skipped symlink {rel}: it points outside the repository")
                    continue
                links[rel] = target.relative_to(repo_resolved).as_posix()
                continue
            if full in skips:
                continue
            is_dir = ent.is_dir(follow_symlinks=False)
            if not is_dir and editor_junk(ent.name):
                notes.append(f"skipped {rel}: an editor's swap or backup file")
                continue
            if _excluded(ent.name, full, is_dir):
                notes.append(f"skipped {rel}{'/' if is_dir else ''}: VCS data or build output")
                continue
            if is_dir:
                visit(full, (*rel_parts, ent.name))
            elif ent.is_file(follow_symlinks=False):
                files.append(rel)

    visit(repo, ())
    return files, links, notes


# ------------------------------------------------------------------------------------------ ranges


def _line_no(starts: list[int], offset: int) -> int:
    return bisect.bisect_right(starts, offset)


def extend_range(data: bytes, start: int, end: int) -> tuple[int, int]:
    """Grow a declaration's range to whole lines, its directly preceding comment lines and its line end."""
    start = max(0, min(start, len(data)))
    end = max(start, min(end, len(data)))
    ls, _ = line_bounds(data, start)
    s = ls if data[ls:start].strip() == b"" else start
    if s == ls:
        while s > 0:
            pls, _ = line_bounds(data, s - 1)
            prev = data[pls:s].strip()
            if prev.startswith(b"//"):
                s = pls
            else:
                break
    e = end
    if 0 < e < len(data) and data[e - 1 : e] != b"\n":
        _, le = line_bounds(data, e)
        rest = data[e:le].strip()
        if rest == b"" or rest.startswith(b"//"):
            e = le
    at_line_start = e == len(data) or (e > 0 and data[e - 1 : e] == b"\n")
    if at_line_start and e < len(data) and (s == 0 or data[s - 1 : s] == b"\n"):
        prev_blank = s == 0 or data[line_bounds(data, s - 1)[0] : s].strip() == b""
        _, nle = line_bounds(data, e)
        if prev_blank and data[e:nle].strip() == b"":
            e = nle
    if e == len(data) and s > 0 and data[s - 1 : s] == b"\n":  # no blank line left at the end of the file
        pls, _ = line_bounds(data, s - 1)
        if data[pls:s].strip() == b"":
            s = pls
    return s, e


_GUARD_DIRECTIVES = frozenset(
    {"`ifndef", "`ifdef", "`elsif", "`define", "`undef", "`timescale", "`default_nettype", "`resetall"}
)


def _residual_trivial(data: bytes, toks: list[Tok], ranges: list[tuple[int, int]], include_ok: Any) -> bool:
    """True when, outside ``ranges``, the file holds only comments, guards, imports and trivial includes."""
    merged = merge_ranges(ranges)
    starts = [r[0] for r in merged]
    code = [t for t in toks if not t.trivia and not in_ranges(starts, merged, t.start)]
    i = 0
    while i < len(code):
        t = code[i]
        if t.kind == "Directive":
            if t.text in _GUARD_DIRECTIVES:
                _, le = line_bounds(data, t.start)
                i += 1
                while i < len(code) and code[i].start < le:
                    i += 1
                continue
            if t.text in ("`endif", "`else", "`celldefine", "`endcelldefine"):
                i += 1
                continue
            if t.text == "`include" and i + 1 < len(code) and include_ok(code[i + 1].text):
                i += 2
                continue
            return False
        if t.kind == "ImportKeyword":
            while i < len(code) and code[i].kind != "Semicolon":
                i += 1
            i += 1
            continue
        if t.kind == "Semicolon":
            i += 1
            continue
        return False
    return True


# ---------------------------------------------------------------------------------------- context


class _Ctx:
    def __init__(self, repo: Path, profile: Profile, plans: list[TaskPlan], files: list[str]) -> None:
        self.repo = repo
        self.profile = profile
        self.plans = plans
        self.files = files
        self.file_set = set(files)
        self.data: dict[str, bytes] = {}
        self._toks: dict[str, list[Tok]] = {}
        self.idx = ClassIndex(profile)
        self.incdirs_all: list[str] = []
        self.incdirs_of: dict[str, list[str]] = defaultdict(list)
        for u in profile.compile_units:
            # the folder the repo's flow runs in resolves includes too (`include "../tb/x.sv" from sim/)
            dirs = [*([u.root] if u.root not in (".", "") else []), *u.incdirs]
            for d in dirs:
                if d not in self.incdirs_all:
                    self.incdirs_all.append(d)
            for f in (*u.files, *u.sources):
                for d in dirs:
                    if d not in self.incdirs_of[f]:
                        self.incdirs_of[f].append(d)
        self.known_includes = {f.path: list(f.includes) for f in profile.files}

    def read(self, rel: str) -> bytes:
        if rel not in self.data:
            self.data[rel] = (self.repo / rel).read_bytes()
        return self.data[rel]

    def toks(self, rel: str) -> list[Tok]:
        if rel not in self._toks:
            self._toks[rel] = lex(self.read(rel))
        return self._toks[rel]

    def resolve_include(self, spec: str, including: str) -> str | None:
        incdirs = [*self.incdirs_of.get(including, []), *self.incdirs_all]
        return resolve_include(
            spec, including, incdirs, self.file_set.__contains__, self.known_includes.get(including, ())
        )


# ------------------------------------------------------------------------------------------ clean


def clean_repo(
    repo_root: Path,
    profile: Profile,
    plans: list[TaskPlan],
    gym_dir: Path,
    oracle_dir: Path,
    reporter: Reporter = null_reporter,
) -> CleanResult:
    """Copy ``repo_root`` into ``gym_dir`` without any task's solution and write each task's oracle.

    ``gym_dir`` and ``oracle_dir`` are empty folders the caller created; the source repo is only read.
    """
    repo = repo_root.resolve()
    if not repo.is_dir():
        raise UserInputError(f"repository folder not found: {repo_root}")
    files, links, skipped = _walk(repo, (gym_dir, oracle_dir))
    # files over the size ingest parses are copied as they are, never read into memory (ingest skipped them)
    big = {rel for rel in files if _size(repo / rel) > limits.MAX_FILE_BYTES}
    cap = limits.MAX_FILE_BYTES
    skipped += [f"not scanned {rel}: larger than {cap} bytes (copied unchanged)" for rel in sorted(big)]
    ctx = _Ctx(repo, profile, plans, files)
    notes: list[str] = []
    reporter(Event("task_start", phase="clean", total=len(plans)))

    # 1. class ranges of every task
    class_edits: dict[str, list[Edit]] = defaultdict(list)
    ranges_by_task: dict[str, list[RemovedRange]] = defaultdict(list)
    removed_keys: dict[tuple[str, str], str] = {}
    task_notes: dict[str, list[str]] = defaultdict(list)
    for p in plans:
        for rc in p.removed_classes:
            removed_keys[(rc.name, rc.file)] = p.id
            if rc.file not in ctx.file_set:
                task_notes[p.id].append(f"{rc.name}: its file {rc.file} is not in the repository copy")
                continue
            if rc.span is None:
                task_notes[p.id].append(f"{rc.name}: source range unknown, class left in {rc.file}")
                continue
            data = ctx.read(rc.file)
            starts = _line_starts_cached(ctx, rc.file)
            for sp in (rc.span, *rc.extern_spans):
                s, e = extend_range(data, sp.start, sp.end)
                class_edits[rc.file].append(Edit(s, e, p.id, "class"))
                ranges_by_task[p.id].append(
                    RemovedRange(
                        file=rc.file,
                        name=rc.name,
                        start=s,
                        end=e,
                        line=_line_no(starts, s),
                        end_line=_line_no(starts, max(s, e - 1)),
                    )
                )

    # 2. files that hold only one task's removed code go away entirely
    whole: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for rel in sorted(class_edits):
            if rel in whole:
                continue
            owners = {e.owner for e in class_edits[rel]}
            if len(owners) != 1 or not is_sv(rel):
                continue
            owner = next(iter(owners))

            def include_ok(lit: str, rel: str = rel, owner: str = owner) -> bool:
                spec = lit.strip('"<>')
                if posixpath.basename(spec) == "uvm_macros.svh":
                    return True
                target = ctx.resolve_include(spec, rel)
                return target is not None and whole.get(target) == owner

            spans = [(e.start, e.end) for e in class_edits[rel]]
            if _residual_trivial(ctx.read(rel), ctx.toks(rel), spans, include_ok):
                whole[rel] = owner
                changed = True

    # 3. names and file names each task removes (only those nothing kept shares)
    kept_bases = {posixpath.basename(f) for f in files if f not in whole}
    base_owner: dict[str, str] = {}
    base_clash: set[str] = set()
    for rel, owner in whole.items():
        b = posixpath.basename(rel)
        if b in kept_bases or (b in base_owner and base_owner[b] != owner):
            base_clash.add(b)
        base_owner[b] = owner
    for b in base_clash:
        base_owner.pop(b, None)
    removed_names: dict[str, list[str]] = defaultdict(list)
    for (name, _file), owner in sorted(removed_keys.items()):
        if name not in removed_names[owner]:
            removed_names[owner].append(name)
    names = frozenset(n for n, _ in removed_keys)
    bases = frozenset(base_owner)

    def owner_of_hit(word: str, rel: str) -> str | None:
        if word in base_owner:
            return base_owner[word]
        entry = ctx.idx.resolve(word, rel)
        if entry is None:
            return None
        return removed_keys.get(entry.key)

    # 4. references in the files that stay
    edits: dict[str, list[Edit]] = defaultdict(list)
    for rel, es in class_edits.items():
        if rel not in whole:
            edits[rel].extend(es)
    for rel in files:
        if rel in whole or rel in big:
            continue
        data = ctx.read(rel)
        if looks_binary(data):
            continue
        protected = merge_ranges((e.start, e.end) for e in class_edits.get(rel, []))
        if is_sv(rel):
            found = sv_reference_edits(ctx, rel, protected, whole, names, bases, owner_of_hit)
        else:
            found = text_reference_edits(ctx, rel, names, bases, owner_of_hit)
        edits[rel].extend(found)

    # 5. the gym
    cleaned: dict[str, bytes] = {}
    gym_dir.mkdir(parents=True, exist_ok=True)
    oracle_dir.mkdir(parents=True, exist_ok=True)
    edited_files: dict[str, list[str]] = {}
    for rel in files:
        if rel in whole:
            continue
        if rel in big and not edits.get(rel):
            _copy(repo / rel, gym_dir / rel)
            continue
        data = ctx.read(rel)
        es = edits.get(rel, [])
        out = apply_deletions(data, ((e.start, e.end) for e in es)) if es else data
        cleaned[rel] = out
        if es:
            edited_files[rel] = sorted({e.owner for e in es})
        _write(gym_dir, rel, out, repo / rel)
    for rel, target in sorted(links.items()):
        if target in whole or any(target.startswith(w + "/") for w in whole):
            skipped.append(f"skipped symlink {rel}: it points at removed code")
            continue
        link_path = gym_dir / rel
        link_path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(posixpath.relpath(target, posixpath.dirname(rel) or "."), link_path)

    # 6. per task: oracle files and references
    plan_ids = {p.id for p in plans}
    results: list[TaskCleaning] = []
    fingerprints: dict[str, list[str]] = {}
    kept_shingles: set[str] = set()
    for out in cleaned.values():
        if not looks_binary(out):
            kept_shingles |= shingles(decode(out)[0])
    for p in plans:
        putback = {p.id, *(r for r in p.requires if r in plan_ids)}
        tc = TaskCleaning(task_id=p.id, requires=sorted(putback - {p.id}), notes=list(task_notes.get(p.id, [])))
        secret: set[str] = set()
        for rel in files:
            if rel in big and rel not in cleaned:
                continue
            if rel in whole:
                if whole[rel] in putback:
                    _write(oracle_dir / p.id, rel, ctx.read(rel), repo / rel)
                    tc.files_to_write.append(rel)
                    if whole[rel] == p.id:
                        tc.removed_files.append(rel)
                        secret |= shingles(decode(ctx.read(rel))[0])
                continue
            es = edits.get(rel, [])
            if not any(e.owner in putback for e in es):
                continue
            target = apply_deletions(ctx.read(rel), ((e.start, e.end) for e in es if e.owner not in putback))
            if any(e.owner in putback and e.kind == "class" for e in es):
                _write(oracle_dir / p.id, rel, target, repo / rel)
                tc.files_to_write.append(rel)
                data = ctx.read(rel)
                for e in es:
                    if e.owner == p.id and e.kind == "class":
                        secret |= shingles(decode(data[e.start : e.end])[0])
            else:
                kinds = "+".join(sorted({e.kind for e in es if e.owner in putback}))
                deleted = merge_ranges((e.start, e.end) for e in es if e.owner not in putback)
                tc.removed_references.extend(diff_refs(rel, cleaned[rel], target, kinds, deleted))
        tc.oracle_files = list(tc.files_to_write)
        tc.removed_ranges = sorted(
            (r for r in ranges_by_task.get(p.id, []) if r.file not in whole), key=lambda r: (r.file, r.start)
        )
        fingerprints[p.id] = sorted(fingerprint(s) for s in secret - kept_shingles)
        if not tc.files_to_write:
            tc.notes.append("nothing was removed for this task")
        for n in tc.notes:
            reporter(Event("warning", phase="clean", message=f"{p.id}: {n}"))
        notes.extend(f"{p.id}: {n}" for n in tc.notes)
        results.append(tc)
        reporter(Event("task_advance", phase="clean", advance=1))

    return CleanResult(
        tasks=results,
        gym_dir=str(gym_dir),
        oracle_dir=str(oracle_dir),
        files_copied=len(cleaned),
        files_removed=len(whole),
        files_edited=len(edited_files),
        skipped=skipped,
        notes=notes,
        removed_names=dict(removed_names),
        removed_basenames={
            o: sorted(b for b, ow in base_owner.items() if ow == o) for o in sorted(set(base_owner.values()))
        },
        edited_files=edited_files,
        fingerprints=fingerprints,
    )


def _line_starts_cached(ctx: _Ctx, rel: str) -> list[int]:
    data = ctx.read(rel)
    starts = [0]
    starts.extend(m.end() for m in re.finditer(rb"\n", data))
    return starts


def fingerprint(shingle: str) -> str:
    return hashlib.sha256(shingle.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _copy(source: Path, dest: Path) -> None:
    """Stream a file into place (temp file and rename), keeping its mode; never read whole."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    try:
        shutil.copyfile(source, tmp)
        shutil.copymode(source, tmp)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write(root: Path, rel: str, data: bytes, source: Path) -> None:
    dest = root / rel
    atomic_write_bytes(dest, data)
    try:
        mode = stat.S_IMODE(source.stat().st_mode)
    except OSError:
        return
    os.chmod(dest, mode | stat.S_IRUSR | stat.S_IWUSR)


__all__ = [
    "Span",
    "clean_repo",
    "extend_range",
    "fingerprint",
]
