"""Reading a built gym back: ``build.json`` and each ``tasks/<id>/task.json``.

A gym on disk is input like any other: a task id is confined to ``tasks/``, a corrupt file is a one-line
``UserInputError``, and every path a task.json names must stay inside the gym.
"""

from __future__ import annotations

import contextlib
import posixpath
from pathlib import Path

from dvsmith.errors import UserInputError
from dvsmith.gym.models import BuildReport, Task


def load_build(out_dir: Path) -> BuildReport:
    path = out_dir / "build.json"
    try:
        return BuildReport.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise UserInputError(f"not a dvsmith gym (no build.json): {out_dir}") from None
    except ValueError as exc:
        raise UserInputError(f"corrupt build.json in {out_dir}: {str(exc).splitlines()[0]}") from None


def load_task(out_dir: Path, task_id: str) -> Task:
    tasks_dir = out_dir / "tasks"
    if not tasks_dir.is_dir():
        raise UserInputError(f"not a dvsmith gym (no tasks/ folder): {out_dir}")
    with contextlib.suppress(ValueError):
        path = (tasks_dir / task_id / "task.json").resolve()
        if tasks_dir.resolve() in path.parents and path.is_file():
            try:
                task = Task.model_validate_json(path.read_bytes())
            except ValueError as exc:
                raise UserInputError(f"corrupt task.json for {task_id}: {str(exc).splitlines()[0]}") from None
            _check_task_paths(task_id, task)
            return task
    known = sorted(p.name for p in tasks_dir.iterdir() if (p / "task.json").is_file())
    raise UserInputError(f"unknown task id '{task_id}' (known: {', '.join(known) or 'none'})")


def _check_task_paths(task_id: str, task: Task) -> None:
    """Every path a task.json names must stay inside the gym (relative, no ``..``): else it is bad input."""
    named = [
        *([task.test_file] if task.test_file else []),
        *task.files_to_write,
        *task.oracle_files,
        *task.removed_files,
        *(str(r.get("file", "")) if isinstance(r, dict) else "" for r in task.removed_references),
    ]
    for rel in named:
        norm = posixpath.normpath(rel) if rel else ""
        if not rel or "\x00" in rel or rel.startswith(("/", "\\")) or norm == ".." or norm.startswith("../"):
            raise UserInputError(f"corrupt task.json for {task_id}: path {rel!r} escapes the gym")


def all_tasks(out_dir: Path) -> list[Task]:
    tasks_dir = out_dir / "tasks"
    if not tasks_dir.is_dir():
        raise UserInputError(f"not a dvsmith gym (no tasks/ folder): {out_dir}")
    return [load_task(out_dir, p.name) for p in sorted(tasks_dir.iterdir()) if (p / "task.json").is_file()]
