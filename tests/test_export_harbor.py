"""`dvsmith export harbor` and `export jsonl` on a --sim none build of a fixture (no simulation).

The task.toml check uses a copy of Harbor 0.26.0's own task model (``harbor/models/task/config.py``
of the wheel, the fields and defaults we rely on), made strict (``extra="forbid"``) so that a field name
Harbor does not know fails here instead of being silently dropped by Harbor.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import BaseModel, ConfigDict, Field

from tests.simkit import cli

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "a_class_per_file"
ORG_NAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9._-]*/[a-zA-Z0-9][a-zA-Z0-9._-]*$"  # harbor.constants


# ------------------------------------------------------------------ Harbor 0.26.0 task model (strict copy)
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NetworkMode(StrEnum):
    NO_NETWORK = "no-network"
    PUBLIC = "public"
    ALLOWLIST = "allowlist"


class Author(_Strict):
    name: str
    email: str | None = None


class PackageInfo(_Strict):
    name: str = Field(..., pattern=ORG_NAME_PATTERN)
    version: str | None = Field(default=None, min_length=1)
    description: str = ""
    authors: list[Author] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)


class AgentConfig(_Strict):
    timeout_sec: float | None = None
    user: str | int | None = None
    network_mode: NetworkMode | None = None
    allowed_hosts: list[str] | None = None


class EnvironmentConfig(_Strict):
    build_timeout_sec: float = 600.0
    docker_image: str | None = None
    os: str = "linux"
    cpus: int | float | None = None
    memory_mb: int | None = None
    storage_mb: int | None = None
    gpus: int | None = None
    gpu_types: list[str] | None = None
    tpu: dict[str, Any] | None = None
    mcp_servers: list[dict[str, Any]] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    skills_dir: str | None = None
    healthcheck: dict[str, Any] | None = None
    workdir: str | None = None
    allow_internet: bool | None = None
    network_mode: NetworkMode = NetworkMode.PUBLIC
    allowed_hosts: list[str] | None = None


class VerifierConfig(_Strict):
    timeout_sec: float = 600.0
    env: dict[str, str] = Field(default_factory=dict)
    user: str | int | None = None
    environment_mode: str | None = None
    environment: EnvironmentConfig | None = None
    collect: list[dict[str, Any]] = Field(default_factory=list)
    network_mode: NetworkMode | None = None
    allowed_hosts: list[str] | None = None


class SolutionConfig(_Strict):
    env: dict[str, str] = Field(default_factory=dict)


class TaskConfig(_Strict):
    schema_version: str = "1.4"
    task: PackageInfo | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    verifier: VerifierConfig = Field(default_factory=VerifierConfig)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    environment: EnvironmentConfig = Field(default_factory=EnvironmentConfig)
    solution: SolutionConfig = Field(default_factory=SolutionConfig)
    source: str | None = None
    multi_step_reward_strategy: str | None = None
    steps: list[dict[str, Any]] | None = None
    artifacts: list[Any] = Field(default_factory=list)


# ------------------------------------------------------------------------------------------------ set-up
@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("export")
    env = {"DVSMITH_HOME": str(work / "home")}
    repo = work / "a_class_per_file"
    shutil.copytree(FIXTURE, repo)
    assert cli(env, "ingest", str(repo), "--json").returncode == 0
    proc = cli(env, "build", "--provider", "offline", "--sim", "none", "--out", str(work / "out"), "--json")
    assert proc.returncode == 0, proc.stderr
    return work / "out"


@pytest.fixture(scope="module")
def exported(built: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    dest = tmp_path_factory.mktemp("harbor") / "tasks"
    proc = cli({}, "export", "harbor", str(built), str(dest), "--json")
    assert proc.returncode == 0, proc.stderr
    return dest, orjson.loads(proc.stdout)


def test_one_harbor_folder_per_valid_task_with_harbors_files(built: Path, exported: tuple[Path, dict]) -> None:
    dest, result = exported
    report = orjson.loads((built / "build.json").read_bytes())
    ids = sorted(t["id"] for t in report["tasks"] if t["valid"])
    assert sorted(t["id"] for t in result["tasks"]) == ids
    assert sorted(p.name for p in dest.iterdir()) == ids
    for tid in ids:
        folder = dest / tid
        task = orjson.loads((built / "tasks" / tid / "task.json").read_bytes())
        # harbor/models/task/paths.py: instruction.md, task.toml, environment/, solution/solve.sh, tests/test.sh
        for rel in ("instruction.md", "task.toml", "environment/Dockerfile", "tests/test.sh", "solution/solve.sh"):
            assert (folder / rel).is_file(), rel
        assert os.access(folder / "tests" / "test.sh", os.X_OK) and os.access(folder / "solution" / "solve.sh", os.X_OK)
        assert task["title"] in (folder / "instruction.md").read_text()
        # the image gets the gym, never the grading data or the reference
        env_files = {p.relative_to(folder / "environment").as_posix() for p in (folder / "environment").rglob("*")}
        assert not any(p.startswith(("tests", "oracle", "solution")) for p in env_files)
        gym_files = {p.relative_to(built / "gym").as_posix() for p in (built / "gym").rglob("*") if p.is_file()}
        assert {p[len("gym/"):] for p in env_files if p.startswith("gym/")} >= gym_files
        for rel in task["oracle_files"]:
            assert not (folder / "environment" / "gym" / rel).exists()
            ref = (built / "oracle" / tid / rel).read_bytes()
            assert (folder / "solution" / "files" / rel).read_bytes() == ref
            assert (folder / "tests" / "grading" / "oracle" / tid / rel).read_bytes() == ref
        grading = folder / "tests" / "grading"
        assert orjson.loads((grading / "tasks" / tid / "task.json").read_bytes()) == task
        assert (grading / "gym_manifest.json").read_bytes() == (built / "gym_manifest.json").read_bytes()
        assert orjson.loads((grading / "acceptance.json").read_bytes()) == task["acceptance"]
        assert [t["id"] for t in orjson.loads((grading / "build.json").read_bytes())["tasks"]] == [tid]
        docker = (folder / "environment" / "Dockerfile").read_text()
        for needle in ("g++", "make", "perl", "ccache", "dvsmith[sim]==", "ensure_uvm", "dvsmith.export.warm",
                       "COPY gym/", "WORKDIR /app"):  # fmt: skip
            assert needle in docker, needle


def test_task_toml_matches_harbors_task_model(built: Path, exported: tuple[Path, dict]) -> None:
    from dvsmith import __version__

    dest, _ = exported
    for folder in sorted(dest.iterdir()):
        task = orjson.loads((built / "tasks" / folder.name / "task.json").read_bytes())
        raw = tomllib.loads((folder / "task.toml").read_text())
        cfg = TaskConfig.model_validate(raw)  # strict: an unknown field fails
        assert cfg.schema_version == "1.4"
        assert cfg.task is not None and cfg.task.name.endswith("." + folder.name)
        assert task["title"] in cfg.task.description
        assert {"systemverilog", "uvm"} <= set(cfg.task.keywords)
        md = cfg.metadata
        assert md["difficulty"] == task["difficulty"]
        assert md["test_name"] == task["test_name"]
        assert md["dvsmith_version"] == __version__
        assert md["content_hash"] == task["content_hash"]
        assert cfg.verifier.timeout_sec > 0 and cfg.agent.timeout_sec and cfg.agent.timeout_sec > 0
        assert cfg.agent.network_mode == NetworkMode.NO_NETWORK
        assert cfg.environment.build_timeout_sec > 0
        assert cfg.environment.cpus and cfg.environment.cpus >= 1
        assert cfg.environment.memory_mb and cfg.environment.memory_mb >= 3072  # a UVM compile


@pytest.mark.skipif(sys.version_info < (3, 12), reason="harbor needs Python >= 3.12")
def test_loads_with_harbor_itself(exported: tuple[Path, dict]) -> None:
    task_mod = pytest.importorskip("harbor.models.task.task")
    dest, _ = exported
    for folder in sorted(dest.iterdir()):
        t = task_mod.Task(folder)
        assert t.config.schema_version == "1.4"
        assert t.instruction.strip()
        assert t.paths.discovered_test_path is not None and t.paths.discovered_solve_path is not None


def _script_env(folder: Path, work: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DVSMITH_WORKDIR": str(work),
        "DVSMITH_GYM": str(folder / "environment" / "gym"),
        "DVSMITH_VERIFIER_DIR": str(folder.parent.parent / "verifier" / folder.name),
        "DVSMITH_PYTHON": sys.executable,
    }


def test_untouched_workdir_and_a_protected_edit_get_reward_0(exported: tuple[Path, dict], tmp_path: Path) -> None:
    """Harbor's nop rule, without simulation: every file to write is missing, so nothing is compiled."""
    dest, _ = exported
    folder = dest / "status_test"
    work = tmp_path / "app"
    shutil.copytree(folder / "environment" / "gym", work)
    env = _script_env(folder, work)
    proc = subprocess.run(["bash", str(folder / "tests" / "test.sh")], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    vdir = Path(env["DVSMITH_VERIFIER_DIR"])
    assert float((vdir / "reward.txt").read_text()) == 0.0
    rj = orjson.loads((vdir / "reward.json").read_bytes())
    assert rj["reward"] == 0 and rj["passed"] == 0
    assert all(isinstance(v, int | float) for v in rj.values())  # Harbor rejects anything else
    assert "empty" in (vdir / "reasons.txt").read_text()

    # the oracle in place, plus an edit of a protected file: 0 before any compile, and the file is named
    solve = subprocess.run(["bash", str(folder / "solution" / "solve.sh")], env=env, capture_output=True, text=True)
    assert solve.returncode == 0, solve.stderr
    victim = next(p for p in sorted(work.rglob("*.sv")) if p.is_file())
    victim.write_text(victim.read_text() + "\n// tampered\n")
    proc = subprocess.run(["bash", str(folder / "tests" / "test.sh")], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert float((vdir / "reward.txt").read_text()) == 0.0
    assert victim.relative_to(work).as_posix() in (vdir / "reasons.txt").read_text()
    assert orjson.loads((vdir / "eval.json").read_bytes())["compiled"] is False


def test_missing_gym_still_writes_reward_0(exported: tuple[Path, dict], tmp_path: Path) -> None:
    dest, _ = exported
    folder = dest / "status_test"
    env = {**_script_env(folder, tmp_path / "app"), "DVSMITH_GYM": str(tmp_path / "nope")}
    (tmp_path / "app").mkdir()
    proc = subprocess.run(["bash", str(folder / "tests" / "test.sh")], env=env, capture_output=True, text=True)
    assert proc.returncode == 0
    vdir = Path(env["DVSMITH_VERIFIER_DIR"])
    assert float((vdir / "reward.txt").read_text()) == 0.0
    assert (vdir / "reasons.txt").read_text().strip()


# ------------------------------------------------------------------------------------------------ jsonl
KEYS = {"id", "instruction", "files_to_write", "test_select", "difficulty", "metadata", "acceptance", "content_hash"}


def test_jsonl_one_line_per_task_oracle_only_on_request(built: Path, tmp_path: Path) -> None:
    plain, full = tmp_path / "tasks.jsonl", tmp_path / "full.jsonl"
    assert cli({}, "export", "jsonl", str(built), str(plain)).returncode == 0
    assert cli({}, "export", "jsonl", str(built), str(full), "--with-oracle").returncode == 0
    report = orjson.loads((built / "build.json").read_bytes())
    rows = [orjson.loads(line) for line in plain.read_text().splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(t["id"] for t in report["tasks"] if t["valid"])
    for r in rows:
        assert set(r) == KEYS
        task = orjson.loads((built / "tasks" / r["id"] / "task.json").read_bytes())
        assert r["files_to_write"] == task["files_to_write"] and r["content_hash"] == task["content_hash"]
        assert r["acceptance"] == task["acceptance"] and r["difficulty"] == task["difficulty"]
        assert task["test_name"] in r["instruction"]
    for r in (orjson.loads(line) for line in full.read_text().splitlines()):
        assert set(r) == KEYS | {"oracle"}
        task = orjson.loads((built / "tasks" / r["id"] / "task.json").read_bytes())
        assert {o["path"] for o in r["oracle"]} == set(task["oracle_files"])
        for o in r["oracle"]:
            assert o["content"] == (built / "oracle" / r["id"] / o["path"]).read_text()


def test_jsonl_loads_with_datasets(built: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    file = tmp_path / "tasks.jsonl"
    assert cli({}, "export", "jsonl", str(built), str(file), "--with-oracle").returncode == 0
    ds = datasets.load_dataset("json", data_files=str(file), split="train", cache_dir=str(tmp_path / "hf"))
    assert len(ds) == len(file.read_text().splitlines())
    assert set(ds.column_names) == KEYS | {"oracle"}


def test_export_replaces_its_own_folders_but_never_a_users(built: Path, tmp_path: Path) -> None:
    dest = tmp_path / "tasks"
    assert cli({}, "export", "harbor", str(built), str(dest), "--json").returncode == 0
    assert cli({}, "export", "harbor", str(built), str(dest), "--json").returncode == 0  # its own: replaced
    tid = next(p.name for p in sorted(dest.iterdir()) if p.is_dir())
    mine = tmp_path / "mine"
    (mine / tid).mkdir(parents=True)
    (mine / tid / "thesis.txt").write_text("mine")
    proc = cli({}, "export", "harbor", str(built), str(mine), "--json")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "not a task folder dvsmith exported" in proc.stderr
    assert (mine / tid / "thesis.txt").read_text() == "mine"
