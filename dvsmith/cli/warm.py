"""The warm-ingest shortcut: `dvsmith ingest REPO` answered before the CLI and the profile models load.

A warm ingest (nothing changed since the last one) parses nothing, yet a whole process used to take
0.6-1.0 s on a 2-core machine, most of it importing typer, rich and pydantic and building the profile
models again. After such a warm ingest (every file from the parse cache, no warning), the command records
a *stamp*: the repo's file listing (every path, size and mtime the walk sees), its git state, the stored
profile file's size and mtime, dvsmith's own code and the terminal it rendered for, with the output it
printed. The next `dvsmith ingest REPO [--name N] [--json]` walks the repo with the same walk
(``dvsmith.analysis.walk``), reads the same git state (``dvsmith.analysis.gitinfo``) and, when all of it is
unchanged, does what the warm ingest does (re-save the profile with a new ``created_at``, record it in
the index as the most recent one) and prints the same output with this run's own timing. Anything
different, unreadable or unusual (another option, another terminal, a changed file, a newer dvsmith) and
the normal command runs, which re-parses what changed and records a new stamp.

This module imports only the standard library, orjson and dvsmith's path helpers.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from dvsmith import paths

STAMP_VERSION = 1
SECONDS_MARK = "987654321.123"  # stands for the seconds in the recorded stats line
_RENDER_ENV = ("COLUMNS", "LINES", "TERM", "COLORTERM", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE",
               "TTY_INTERACTIVE", "TERM_PROGRAM", "JUPYTER_COLUMNS", "JUPYTER_LINES")  # fmt: skip


def parse_args(argv: list[str]) -> tuple[str, str | None, bool] | None:
    """(repo, --name, --json) of a plain ``ingest REPO [--name N] [--json]`` command line, else None."""
    if not argv or argv[0] != "ingest":
        return None
    repo: str | None = None
    name: str | None = None
    json_out = False
    rest = argv[1:]
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg == "--json":
            json_out = True
        elif arg == "--name" and i + 1 < len(rest):
            name = rest[i + 1]
            i += 1
        elif arg.startswith("--name="):
            name = arg.removeprefix("--name=")
        elif arg.startswith("-") or repo is not None:
            return None  # --no-cache, --sim-config, --help, a second argument: the normal command
        else:
            repo = arg
        i += 1
    if repo is None or (name is not None and not name):
        return None
    return repo, name, json_out


def render_key(json_out: bool) -> list[Any]:
    """What the output's rendering depends on (rich reads the terminal and these variables)."""
    if json_out:
        return ["json"]
    ttys = []
    for fd in (0, 1, 2):
        try:
            ttys.append(list(os.get_terminal_size(fd)) if os.isatty(fd) else None)
        except OSError:
            ttys.append(None)
    return ["table", ttys, [os.environ.get(k) for k in _RENDER_ENV]]


def code_key() -> list[Any]:
    """dvsmith's own code (every module's size and mtime), the Python and pyslang it runs with."""
    from importlib.metadata import PackageNotFoundError, version

    root = Path(__file__).resolve().parent.parent
    files = []
    stack = [root]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False) and e.name != "__pycache__":
                    stack.append(Path(e.path))
                elif e.name.endswith((".py", ".sv", ".svh", ".json", ".toml")):
                    st = e.stat()
                    files.append((e.path, st.st_size, st.st_mtime_ns))
    try:
        pyslang = version("pyslang")
    except PackageNotFoundError:
        pyslang = None
    digest = hashlib.sha256(orjson.dumps(sorted(files))).hexdigest()
    return [STAMP_VERSION, sys.version, sys.executable, pyslang, digest]


def listing_key(repo: Path) -> str:
    """Every file the ingest walk sees (path, size, mtime) and every problem it records."""
    from dvsmith.analysis.walk import walk_repo

    entries, problems = walk_repo(repo)
    return hashlib.sha256(orjson.dumps([[(e.rel, e.size, e.mtime_ns) for e in entries], problems])).hexdigest()


def stamp_path(repo: Path, name: str | None, json_out: bool) -> Path:
    key = hashlib.sha256(orjson.dumps([str(repo), name, json_out])).hexdigest()[:32]
    return paths.cache_dir() / "warm" / f"ingest-{key}.json"


