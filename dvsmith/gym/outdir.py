"""Where a build may write its output (OUT), and the clean-up of temp folders that dead builds left.

The rule: a build writes into ``.OUT.tmp-PID`` beside OUT and then swaps it into place, removing what
OUT held. So OUT may be replaced only when it is absent, an empty folder, or a previous dvsmith build
(a folder holding a ``build.json`` of ours and nothing a build does not write). Anything else (a folder
of the user's, a file, a symlink) needs ``--force``. Whatever ``--force`` says, OUT is never the
filesystem root, nor the repository, ``DVSMITH_HOME`` (or dvsmith's data, cache and log folders), the
current folder or the home folder, nor a folder containing one of them, nor inside the repository or
dvsmith's own folders.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from dvsmith import paths
from dvsmith.errors import UserInputError

#: what a build writes at the top of OUT; a previous build holds nothing else
BUILD_ENTRIES = frozenset(
    {"gym", "tasks", "oracle", "logs", "coverage", "build.json", "gym_manifest.json", "metrics.prom"}
)
Replaces = Literal["absent", "empty", "build", "forced"]


class _BuildMarker(BaseModel):
    """The fields of ``build.json`` that tell a previous dvsmith build (any version) apart."""

    model_config = ConfigDict(extra="allow")

    dvsmith_version: str
    profile: str
    out_dir: str
    tasks: list[Any]


class OutPlan(BaseModel):
    """The checked output folder and what the build will replace there."""

    out: Path
    replaces: Replaces
    what: str = ""  # for "forced": what was there (said in the report)


def normalize_out(out: Path) -> Path:
    """OUT as an absolute path with its parent resolved; OUT itself is not followed if it is a symlink."""
    p = Path(os.path.abspath(Path(out).expanduser()))
    if p.parent == p:
        return p
    return p.parent.resolve() / p.name


def _within(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def _protected(repo_root: Path) -> list[tuple[Path, str, bool]]:
    """(folder, label, OUT may not be inside it either) for every folder OUT may never replace."""
    found: list[tuple[Path, str, bool]] = [(repo_root.resolve(), "the repository", True)]
    h = paths.home()
    if h is not None:
        found.append((h, "DVSMITH_HOME", True))
    for folder, label in (
        (paths.data_dir(), "dvsmith's data folder"),
        (paths.cache_dir(), "dvsmith's cache folder"),
        (paths.log_dir(), "dvsmith's log folder"),
    ):
        found.append((folder.resolve(), label, True))
    with contextlib.suppress(OSError):
        found.append((Path.cwd().resolve(), "the current folder", False))
    with contextlib.suppress(RuntimeError, KeyError):
        found.append((Path.home().resolve(), "your home folder", False))
    return found


def is_previous_build(folder: Path) -> bool:
    """A folder a dvsmith build wrote: our ``build.json`` and only what a build writes."""
    try:
        names = set(os.listdir(folder))
        marker = folder / "build.json"
        if not names <= BUILD_ENTRIES or not marker.is_file() or marker.is_symlink():
            return False
        _BuildMarker.model_validate(orjson.loads(marker.read_bytes()))
    except (OSError, ValueError, ValidationError):
        return False
    return True


def _describe(out: Path) -> str | None:
    """None when OUT may be replaced without --force, else what it is (for the message)."""
    if not os.path.lexists(out):
        return None
    if out.is_symlink():
        return "is a symlink"
    if not out.is_dir():
        return "is a file"
    try:
        names = sorted(os.listdir(out))
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if not names:
        return None
    if is_previous_build(out):
        return None
    extra = [n for n in names if n not in BUILD_ENTRIES]
    if (out / "build.json").is_file() and extra:
        return f"is a dvsmith build holding files a build does not write ({', '.join(extra[:3])})"
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    return f"is a folder that is not a dvsmith build ({len(names)} entries: {shown})"


def check_out(out: Path, repo_root: Path, *, force: bool = False) -> OutPlan:
    """Check OUT against the rules above; raise :class:`UserInputError` (exit 2) when it may not be used."""
    out = normalize_out(out)
    if out.parent == out:
        raise UserInputError(f"--out cannot be the filesystem root: {out}")
    forms = {out, out.resolve()}
    for folder, label, no_inside in _protected(repo_root):
        for candidate in forms:
            if _within(folder, candidate):
                where = "is" if folder == candidate else "contains"
                raise UserInputError(f"--out {out} {where} {label} ({folder}): refusing to replace it")
            if no_inside and _within(candidate, folder):
                raise UserInputError(f"--out must be outside {label} ({folder}): {out}")
    what = _describe(out)
    if what is None:
        if not os.path.lexists(out):
            return OutPlan(out=out, replaces="absent")
        return OutPlan(out=out, replaces="build" if os.listdir(out) else "empty")
    if not force:
        raise UserInputError(f"--out {out} {what}; choose another folder, or pass --force to replace it")
    return OutPlan(out=out, replaces="forced", what=what)


# --------------------------------------------------------------------------- temp folders beside OUT


def temp_dir_for(out: Path) -> Path:
    return out.parent / f".{out.name}.tmp-{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _ours(folder: Path) -> bool:
    """Only what a build writes is inside (an interrupted removal leaves a subset of it)."""
    try:
        return set(os.listdir(folder)) <= BUILD_ENTRIES
    except OSError:
        return False


def clean_stale_temps(out: Path) -> list[str]:
    """Remove ``.OUT.tmp-PID`` / ``.OUT.old-PID`` folders of builds whose process is gone.

    Only folders that hold nothing but what a build writes are removed (a folder of the user's that
    happens to have such a name stays). Returns the names removed.
    """
    pattern = re.compile(r"^\." + re.escape(out.name) + r"\.(tmp|old)-(\d+)$")
    removed: list[str] = []
    try:
        entries = list(os.scandir(out.parent))
    except OSError:
        return removed
    for entry in sorted(entries, key=lambda e: e.name):
        m = pattern.match(entry.name)
        if not m or entry.is_symlink() or not entry.is_dir(follow_symlinks=False):
            continue
        pid = int(m.group(2))
        if pid != os.getpid() and _pid_alive(pid):
            continue
        folder = Path(entry.path)
        if not _ours(folder):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not os.path.lexists(folder):
            removed.append(entry.name)
    return removed


def make_temp_dir(out: Path) -> Path:
    """A fresh private temp folder beside OUT (only this user can read the oracles inside)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir_for(out)
    if os.path.lexists(tmp):
        if tmp.is_dir() and not tmp.is_symlink() and _ours(tmp):
            shutil.rmtree(tmp)
        else:
            raise UserInputError(f"cannot use the temp folder {tmp}: something else is there")
    tmp.mkdir(mode=0o700)
    return tmp


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def swap_into_place(tmp: Path, out: Path) -> None:
    """Replace ``out`` by ``tmp`` with renames only; what OUT held is removed after the swap."""
    old: Path | None = None
    if os.path.lexists(out):
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        if os.path.lexists(old):
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old)
            else:
                old.unlink()
        os.replace(out, old)
    with contextlib.suppress(OSError):  # the private temp folder becomes a folder like any other
        os.chmod(tmp, 0o777 & ~_umask())
    os.replace(tmp, out)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                old.unlink()
