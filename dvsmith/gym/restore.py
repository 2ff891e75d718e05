"""Putting solution files back for eval: a candidate's (or the oracle's) files and each task's removed references.

The inverse of cleaning (gym/clean.py): into a scratch copy of the gym go the files a task's candidate
writes and the hunks ``clean_repo`` recorded as ``removed_references``. ``restore_combined`` does it for
several tasks at once (eval --combine), ``merge_versions`` merges several tasks' versions of one file.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from pathlib import Path
from typing import Any

from dvsmith.errors import UserInputError
from dvsmith.gym.clean_models import RemovedReference
from dvsmith.gym.svtext import split_lines
from dvsmith.paths import atomic_write_bytes, confine


def restore_for_eval(work_gym: Path, task: Any, solution_files: dict[str, Path]) -> None:
    """Put a candidate's files and the task's removed references into ``work_gym`` (a scratch copy).

    ``task`` is a ``TaskCleaning`` or anything with ``files_to_write`` and ``removed_references``
    (e.g. the ``Task`` read from task.json). Solution paths must be among ``files_to_write``.
    """
    allowed = set(_field(task, "files_to_write"))
    for rel in sorted(solution_files):
        if rel not in allowed:
            raise UserInputError(f"solution file '{rel}' is not one of the task's files to write")
        dest = confine(work_gym, rel)
        try:
            data = Path(solution_files[rel]).read_bytes()
        except OSError as exc:
            raise UserInputError(f"cannot read solution file {solution_files[rel]}: {exc.strerror}") from None
        if dest.is_symlink():
            dest.unlink()
        atomic_write_bytes(dest, data)
    refs = [
        r if isinstance(r, RemovedReference) else RemovedReference.model_validate(r)
        for r in _field(task, "removed_references")
    ]
    by_file: dict[str, list[RemovedReference]] = defaultdict(list)
    for r in refs:
        by_file[r.file].append(r)
    for rel in sorted(by_file):
        if rel in allowed and rel in solution_files:
            continue  # the candidate wrote this file: it carries its own version
        path = confine(work_gym, rel)
        hunks = sorted(by_file[rel], key=lambda r: (r.line_index, r.origin), reverse=True)
        codec = hunks[0].encoding
        try:
            lines = split_lines(path.read_bytes().decode(codec)) if path.exists() else []
        except UnicodeDecodeError:
            raise UserInputError(f"cannot restore references in {rel}: it is not {codec} text") from None
        for h in hunks:
            current = "".join(lines[h.line_index : h.line_index + h.count])
            if h.line_index > len(lines) or current != h.expect:
                raise UserInputError(f"cannot restore references in {rel}: line {h.line_index + 1} changed")
            lines[h.line_index : h.line_index + h.count] = split_lines(h.text)
        atomic_write_bytes(path, "".join(lines).encode(codec))


def merge_versions(base: bytes | None, versions: list[bytes]) -> bytes | None:
    """Merge several tasks' versions of one file that each only ADD lines to ``base`` (the gym's file).

    Identical versions merge to themselves. Otherwise every version must be ``base`` plus inserted lines
    (no base line changed or deleted); insertions at the same place are kept in the order given.
    Returns None when the versions cannot be merged that way.
    """
    distinct = list(dict.fromkeys(versions))
    if len(distinct) == 1:
        return distinct[0]
    if base is None:
        return None
    try:
        codec = "utf-8"
        texts = [base.decode(codec), *(v.decode(codec) for v in distinct)]
    except UnicodeDecodeError:
        codec = "latin-1"
        texts = [base.decode(codec), *(v.decode(codec) for v in distinct)]
    base_lines = split_lines(texts[0])
    inserts: dict[int, list[str]] = defaultdict(list)
    for text in texts[1:]:
        lines = split_lines(text)
        for tag, i1, _i2, j1, j2 in difflib.SequenceMatcher(None, base_lines, lines, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            if tag != "insert":
                return None
            inserts[i1].extend(lines[j1:j2])
    out: list[str] = []
    for i in range(len(base_lines) + 1):
        out.extend(inserts.get(i, []))
        if i < len(base_lines):
            out.append(base_lines[i])
    return "".join(out).encode(codec)


class CombineConflict(Exception):
    """Several tasks' references cannot be restored together into one compiled file."""


def restore_combined(
    work_gym: Path, tasks: list[Any], solution_files: dict[str, Path], compile_files: set[str]
) -> list[str]:
    """Put several tasks' solutions and removed references into one scratch copy (eval --combine).

    Hunks of one file are applied together: grouped by their line in the cleaned file and ordered by
    their offset in the original, so restoring every task gives back the original text. Two tasks
    replacing the same lines (e.g. words of one Makefile test-list line) conflict: in a file the compile
    does not read, that file is left as the gym has it (returned); in a compiled file it raises
    ``CombineConflict`` and the caller evaluates the tasks one by one.
    """
    allowed = {f for t in tasks for f in _field(t, "files_to_write")}
    for rel in sorted(solution_files):
        if rel not in allowed:
            raise UserInputError(f"solution file '{rel}' is not one of the tasks' files to write")
        dest = confine(work_gym, rel)
        if dest.is_symlink():
            dest.unlink()
        atomic_write_bytes(dest, Path(solution_files[rel]).read_bytes())
    by_file: dict[str, list[RemovedReference]] = defaultdict(list)
    for t in tasks:
        for r in _field(t, "removed_references"):
            ref = r if isinstance(r, RemovedReference) else RemovedReference.model_validate(r)
            if ref.file in solution_files:
                continue
            if any(
                (o.line_index, o.origin, o.count, o.text) == (ref.line_index, ref.origin, ref.count, ref.text)
                for o in by_file[ref.file]
            ):
                continue  # the same hunk restored by two tasks (one requires the other)
            by_file[ref.file].append(ref)
    skipped: list[str] = []
    for rel in sorted(by_file):
        groups: dict[int, list[RemovedReference]] = defaultdict(list)
        for ref in by_file[rel]:
            groups[ref.line_index].append(ref)
        conflict = any(sum(1 for r in g if r.count) > 1 for g in groups.values()) or any(
            r.count and any(r.line_index < j < r.line_index + r.count for j in groups)
            for g in groups.values()
            for r in g
        )
        if conflict:
            if rel in compile_files:
                raise CombineConflict(f"{rel}: two tasks change the same lines")
            skipped.append(rel)
            continue
        path = confine(work_gym, rel)
        codec = by_file[rel][0].encoding
        lines = split_lines(path.read_bytes().decode(codec)) if path.exists() else []
        for index in sorted(groups, reverse=True):
            hunks = sorted(groups[index], key=lambda r: r.origin)
            count = max(r.count for r in hunks)
            expect = next((r.expect for r in hunks if r.count), "")
            if index > len(lines) or "".join(lines[index : index + count]) != expect:
                raise UserInputError(f"cannot restore references in {rel}: line {index + 1} changed")
            lines[index : index + count] = split_lines("".join(r.text for r in hunks))
        atomic_write_bytes(path, "".join(lines).encode(codec))
    return skipped


def _field(obj: Any, name: str) -> list[Any]:
    if isinstance(obj, dict):
        return list(obj.get(name, []))
    return list(getattr(obj, name, []))


__all__ = [
    "CombineConflict",
    "merge_versions",
    "restore_combined",
    "restore_for_eval",
]
