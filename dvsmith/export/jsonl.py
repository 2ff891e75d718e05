"""`dvsmith export jsonl OUT FILE`: the gym's tasks as a JSON Lines dataset, one task per line.

Each line: ``id, instruction, files_to_write, test_select, difficulty, metadata, acceptance,
content_hash`` and, only with ``with_oracle``, ``oracle`` (a list of ``{path, content}``: the reference
files). Every line has the same keys and value types, so ``datasets.load_dataset("json", ...)`` reads
the file as one table. The file is written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, Field

from dvsmith import __version__
from dvsmith.export.common import GymView, load_gym
from dvsmith.gym.models import Task
from dvsmith.paths import atomic_write_bytes


class JsonlExport(BaseModel):
    file: str
    lines: int
    skipped: dict[str, str] = Field(default_factory=dict)
    with_oracle: bool = False


def task_record(view: GymView, task: Task, *, with_oracle: bool = False) -> dict[str, Any]:
    report = view.report
    record: dict[str, Any] = {
        "id": task.id,
        "instruction": view.readme(task),
        "files_to_write": list(task.files_to_write),
        "test_select": task.test_select,
        "difficulty": task.difficulty,
        "metadata": {
            "title": task.title,
            "test_name": task.test_name,
            "description": task.description,
            "goal": task.goal,
            "hints": list(task.hints),
            "difficulty_reason": task.difficulty_reason,
            "covergroups": list(task.covergroups),
            "sequences": list(task.sequences),
            "base_class": task.base_class or "",
            "requires": list(task.requires),
            "compile_unit": task.compile_unit or "",
            "metadata_source": task.metadata_source,
            "profile": report.profile,
            "profile_fingerprint": report.profile_fingerprint,
            "simulator": report.sim.simulator if report.sim else "none",
            "oracle_simulated": view.simulated,
            "valid": task.valid,
            "dvsmith_version": __version__,
        },
        "acceptance": task.acceptance.model_dump(mode="json"),
        "content_hash": task.content_hash,
    }
    if with_oracle:
        record["oracle"] = [
            {"path": rel, "content": path.read_bytes().decode("utf-8", errors="replace")}
            for rel, path in sorted(view.oracle_files(task).items())
        ]
    return record


def export_jsonl(out_dir: Path, file: Path, *, with_oracle: bool = False, include_invalid: bool = False) -> JsonlExport:
    view = load_gym(out_dir)
    valid = {t.id for t in view.valid_tasks()}
    lines: list[bytes] = []
    skipped: dict[str, str] = {}
    for task in view.tasks:
        if task.id not in valid and not include_invalid:
            skipped[task.id] = task.invalid_reason or "invalid"
            continue
        lines.append(orjson.dumps(task_record(view, task, with_oracle=with_oracle)) + b"\n")
    atomic_write_bytes(file, b"".join(lines))
    return JsonlExport(file=str(file.resolve()), lines=len(lines), skipped=skipped, with_oracle=with_oracle)
