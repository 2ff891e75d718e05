"""The warm-ingest shortcut (dvsmith.cli.warm): a repeated `dvsmith ingest REPO` with nothing changed is
answered before the CLI loads, with the same output and the same effect on the profile store as the
normal command; anything changed and the normal command runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.simkit import dvsmith

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# runs `dvsmith ingest ARGS` in this process's interpreter and says whether the shortcut answered it and
# which heavy modules got imported
_PROBE = """
import sys, json
from dvsmith.cli import warm
code = warm.replay(sys.argv[1:])
print(json.dumps({"code": code, "heavy": sorted(m for m in ("typer", "rich", "pydantic", "pyslang", "anthropic",
                  "dvsmith.analysis.profile", "dvsmith.cli.main") if m in sys.modules)}), file=sys.stderr)
"""


def _probe(env: dict[str, str], *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True,
                          env={**os.environ, **env}, check=True)  # fmt: skip
    return json.loads(proc.stderr.strip().splitlines()[-1])


def _norm(doc: dict) -> dict:
    doc = dict(doc)
    doc["created_at"] = None
    doc["stats"] = {**doc["stats"], "seconds": None}
    return doc


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dst = tmp_path / "repo"
    shutil.copytree(FIXTURES / "a_class_per_file", dst)
    return dst


def test_warm_ingest_is_answered_without_the_cli_and_says_the_same(repo: Path, tmp_path: Path) -> None:
    env = {"DVSMITH_HOME": str(tmp_path / "home")}
    cold = dvsmith("ingest", str(repo), "--json", env=env)
    assert cold.returncode == 0, cold.stderr
    assert _probe(env, "ingest", str(repo), "--json")["code"] is None  # a cold ingest records no stamp
    warm = dvsmith("ingest", str(repo), "--json", env=env)  # the normal warm ingest: records the stamp
    first = json.loads(warm.stdout)
    assert first["stats"]["files_parsed"] == 0
    seen = _probe(env, "ingest", str(repo), "--json")
    assert seen == {"code": 0, "heavy": []}, seen  # answered: no typer, rich, pydantic, pyslang, SDK
    fast = dvsmith("ingest", str(repo), "--json", env=env)
    assert fast.returncode == 0 and fast.stderr == ""
    again = json.loads(fast.stdout)
    assert _norm(again) == _norm(first) and list(again) == list(first)  # same document, same key order
    stored = json.loads((tmp_path / "home" / "data" / "profiles" / "repo.json").read_text())
    assert stored["created_at"] == again["created_at"]  # re-saved, as the normal command does
    assert stored["created_at"] >= first["created_at"]


def test_table_output_is_the_same_and_any_change_runs_the_normal_command(repo: Path, tmp_path: Path) -> None:
    env = {"DVSMITH_HOME": str(tmp_path / "home")}
    for _ in range(2):
        normal = dvsmith("ingest", str(repo), env=env)
        assert normal.returncode == 0, normal.stderr
    assert _probe(env, "ingest", str(repo))["code"] == 0
    fast = dvsmith("ingest", str(repo), env=env)

    def strip(text: str) -> list[str]:  # the timing differs, nothing else
        return [line.split(", 0.")[0] if line.startswith("files ") else line for line in text.splitlines()]

    assert strip(fast.stderr) == strip(normal.stderr) and "parsed 0" in fast.stderr
    # other options: the normal command
    for args in (["--no-cache"], ["--name", "other"], ["--sim-config", "x.toml"], ["--help"]):
        assert _probe(env, "ingest", str(repo), *args)["code"] is None, args
    # a changed file, a new file, a removed file: the normal command (which parses what changed)
    test_file = next(repo.rglob("status_test.svh"))
    test_file.write_text(test_file.read_text() + "\n// changed\n")
    assert _probe(env, "ingest", str(repo))["code"] is None
    proc = dvsmith("ingest", str(repo), "--json", env=env)
    assert json.loads(proc.stdout)["stats"]["files_parsed"] == 1
    (repo / "notes.txt").write_text("new file\n")
    assert _probe(env, "ingest", str(repo))["code"] is None


def test_the_index_says_the_last_ingest_even_when_answered_by_the_shortcut(tmp_path: Path) -> None:
    env = {"DVSMITH_HOME": str(tmp_path / "home")}
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(FIXTURES / "a_class_per_file", a)
    shutil.copytree(FIXTURES / "b_single_file", b)
    for r in (a, a, b):
        assert dvsmith("ingest", str(r), env=env).returncode == 0
    assert _probe(env, "ingest", str(a))["code"] == 0  # answered, and recorded as the most recent ingest
    index = json.loads((tmp_path / "home" / "data" / "profiles" / ".index.json").read_text())
    assert index["last"] == "a" and set(index["profiles"]) == {"a", "b"}
    # another repo saved under the same profile name: the stored profile changed, no shortcut
    assert dvsmith("ingest", str(b), "--name", "a", env=env).returncode == 0
    assert _probe(env, "ingest", str(a))["code"] is None


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_a_new_commit_or_a_modified_tracked_file_is_seen(repo: Path, tmp_path: Path) -> None:
    env = {"DVSMITH_HOME": str(tmp_path / "home")}
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    for _ in range(2):
        assert dvsmith("ingest", str(repo), env=env).returncode == 0
    assert _probe(env, "ingest", str(repo))["code"] == 0
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "two"], check=True)  # no file changed
    assert _probe(env, "ingest", str(repo))["code"] is None
    proc = dvsmith("ingest", str(repo), "--json", env=env)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert json.loads(proc.stdout)["git"]["commit"] == head


def test_a_stamp_naming_another_file_is_not_followed(repo: Path, tmp_path: Path) -> None:
    """The stamp is our own cache file, but what it names is still checked: the shortcut only ever writes
    the profile's own file in the store."""
    env = {"DVSMITH_HOME": str(tmp_path / "home")}
    for _ in range(2):
        assert dvsmith("ingest", str(repo), "--json", env=env).returncode == 0
    (stamp,) = (tmp_path / "home" / "cache" / "warm").glob("ingest-*.json")
    victim = tmp_path / "victim.json"
    victim.write_bytes((tmp_path / "home" / "data" / "profiles" / "repo.json").read_bytes())
    doc = json.loads(stamp.read_text())
    st = victim.stat()
    doc["profile_path"], doc["profile_stat"] = str(victim), [st.st_size, st.st_mtime_ns]
    stamp.write_text(json.dumps(doc))
    before = victim.read_bytes()
    assert _probe(env, "ingest", str(repo), "--json")["code"] is None
    assert victim.read_bytes() == before
