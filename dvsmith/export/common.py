"""What every export reads from a build's output folder: the report, the tasks, the task's oracle files."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from dvsmith.errors import UserInputError
from dvsmith.gym.gymfiles import all_tasks, load_build
from dvsmith.gym.models import BuildReport, Task
from dvsmith.gym.writer import render_readme
from dvsmith.paths import confine

_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


class GymView(BaseModel):
    """A build's output folder, loaded once."""

    out_dir: Path
    report: BuildReport
    tasks: list[Task]

    @property
    def simulated(self) -> bool:
        return self.report.sim is not None

    def valid_tasks(self) -> list[Task]:
        status = {s.id: s for s in self.report.tasks}
        return [t for t in self.tasks if t.valid and (status[t.id].valid if t.id in status else True)]

    def readme(self, task: Task) -> str:
        """The task's README as the build wrote it (rendered again when the file is missing)."""
        path = self.out_dir / "tasks" / task.id / "README.md"
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return render_readme(task)

    def oracle_files(self, task: Task) -> dict[str, Path]:
        """gym-relative path -> the reference file under oracle/ID/ (confined to that folder)."""
        root = self.out_dir / "oracle" / task.id
        out: dict[str, Path] = {}
        for rel in task.oracle_files:
            try:
                path = confine(root, rel)
            except ValueError:
                raise UserInputError(f"task {task.id}: oracle path escapes its folder: {rel}") from None
            if not path.is_file():
                raise UserInputError(f"task {task.id}: oracle file missing: oracle/{task.id}/{rel}")
            out[rel] = path
        return out


def load_gym(out_dir: Path) -> GymView:
    out = out_dir.resolve()
    if not out.is_dir():
        raise UserInputError(f"gym folder not found: {out_dir}")
    report = load_build(out)
    if not (out / "gym").is_dir():
        raise UserInputError(f"not a dvsmith gym (no gym/ folder): {out_dir}")
    return GymView(out_dir=out, report=report, tasks=all_tasks(out))


def slug(text: str) -> str:
    """Characters Harbor and file systems accept in a name: letters, digits, '.', '_', '-'."""
    s = _SLUG.sub("-", text).strip("-.")
    return s or "gym"
