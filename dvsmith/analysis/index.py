"""The profiles' index (``profiles/.index.json``): each saved profile's repo root, creation time, test count
and file, and which profile was ingested last. Plain dicts and files, no models, so the warm-ingest
shortcut (``dvsmith.cli.warm``) records an ingest exactly as ``store.save_profile`` does without loading
the profile models.

The index's name starts with a dot, which no profile name can (so a profile may be called ``index``), and
every read-modify-write of it holds an exclusive lock on ``profiles/.index.lock``, so parallel ingests do
not lose each other's entries.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from dvsmith import paths

#: what a profile name may be (what ingest makes of a folder's name): never hidden, no folders
PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
INDEX_NAME = ".index.json"
LOCK_NAME = ".index.lock"


def index_path() -> Path:
    return paths.profiles_dir() / INDEX_NAME


@contextlib.contextmanager
def index_lock() -> Iterator[None]:
    """An exclusive lock around a read-modify-write of the index (released when the process dies)."""
    folder = paths.profiles_dir()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # no POSIX locks on this platform: best effort
        yield
        return
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def read_index_file() -> dict[str, Any] | None:
    """The index as stored, None when it is missing or not well formed (then it is rebuilt from the
    profile files, ``store._rebuild_index``)."""
    try:
        data = orjson.loads(index_path().read_bytes())
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("profiles"), dict):
        fields = ("repo_root", "created_at", "path")
        entries = data["profiles"].values()
        if all(isinstance(e, dict) and all(isinstance(e.get(f), str) for f in fields) for e in entries):
            return data
    return None


def index_entry(*, repo_root: str, created_at: str, tests: int, path: Path) -> dict[str, Any]:
    return {"repo_root": repo_root, "created_at": created_at, "tests": tests, "path": str(path)}


def record_saved(
    name: str, path: Path, data: bytes, entry: dict[str, Any], rebuild: Callable[[], dict[str, Any]]
) -> None:
    """Write a profile's file atomically and record it in the index as the most recent one (under the lock)."""
    with index_lock():
        paths.atomic_write_bytes(path, data)
        index = read_index_file()
        if index is None:
            index = rebuild()
        index["profiles"][name] = entry
        index["last"] = name
        paths.atomic_write_json(index_path(), index)
