"""The records cleaning writes and eval reads: per-task ranges and references removed, and the run's result.

``clean_repo`` (gym/clean.py) produces them; ``restore_for_eval`` (gym/restore.py) puts the removed
references back. They live apart from both so neither imports the other.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RemovedReference(_Model):
    """One hunk eval puts back into a gym file the candidate does not write.

    ``line_index`` is the 0-based index of the first line of the CLEANED gym file this hunk replaces
    (``count`` lines, 0 for a pure insertion before that line); ``text`` is what goes there (whole
    lines, each with its newline); ``expect`` is the cleaned text being replaced (checked first).
    """

    file: str
    line_index: int
    count: int = 0
    text: str
    expect: str = ""
    kind: str = "reference"  # include|filelist|test_list|comment|string|typedef|text (joined with + if mixed)
    encoding: str = "utf-8"
    origin: int = 0  # byte offset of the hunk in the ORIGINAL file: orders hunks of several tasks


class RemovedRange(_Model):
    file: str
    name: str
    start: int
    end: int
    line: int
    end_line: int


class TaskCleaning(_Model):
    task_id: str
    files_to_write: list[str] = Field(default_factory=list)  # gym-relative
    removed_files: list[str] = Field(default_factory=list)  # whole files this task removes
    removed_ranges: list[RemovedRange] = Field(default_factory=list)  # class ranges (files that stay)
    removed_references: list[RemovedReference] = Field(default_factory=list)
    oracle_files: list[str] = Field(default_factory=list)  # relative to oracle/ID/
    requires: list[str] = Field(default_factory=list)  # other tasks whose code this oracle includes
    notes: list[str] = Field(default_factory=list)


class CleanResult(_Model):
    tasks: list[TaskCleaning] = Field(default_factory=list)
    gym_dir: str
    oracle_dir: str
    files_copied: int = 0
    files_removed: int = 0
    files_edited: int = 0
    skipped: list[str] = Field(default_factory=list)  # build outputs, VCS folders, refused symlinks
    notes: list[str] = Field(default_factory=list)
    removed_names: dict[str, list[str]] = Field(default_factory=dict)  # task -> class names removed
    removed_basenames: dict[str, list[str]] = Field(default_factory=dict)  # task -> file names removed
    edited_files: dict[str, list[str]] = Field(default_factory=dict)  # gym file -> tasks editing it
    fingerprints: dict[str, list[str]] = Field(default_factory=dict)  # task -> hashes of oracle shingles