def _stat(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def record(
    *,
    repo: Path,
    name: str | None,
    json_out: bool,
    profile_name: str,
    profile_path: Path,
    files_total: int,
    cache_hits: int,
    output: dict[str, str] | None,
    listing: str,
    git: dict[str, Any] | None,
) -> None:
    """Record the stamp of a warm ingest that just finished (see the module's docstring). ``listing`` is
    ``listing_key`` taken *before* that ingest walked the repo and ``git`` the git state its profile
    holds: a file or commit that changed while it ran then makes the next run the normal command,
    never a replay of a profile older than the stamp."""
    repo = repo.expanduser().resolve()
    stamp = {
        "code": code_key(),
        "repo": str(repo),
        "name": name,
        "render": render_key(json_out),
        "listing": listing,
        "git": git,
        "profile": profile_name,
        "profile_path": str(profile_path),
        "profile_stat": _stat(profile_path),
        "files_total": files_total,
        "cache_hits": cache_hits,
        "output": output,
    }
    paths.atomic_write_bytes(stamp_path(repo, name, json_out), orjson.dumps(stamp))


def replay(argv: list[str], started: float | None = None) -> int | None:
    """Answer ``argv`` from its stamp when nothing changed (returns the exit code), else None."""
    started = time.perf_counter() if started is None else started
    args = parse_args(argv)
    if args is None:
        return None
    try:
        return _replay(*args, started=started)
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None  # anything unexpected: the normal command decides


def _replay(repo_arg: str, name: str | None, json_out: bool, *, started: float) -> int | None:
    from dvsmith.analysis.gitinfo import git_info
    from dvsmith.analysis.index import index_entry, record_saved

    repo = Path(repo_arg).expanduser()
    if not repo.is_dir():
        return None
    repo = repo.resolve()
    path = stamp_path(repo, name, json_out)
    stamp = orjson.loads(path.read_bytes())
    if stamp["repo"] != str(repo) or stamp["name"] != name or stamp["render"] != render_key(json_out):
        return None
    profile_path = Path(stamp["profile_path"])
    if profile_path != _profile_file(stamp["profile"]):
        return None  # the stamp names a file that is not the profile's own place: not ours to write
    if _stat(profile_path) != stamp["profile_stat"] or stamp["listing"] != listing_key(repo):
        return None
    if stamp["code"] != code_key() or stamp["git"] != git_info(repo):
        return None
    # unchanged: do what the warm ingest does, then print what it printed
    profile = orjson.loads(profile_path.read_bytes())
    if not isinstance(profile, dict) or profile.get("name") != stamp["profile"]:
        return None
    profile["created_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    entry = index_entry(repo_root=profile["repo_root"], created_at=profile["created_at"],
                        tests=len(profile["tests"]), path=profile_path)  # fmt: skip
    record_saved(stamp["profile"], profile_path, orjson.dumps(profile), entry, _rebuild_index)
    stamp["profile_stat"] = _stat(profile_path)
    paths.atomic_write_bytes(path, orjson.dumps(stamp))
    seconds = round(time.perf_counter() - started, 4)
    if json_out:
        profile["stats"] = {"files_total": stamp["files_total"], "files_parsed": 0,
                            "cache_hits": stamp["cache_hits"], "seconds": seconds}  # fmt: skip
        sys.stdout.write(orjson.dumps(profile, option=orjson.OPT_INDENT_2).decode() + "\n")
        sys.stdout.flush()
        return 0
    out = stamp["output"]
    sys.stderr.write(out["head"] + out["stats"].replace(SECONDS_MARK, f"{seconds:.3f}", 1) + out["table"])
    sys.stderr.flush()
    return 0


def _profile_file(name: object) -> Path | None:
    """Where the store keeps the profile ``name`` (None for a name the store would refuse)."""
    from dvsmith.analysis.index import PROFILE_NAME

    if not isinstance(name, str) or not PROFILE_NAME.fullmatch(name):
        return None
    return paths.confine(paths.profiles_dir(), f"{name}.json")


def _rebuild_index() -> dict[str, Any]:
    from dvsmith.analysis.store import _rebuild_index as rebuild

    return rebuild()
