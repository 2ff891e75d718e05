"""Saved profiles: one orjson file per profile under ``paths.profiles_dir()`` and a small index.

The index (``profiles/.index.json``, kept by ``dvsmith.analysis.index``) remembers each profile's repo
root, creation time and test count and which profile was ingested last, so a corrupt profile file can be
rebuilt from its repo (by ``ingest.load_profile``: this module never analyses).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from dvsmith import paths
from dvsmith.analysis.index import (
    INDEX_NAME,
    LOCK_NAME,
    PROFILE_NAME,
    index_entry,
    index_lock,
    index_path,
    read_index_file,
    record_saved,
)
from dvsmith.analysis.profile import Profile
from dvsmith.errors import UserInputError


class ProfileSummary(BaseModel):
    name: str
    repo_root: str
    created_at: str
    tests: int
    path: str


_NAME = PROFILE_NAME


def _profile_path(name: str) -> Path:
    if not _NAME.fullmatch(name):
        raise UserInputError(f"invalid profile name: {name!r} (letters, digits, '.', '_' and '-')")
    try:
        return paths.confine(paths.profiles_dir(), f"{name}.json")
    except ValueError as exc:
        raise UserInputError(f"invalid profile name: {name!r}") from exc


def _read_index() -> dict[str, Any]:
    return read_index_file() or _rebuild_index()


def _rebuild_index() -> dict[str, Any]:
    """Index from the profile files themselves (when the index is missing or corrupt)."""
    data: dict[str, Any] = {"last": None, "profiles": {}}
    folder = paths.profiles_dir()
    if not folder.is_dir():
        return data
    newest = ""
    for p in sorted(folder.glob("*.json")):
        if p.name.startswith("."):
            continue
        try:
            prof = Profile.model_validate(orjson.loads(p.read_bytes()))
        except (OSError, ValueError, ValidationError):
            continue
        data["profiles"][prof.name] = _index_entry(prof, p)
        if prof.created_at >= newest:
            newest, data["last"] = prof.created_at, prof.name
    return data


def profile_path(name: str) -> Path:
    """Where the profile ``name`` is stored."""
    return _profile_path(name)


def _index_entry(profile: Profile, path: Path) -> dict[str, Any]:
    return index_entry(repo_root=profile.repo_root, created_at=profile.created_at, tests=len(profile.tests), path=path)


def save_profile(profile: Profile) -> Path:
    """Write the profile atomically and record it in the index as the most recent one."""
    path = _profile_path(profile.name)
    data = orjson.dumps(profile.model_dump(mode="json"))
    record_saved(profile.name, path, data, _index_entry(profile, path), _rebuild_index)
    return path


class CorruptProfileError(Exception):
    """A saved profile that no longer validates; ``repo_root`` (from the index) is where it came from."""

    def __init__(self, name: str, reason: str, repo_root: str | None) -> None:
        super().__init__(f"profile {name!r} is corrupt ({reason})")
        self.name, self.reason, self.repo_root = name, reason, repo_root


def read_profile(name: str | None = None) -> Profile:
    """The named profile (None: the most recently ingested) as saved.

    Raises ``CorruptProfileError`` when the file does not validate (``ingest.load_profile`` rebuilds it).
    """
    index = _read_index()
    if name is None:
        name = index.get("last")
        if not name or name not in index["profiles"]:
            raise UserInputError("no profile yet: run `dvsmith ingest REPO` first")
    path = _profile_path(name)
    if not path.exists():
        raise UserInputError(f"no profile named {name!r} (see `dvsmith profiles list`)")
    try:
        return Profile.model_validate(orjson.loads(path.read_bytes()))
    except (OSError, ValueError, ValidationError) as exc:
        repo = index["profiles"].get(name, {}).get("repo_root")
        raise CorruptProfileError(name, type(exc).__name__, repo) from exc


def list_profiles() -> list[ProfileSummary]:
    index = _read_index()
    out = [
        ProfileSummary(name=n, repo_root=e["repo_root"], created_at=e["created_at"], tests=e["tests"], path=e["path"])
        for n, e in index["profiles"].items()
        if Path(e["path"]).exists()
    ]
    return sorted(out, key=lambda s: s.name)


def remove_profile(name: str) -> None:
    path = _profile_path(name)
    with index_lock():
        index = _read_index()
        if not path.exists() and name not in index["profiles"]:
            raise UserInputError(f"no profile named {name!r}")
        path.unlink(missing_ok=True)
        index["profiles"].pop(name, None)
        if index.get("last") == name:
            rest = sorted(index["profiles"].items(), key=lambda kv: kv[1]["created_at"])
            index["last"] = rest[-1][0] if rest else None
        paths.atomic_write_json(index_path(), index)


__all__ = [
    "INDEX_NAME",
    "LOCK_NAME",
    "CorruptProfileError",
    "ProfileSummary",
    "list_profiles",
    "read_profile",
    "remove_profile",
    "save_profile",
]
