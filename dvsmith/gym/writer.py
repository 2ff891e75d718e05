"""Write tasks/ID/task.json and tasks/ID/README.md, and the gym's checksum manifest."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from dvsmith.gym.models import Task
from dvsmith.gym.readme import render_readme
from dvsmith.paths import atomic_write_json, atomic_write_text, sha256_file

MANIFEST = "gym_manifest.json"


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (relative POSIX path -> hex digest), symlinks not followed."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for fn in sorted(filenames):
            full = Path(dirpath) / fn
            if full.is_symlink():
                out[full.relative_to(root).as_posix()] = "symlink:" + os.readlink(full)
                continue
            out[full.relative_to(root).as_posix()] = sha256_file(full)
    return out


def content_hash(oracle_root: Path, files: list[str], test_select: str) -> str:
    """A hash of what the task asks for: its reference files and how its test is selected."""
    h = hashlib.sha256(test_select.encode())
    for rel in sorted(files):
        h.update(b"\0" + rel.encode() + b"\0")
        h.update((oracle_root / rel).read_bytes())
    return h.hexdigest()[:16]


def write_manifest(out_dir: Path) -> dict[str, str]:
    digest = tree_digest(out_dir / "gym")
    atomic_write_json(out_dir / MANIFEST, digest)
    return digest


def write_task(out_dir: Path, task: Task) -> None:
    folder = out_dir / "tasks" / task.id
    atomic_write_json(folder / "task.json", task.model_dump(mode="json"))
    atomic_write_text(folder / "README.md", render_readme(task))
