"""`dvsmith doctor REPO`: the two compiles a build makes, without AI, and one line per cause of a failure."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from tests.conftest import session_compiles
from tests.simkit import cli

pytestmark = pytest.mark.sim

REPO = Path(__file__).parent / "data" / "sim" / "missing_include"


def test_doctor_repo_names_the_missing_include_and_its_folder(sim_env: dict[str, str], tmp_path: Path) -> None:
    repo = tmp_path / "missing_include"
    shutil.copytree(REPO, repo)
    before = len(session_compiles())
    proc = cli(sim_env, "doctor", str(repo), "--json")
    assert proc.returncode == 1, proc.stderr
    doc = orjson.loads(proc.stdout)
    assert not doc["ok"] and doc["tests"] == 2
    by_tree = {c["tree"]: c for c in doc["compiles"]}
    assert set(by_tree) == {"original", "gym"}
    for c in by_tree.values():
        assert not c["ok"]
        assert any("missing include: cfg/env_cfg.svh" in cause and "+incdir+lib" in cause for cause in c["causes"])
        assert c["command"] and "--binary" in c["command"]
    assert doc["tasks_valid"] == 0 and "does not compile" in doc["invalid"]["idle_test"]
    assert len(session_compiles()) - before == 2  # the original and the gym, both stopped in the front end

    shown = cli(sim_env, "doctor", str(repo))  # the table and the one-line causes
    assert shown.returncode == 1
    assert "missing include" in shown.stdout and "idle_test" in shown.stderr
    assert "Traceback" not in shown.stderr
