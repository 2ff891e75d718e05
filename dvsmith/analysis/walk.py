"""Walking a repository: every file under it (hidden and tool-output folders skipped, symlinks that leave
it not followed), with size and mtime. No parsing, no models: the warm-ingest shortcut
(``dvsmith.cli.warm``) walks with it before anything heavy is imported, so both see the same files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SKIP_DIRS = {
    "node_modules",
    "__pycache__",
    "obj_dir",
    "INCA_libs",
    "xcelium.d",
    "csrc",
    "simv.daidir",
    "DVEfiles",
    "waves.shm",
    "cov_work",
    "dsim_work",
}


@dataclass
class Entry:
    rel: str
    path: Path
    size: int
    mtime_ns: int


class WalkError(OSError):
    """The repository's root folder cannot be read."""


def walk_repo(repo: Path) -> tuple[list[Entry], list[tuple[str, str]]]:
    """Every file under ``repo`` (hidden and tool-output folders skipped), symlink loops cut.

    A symlink is followed only when it leads to a file or folder inside the repo; one that leads out of
    it (``ln -s /usr usr``) is not read at all and is recorded as a diagnostic, as the gym leaves it out.
    """
    out: list[Entry] = []
    diags: list[tuple[str, str]] = []  # (file, message)
    seen_dirs: set[tuple[int, int]] = set()
    try:
        st = repo.stat()
        seen_dirs.add((st.st_dev, st.st_ino))
    except OSError as exc:
        raise WalkError(exc.errno, f"cannot read {repo}: {exc.strerror}") from exc
    root = repo.resolve()
    stack: list[tuple[Path, str]] = [(repo, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            diags.append((prefix or ".", f"folder not readable: {exc.strerror}"))
            continue
        subdirs = []
        for e in entries:
            rel = f"{prefix}{e.name}"
            try:
                if e.is_symlink():
                    problem = _link_problem(Path(e.path), root)
                    if problem:
                        if not e.name.startswith("."):
                            diags.append((rel, problem))
                        continue
                if e.is_dir():
                    if e.name.startswith(".") or e.name in SKIP_DIRS:
                        continue
                    dst = e.stat()
                    key = (dst.st_dev, dst.st_ino)
                    if key in seen_dirs:
                        if e.is_symlink():
                            diags.append((rel, "symlink loop (folder already visited)"))
                        continue
                    seen_dirs.add(key)
                    subdirs.append((Path(e.path), rel + "/"))
                elif e.is_file():
                    fst = e.stat()
                    out.append(Entry(rel, Path(e.path), fst.st_size, fst.st_mtime_ns))
                elif e.is_symlink():
                    diags.append((rel, "broken symlink"))
            except OSError as exc:
                diags.append((rel, f"not readable: {exc.strerror}"))
        stack.extend(reversed(subdirs))
    return out, diags


def _link_problem(link: Path, repo: Path) -> str | None:
    """Why a symlink under the repo is not followed (None: it stays inside the repo and is followed)."""
    try:
        target = link.resolve(strict=True)
    except FileNotFoundError:
        return "broken symlink"
    except (OSError, RuntimeError):
        return "symlink loop"
    if target != repo and repo not in target.parents:
        return "symlink leads outside the repository: not followed"
    return None



