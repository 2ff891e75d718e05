"""`dvsmith export harbor OUT DEST`: one Harbor task folder per valid task (Harbor 0.26 on-disk format).

The layout and the ``task.toml`` fields follow ``harbor/models/task/paths.py`` and ``config.py`` of the
harbor 0.26.0 wheel::

    DEST/ID/
      instruction.md          the task README (what an agent reads) plus how the container is laid out
      task.toml               schema_version "1.4"; [task] [metadata] [verifier] [agent] [environment]
      environment/
        Dockerfile            toolchain + dvsmith[sim] + UVM, gym/ copied to the workdir, one warm compile
        gym/                  the cleaned repository (the build context)
        units.json            the gym's compile units (what the warm compile builds)
      tests/                  copied in by Harbor only after the agent ran (never in the image)
        test.sh               `dvsmith eval` on the workdir -> /logs/verifier/reward.txt, reward.json
        grading/              build.json (this task only), gym_manifest.json, tasks/ID/, oracle/ID/,
                              acceptance.json, the coverage point set the task is scored on (coverage/)
      solution/               Harbor's oracle agent
        solve.sh              writes the oracle files in place
        files/                the oracle files at their gym paths

Paths inside the container are environment variables of the scripts with Harbor's defaults
(``DVSMITH_WORKDIR=/app``, ``DVSMITH_VERIFIER_DIR=/logs/verifier``, ``DVSMITH_GYM=/opt/dvsmith/gym``,
tests and solution folders = the script's own folder), so both scripts also run outside a container.

Harbor reads ``reward.json`` in preference to ``reward.txt`` and rejects any non-numeric value in it, so
``reward.json`` holds numbers only (reward, passed, health flags, UVM counts, coverage per metric); the
reasons go to ``/logs/verifier/reasons.txt`` and the full eval result to ``/logs/verifier/eval.json``.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from dvsmith import __version__
from dvsmith.errors import UserInputError
from dvsmith.export.common import GymView, load_gym, slug
from dvsmith.gym.models import Task
from dvsmith.gym.writer import MANIFEST
from dvsmith.paths import atomic_write_bytes, atomic_write_json, atomic_write_text, confine

SCHEMA_VERSION = "1.4"  # harbor.models.task.config.TaskConfig.schema_version in harbor 0.26.0
WORKDIR = "/app"
GYM_IN_IMAGE = "/opt/dvsmith/gym"
DVSMITH_HOME_IN_IMAGE = "/opt/dvsmith/home"
BASE_IMAGE = "python:3.12-slim"
COMPILE_MEMORY_MB = 3072  # a UVM compile under Verilator peaks near 3 GB


class HarborOptions(BaseModel):
    org: str = "dvsmith"  # [task] name = ORG/NAME (Harbor's org/name pattern)
    agent_timeout_s: float = 3600.0
    verifier_timeout_s: float = 1800.0  # a cold UVM compile takes minutes, the run seconds
    build_timeout_s: float = 3600.0  # pip install + UVM + one warm compile
    cpus: int = 2
    memory_mb: int = 4096
    storage_mb: int = 10240
    base_image: str = BASE_IMAGE
    dvsmith_requirement: str | None = None  # pip requirement; default dvsmith[sim]==<this version>
    dvsmith_wheel: Path | None = None  # a local wheel copied into environment/ and installed from there
    include_unsimulated: bool = True  # export tasks of a --sim none build (their oracle was never run)


class HarborTaskOut(BaseModel):
    id: str
    path: str
    name: str


class HarborExport(BaseModel):
    dest: str
    tasks: list[HarborTaskOut] = Field(default_factory=list)
    skipped: dict[str, str] = Field(default_factory=dict)  # task id -> why it was not exported
    simulated: bool = False
    warnings: list[str] = Field(default_factory=list)


# ------------------------------------------------------------------------------------------------ toml
def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a TOML number: {value}")
        return repr(value)
    if isinstance(value, str):
        out = ['"']
        for ch in value:
            if ch == '"':
                out.append('\\"')
            elif ch == "\\":
                out.append("\\\\")
            elif ch == "\n":
                out.append("\\n")
            elif ch == "\t":
                out.append("\\t")
            elif ord(ch) < 0x20 or ord(ch) == 0x7F:
                out.append(f"\\u{ord(ch):04x}")
            else:
                out.append(ch)
        out.append('"')
        return "".join(out)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dump_toml(root: dict[str, Any], tables: dict[str, dict[str, Any]]) -> str:
    """Root keys, then one ``[table]`` per entry (scalars and arrays only: all task.toml needs)."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in root.items() if v is not None]
    for name, table in tables.items():
        lines += ["", f"[{name}]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in table.items() if v is not None]
    return "\n".join(lines) + "\n"


def task_toml(view: GymView, task: Task, opts: HarborOptions) -> str:
    report = view.report
    keywords = ["systemverilog", "uvm", "verification", "dvsmith", task.difficulty]
    if view.simulated and report.sim is not None:
        keywords.append(report.sim.simulator)
    root = {"schema_version": SCHEMA_VERSION, "source": f"dvsmith {__version__}: profile {report.profile}"}
    tables: dict[str, dict[str, Any]] = {
        "task": {
            "name": f"{slug(opts.org)}/{slug(report.profile)}.{slug(task.id)}",
            "description": f"{task.title}: {task.description}",
            "keywords": keywords,
        },
        "metadata": {
            "difficulty": task.difficulty,
            "difficulty_reason": task.difficulty_reason,
            "task_id": task.id,
            "test_name": task.test_name,
            "test_select": task.test_select,
            "files_to_write": list(task.files_to_write),
            "dvsmith_version": __version__,
            "content_hash": task.content_hash,
            "profile": report.profile,
            "profile_fingerprint": report.profile_fingerprint,
            "metadata_source": task.metadata_source,
            "simulator": report.sim.simulator if report.sim else "none",
            "oracle_simulated": view.simulated,
        },
        "verifier": {"timeout_sec": float(opts.verifier_timeout_s), "network_mode": "no-network"},
        "agent": {"timeout_sec": float(opts.agent_timeout_s), "network_mode": "no-network"},
        "environment": {
            "build_timeout_sec": float(opts.build_timeout_s),
            "cpus": opts.cpus,
            "memory_mb": max(opts.memory_mb, COMPILE_MEMORY_MB),
            "storage_mb": opts.storage_mb,
            "workdir": WORKDIR,
        },
    }
    return dump_toml(root, tables)


# -------------------------------------------------------------------------------------------- scripts
def _requirement(opts: HarborOptions, wheel_name: str | None) -> str:
    if wheel_name is not None:
        return f"/tmp/dvsmith-dist/{wheel_name}[sim]"
    return opts.dvsmith_requirement or f"dvsmith[sim]=={__version__}"


def dockerfile(opts: HarborOptions, wheel_name: str | None) -> str:
    req = _requirement(opts, wheel_name)
    copy_wheel = [f"COPY dist/{wheel_name} /tmp/dvsmith-dist/{wheel_name}"] if wheel_name else []
    return "\n".join([
        "# Generated by dvsmith export harbor. The agent works in the workdir; grading data is not in the image.",
        f"FROM {opts.base_image}",
        "RUN apt-get update \\",
        " && apt-get install -y --no-install-recommends g++ clang make perl ccache \\",
        " && rm -rf /var/lib/apt/lists/*",
        f"ENV DVSMITH_HOME={DVSMITH_HOME_IN_IMAGE} CCACHE_DIR=/opt/dvsmith/ccache",
        *copy_wheel,
        f'RUN pip install --no-cache-dir "{req}"',
        "# the UVM library (1800.2-2017, from PyPI) is unpacked once into DVSMITH_HOME",
        'RUN python -c "from dvsmith.sim.toolchain import ensure_uvm; print(ensure_uvm())"',
        f"COPY gym/ {GYM_IN_IMAGE}/",
        "COPY units.json /opt/dvsmith/units.json",
        "# one compile of the gym: fills the compile cache and ccache, so a trial does not start cold",
        f"RUN python -m dvsmith.export.warm {GYM_IN_IMAGE} /opt/dvsmith/units.json",
        f"RUN mkdir -p {WORKDIR} && cp -a {GYM_IN_IMAGE}/. {WORKDIR}/",
        f"WORKDIR {WORKDIR}",
        "",
    ])


TEST_SH = """#!/usr/bin/env bash
# Harbor verifier for dvsmith task {task_id}: grade the workdir with `dvsmith eval`, write the reward.
# Every path is a parameter (Harbor's defaults), so this also runs outside a container.
set -uo pipefail
TESTS_DIR="${{DVSMITH_TESTS_DIR:-$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)}}"
WORKDIR="${{DVSMITH_WORKDIR:-{workdir}}}"
GYM="${{DVSMITH_GYM:-{gym}}}"
VERIFIER_DIR="${{DVSMITH_VERIFIER_DIR:-/logs/verifier}}"
PYTHON="${{DVSMITH_PYTHON:-python3}}"
TASK_ID="{task_id}"

mkdir -p "$VERIFIER_DIR"
rm -f "$VERIFIER_DIR/reward.txt" "$VERIFIER_DIR/reward.json"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
OUT="$SCRATCH/out"
mkdir -p "$OUT"
cp -a "$TESTS_DIR/grading/." "$OUT/"
code=2
if cp -a "$GYM" "$OUT/gym"; then
  "$PYTHON" -m dvsmith eval "$OUT" "$TASK_ID" "$WORKDIR" --json \\
    >"$VERIFIER_DIR/eval.json" 2>"$VERIFIER_DIR/eval.stderr.txt"
  code=$?
else
  echo "error: the pristine gym is missing: $GYM" >"$VERIFIER_DIR/eval.stderr.txt"
fi
if ! "$PYTHON" -m dvsmith.export.reward "$VERIFIER_DIR" "$code"; then
  echo 0 >"$VERIFIER_DIR/reward.txt"
  echo '{{"reward": 0}}' >"$VERIFIER_DIR/reward.json"
fi
echo "dvsmith eval exit $code, reward $(cat "$VERIFIER_DIR/reward.txt")"
exit 0
"""

SOLVE_SH = """#!/usr/bin/env bash
# Harbor oracle for dvsmith task {task_id}: write the reference files in place in the workdir.
set -euo pipefail
SOLUTION_DIR="${{DVSMITH_SOLUTION_DIR:-$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)}}"
WORKDIR="${{DVSMITH_WORKDIR:-{workdir}}}"
cp -R "$SOLUTION_DIR/files/." "$WORKDIR/"
"""


def instruction(readme: str) -> str:
    return "\n".join([
        readme.rstrip(),
        "",
        "## Where you work",
        "",
        f"The repository is in `{WORKDIR}` (the gym; paths above are relative to it). Write only the files",
        "listed above: any other new or changed file in it (build outputs, logs, edits of the DUT, the",
        "scoreboard or the base test) scores 0, so build and simulate in a scratch folder such as `/tmp`.",
        "Verilator, g++ and the UVM library (`$DVSMITH_HOME`) are installed; there is no network.",
        "",
    ])


# --------------------------------------------------------------------------------------------- export
def _copy_tree(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, symlinks=True)


def _grading(view: GymView, task: Task, tests_dir: Path) -> None:
    grading = tests_dir / "grading"
    report = view.report.model_copy(deep=True)
    report.tasks = [s for s in report.tasks if s.id == task.id]
    atomic_write_json(grading / "build.json", report.model_dump(mode="json"))
    shutil.copyfile(view.out_dir / MANIFEST, grading / MANIFEST)
    _copy_tree(view.out_dir / "tasks" / task.id, grading / "tasks" / task.id)
    oracle = view.oracle_files(task)
    for rel, path in oracle.items():
        atomic_write_bytes(grading / "oracle" / task.id / rel, path.read_bytes())
    atomic_write_json(grading / "acceptance.json", task.acceptance.model_dump(mode="json"))
    points = task.acceptance.coverage_points  # the original's coverage points the eval scores against
    if points:
        try:
            src = confine(view.out_dir, points)
        except ValueError:
            raise UserInputError(f"task {task.id}: coverage point set outside the gym folder: {points}") from None
        if not src.is_file():
            raise UserInputError(f"task {task.id}: coverage point set missing: {points}")
        atomic_write_bytes(confine(grading, points), src.read_bytes())


EXPORT_MARKER = ".dvsmith-export"


def _ours(folder: Path) -> bool:
    """A folder an earlier export wrote (its marker), or an empty one: the only kinds an export replaces."""
    return folder.is_dir() and ((folder / EXPORT_MARKER).is_file() or not any(folder.iterdir()))


def export_task(view: GymView, task: Task, folder: Path, opts: HarborOptions) -> None:
    env_dir, tests_dir, sol_dir = folder / "environment", folder / "tests", folder / "solution"
    atomic_write_text(folder / "instruction.md", instruction(view.readme(task)))
    atomic_write_text(folder / "task.toml", task_toml(view, task, opts))
    # environment: the build context of the image
    _copy_tree(view.out_dir / "gym", env_dir / "gym")
    atomic_write_json(env_dir / "units.json", [u.model_dump(mode="json") for u in view.report.compile_units])
    wheel_name = None
    if opts.dvsmith_wheel is not None:
        wheel_name = opts.dvsmith_wheel.name
        (env_dir / "dist").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(opts.dvsmith_wheel, env_dir / "dist" / wheel_name)
    atomic_write_text(env_dir / "Dockerfile", dockerfile(opts, wheel_name))
    # tests: uploaded by Harbor after the agent ran
    _grading(view, task, tests_dir)
    atomic_write_text(tests_dir / "test.sh", TEST_SH.format(task_id=task.id, workdir=WORKDIR, gym=GYM_IN_IMAGE))
    # solution: Harbor's oracle agent
    for rel, path in view.oracle_files(task).items():
        atomic_write_bytes(sol_dir / "files" / rel, path.read_bytes())
    atomic_write_text(sol_dir / "solve.sh", SOLVE_SH.format(task_id=task.id, workdir=WORKDIR))
    for script in (tests_dir / "test.sh", sol_dir / "solve.sh"):
        script.chmod(0o755)


def export_harbor(out_dir: Path, dest: Path, opts: HarborOptions | None = None) -> HarborExport:
    """Write one Harbor task folder per valid task of the gym at ``out_dir`` under ``dest``."""
    opts = opts or HarborOptions()
    view = load_gym(out_dir)
    dest = dest.resolve()
    if dest == view.out_dir or view.out_dir in dest.parents:
        raise UserInputError(f"DEST must be outside the gym folder: {dest}")
    if opts.dvsmith_wheel is not None and not opts.dvsmith_wheel.is_file():
        raise UserInputError(f"wheel not found: {opts.dvsmith_wheel}")
    result = HarborExport(dest=str(dest), simulated=view.simulated)
    if not view.simulated:
        if not opts.include_unsimulated:
            raise UserInputError("the gym was built with --sim none: its oracles were never run (rebuild with --sim)")
        result.warnings.append("the gym was built with --sim none: no task's reference was proven by simulation")
    valid = {t.id for t in view.valid_tasks()}
    for t in view.tasks:
        if t.id not in valid:
            status = next((s for s in view.report.tasks if s.id == t.id), None)
            result.skipped[t.id] = (status.invalid_reason if status else None) or t.invalid_reason or "invalid"
    dest.mkdir(parents=True, exist_ok=True)
    for task in view.tasks:
        if task.id not in valid:
            continue
        folder = dest / slug(task.id)
        tmp = dest / f".{folder.name}.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        if folder.is_symlink() or (folder.exists() and not _ours(folder)):
            raise UserInputError(f"{folder} exists and is not a task folder dvsmith exported: not replaced")
        try:
            export_task(view, task, tmp, opts)
            (tmp / EXPORT_MARKER).write_text("written by dvsmith export harbor; replaced by the next export\n")
            if folder.exists():
                shutil.rmtree(folder)
            tmp.rename(folder)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        name = f"{slug(opts.org)}/{slug(view.report.profile)}.{slug(task.id)}"
        result.tasks.append(HarborTaskOut(id=task.id, path=str(folder), name=name))
    return result
