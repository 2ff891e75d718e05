"""Where dvsmith keeps its data, and atomic file writes.

Everything lives under the platformdirs user dirs for app ``dvsmith``; the environment variable
``DVSMITH_HOME`` moves all of it (profiles, caches, logs) under one folder.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson
import platformdirs

APP = "dvsmith"


def home() -> Path | None:
    value = os.environ.get("DVSMITH_HOME")
    return Path(value).expanduser().resolve() if value else None


def data_dir() -> Path:
    h = home()
    return (h / "data") if h else Path(platformdirs.user_data_dir(APP))


def cache_dir() -> Path:
    h = home()
    return (h / "cache") if h else Path(platformdirs.user_cache_dir(APP))


def log_dir() -> Path:
    h = home()
    return (h / "logs") if h else Path(platformdirs.user_log_dir(APP))


def profiles_dir() -> Path:
    return data_dir() / "profiles"


def parse_cache_dir() -> Path:
    return cache_dir() / "parse"


def ai_cache_dir() -> Path:
    return cache_dir() / "ai"


def sim_cache_dir() -> Path:
    return cache_dir() / "sim"


def eval_scratch_dir() -> Path:
    return cache_dir() / "eval"


def ai_log_file() -> Path:
    return log_dir() / "ai_calls.jsonl"


def closeness(a: str, b: str) -> int:
    """How near two repo-relative files are: the same file ranks highest, then the number of leading
    folders they share. Used to pick, among classes of the same name, the one nearest a file."""
    if a == b:
        return 1_000
    pa, pb = a.split("/")[:-1], b.split("/")[:-1]
    n = 0
    for x, y in zip(pa, pb, strict=False):
        if x != y:
            break
        n += 1
    return n


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in blocks."""
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


def confine(root: Path, relative: str) -> Path:
    """Resolve ``relative`` under ``root`` and refuse anything that escapes it.

    Paths from an AI answer, a profile or a task file are untrusted data: absolute paths, ``..``
    components and symlinks that lead outside ``root`` raise ``ValueError``.
    """
    if not relative or "\x00" in relative:
        raise ValueError(f"invalid path {relative!r}")
    candidate = Path(relative)
    if candidate.is_absolute():
        raise ValueError(f"absolute path not allowed: {relative}")
    root_resolved = root.resolve()
    full = (root_resolved / candidate).resolve()
    if full != root_resolved and root_resolved not in full.parents:
        raise ValueError(f"path escapes its folder: {relative}")
    return full


def _folder_usage(folder: Path) -> tuple[int, int]:
    files = size = 0
    if folder.is_dir():
        for dirpath, _dirs, names in os.walk(folder, followlinks=False):
            for n in names:
                with contextlib.suppress(OSError):
                    size += (Path(dirpath) / n).lstat().st_size
                    files += 1
    return files, size


def cache_folders() -> dict[str, Path]:
    """Every cache dvsmith keeps; each can be deleted at any time (it is rebuilt on demand)."""
    return {
        "parse": parse_cache_dir(),
        "ai": ai_cache_dir(),
        "sim": sim_cache_dir(),
        "uvm": cache_dir() / "uvm",
        "eval": eval_scratch_dir(),  # scratch copies and logs of evals (kept so their logs can be read)
    }


def cache_info() -> dict[str, Any]:
    caches: dict[str, Any] = {}
    for name, folder in cache_folders().items():
        files, size = _folder_usage(folder)
        caches[name] = {"path": str(folder), "files": files, "bytes": size}
    return {"root": str(cache_dir()), "caches": caches}


def cache_clear() -> dict[str, int]:
    import shutil

    removed: dict[str, int] = {}
    for name, folder in cache_folders().items():
        files, _ = _folder_usage(folder)
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        removed[name] = files
    return removed
