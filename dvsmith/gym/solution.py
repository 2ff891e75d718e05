"""Map a candidate's solution paths onto a task's `files_to_write`, and find edits of protected files.

A solution is either one folder laid out like `gym/` (files identical to the gym are ignored; files the
task lets the candidate write are taken; any other new or changed file is an edit of a protected file)
or single files, matched by name to `files_to_write`. A single file named like a protected gym file is an
edit of that file; a file that matches nothing is bad input.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, Field

from dvsmith.errors import UserInputError
from dvsmith.paths import confine, sha256_file

MAX_SOLUTION_FILE_BYTES = 5_000_000


class MappedSolution(BaseModel):
    files: dict[str, Path] = Field(default_factory=dict)  # gym-relative path -> candidate file
    protected_edits: list[str] = Field(default_factory=list)  # gym-relative paths the candidate may not touch
    symlinks: list[str] = Field(default_factory=list)  # solution entries that are symlinks (never followed)
    empty: bool = False


def _sha(path: Path) -> str:
    return sha256_file(path)


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise UserInputError(f"solution file not found: {path}")
    if path.stat().st_size > MAX_SOLUTION_FILE_BYTES:
        raise UserInputError(f"solution file too large (> {MAX_SOLUTION_FILE_BYTES} bytes): {path}")


def map_solution(paths: list[Path], files_to_write: list[str], manifest: dict[str, str]) -> MappedSolution:
    if not paths:
        raise UserInputError("missing solution: give the files to write or a folder")
    for p in paths:
        if not p.exists():
            raise UserInputError(f"solution path not found: {p}")
    allowed = set(files_to_write)
    mapped = MappedSolution()

    if len(paths) == 1 and paths[0].is_dir():
        root = paths[0].resolve()
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if d not in {".git", "obj_dir"})
            for fn in sorted(filenames):
                full = Path(dirpath) / fn
                rel = full.relative_to(root).as_posix()
                if full.is_symlink():  # wherever it points: scored 0, and the reason says it is a symlink
                    mapped.symlinks.append(rel)
                    continue
                try:
                    confine(root, rel)
                except ValueError:
                    mapped.protected_edits.append(rel)
                    continue
                _check_file(full)
                if rel in allowed:
                    mapped.files[rel] = full
                elif rel in manifest and manifest[rel] == _sha(full):
                    continue  # an unchanged copy of a gym file
                else:
                    by_name = [a for a in allowed if PurePosixPath(a).name == rel] if "/" not in rel else []
                    if len(by_name) == 1:  # a flat folder holding just the files to write
                        mapped.files[by_name[0]] = full
                    else:
                        mapped.protected_edits.append(rel)
        mapped.empty = not mapped.files and not mapped.protected_edits and not mapped.symlinks
        return mapped

    for p in paths:
        if p.is_dir():
            raise UserInputError(f"give either one solution folder or files, not a mix: {p}")
        _check_file(p)
        name = p.name
        matches = [a for a in allowed if PurePosixPath(a).name == name]
        if len(matches) == 1:
            if matches[0] in mapped.files:
                raise UserInputError(f"two solution files for {matches[0]}")
            mapped.files[matches[0]] = p
            continue
        if len(matches) > 1:
            raise UserInputError(f"solution file {name} is ambiguous: it could be any of {', '.join(matches)}")
        protected = sorted(rel for rel in manifest if PurePosixPath(rel).name == name)
        if protected:
            if all(manifest[rel] == _sha(p) for rel in protected):
                continue
            mapped.protected_edits.extend(protected)
            continue
        raise UserInputError(
            f"solution file {name} is outside the task's files to write ({', '.join(sorted(allowed))})"
        )
    return mapped
