"""Write tasks/ID/task.json and tasks/ID/README.md, and the gym's checksum manifest."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from dvsmith.gym.models import Task
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


def render_readme(task: Task) -> str:
    acc = task.acceptance
    lines = [
        f"# {task.title}",
        "",
        f"Task `{task.id}` · difficulty **{task.difficulty}** ({task.difficulty_reason})",
        "",
        task.description,
        "",
        "## Goal",
        "",
        task.goal,
        "",
        "## What to write",
        "",
        f"Write the UVM test class `{task.test_name}`"
        + (f", extending `{task.base_class}`" if task.base_class else "")
        + ", and register it with the factory (`` `uvm_component_utils ``).",
        "",
        *(
            [
                f"It extends a test that is itself a task ({', '.join(f'`{r}`' for r in task.requires)}): "
                "that class was removed too, and you write it as well.",
                "",
            ]
            if task.requires
            else []
        ),
        "Files you write (paths inside `gym/`; nothing else may change):",
        "",
        *[f"- `{p}`" for p in task.files_to_write],
        "",
        "If a file above does not exist in `gym/`, create it; the grader puts back the `include line, filelist",
        "entry or test-list entry that compiles it. If it exists, keep what is already in it and add your code.",
        "",
        f"The test is selected with `{task.test_select}`.",
    ]
    if task.sequences:
        lines += ["", "## Sequences involved", "", *[f"- `{s}`" for s in task.sequences]]
    if task.covergroups:
        lines += ["", "## Covergroups to exercise", "", *[f"- `{c}`" for c in task.covergroups]]
    lines += ["", "## Hints", "", *[f"- {h}" for h in task.hints]]
    if task.plusargs:
        plus = " ".join(task.plusargs)
        lines += ["", f"The test runs with these plusargs (from the repository's own flow): `{plus}`."]
    if task.rewrites:
        lines += [
            "",
            "## Verilator compatibility rewrites",
            "",
            "`gym/` differs from the original repository where Verilator needs it "
            "(the reference was run the same way):",
            "",
            *[f"- `{r['file']}:{r['line']}` ({r['name']}): {r['what']}" for r in task.rewrites],
        ]
    lines += [
        "",
        "## How it is judged",
        "",
        "`dvsmith eval` copies `gym/`, puts your files in place, compiles, runs your test and scores it:",
        "",
        f"- health gate: the test `{task.test_name}` must actually start, finish before "
        f"{acc.timeout_s:.0f} s, and end with UVM_ERROR ≤ {acc.max_uvm_errors} and "
        f"UVM_FATAL ≤ {acc.max_uvm_fatals} in the UVM report-server summary;",
    ]
    if acc.coverage:
        lines.append("- coverage of the code you do not write, per metric, against these targets:")
        lines += [f"  - {c.metric}: ≥ {c.target:.1f}% (reference reached {c.oracle:.1f}%)" for c in acc.coverage]
    else:
        lines.append("- no coverage targets (none were measured for the reference)")
    if acc.functional_coverage == "unsupported":
        lines.append("- functional (covergroup) coverage is not measured by this simulator and is not scored")
    lines += [
        f"- the task passes at score ≥ {acc.pass_score:.2f}; editing any file outside the list above scores 0.",
        "",
    ]
    return "\n".join(lines)
