"""End to end: the real CLI (subprocess) with the real SDK against the fake Messages API on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.fakeapi import FakeAPIServer, FakeConfig
from tests.simkit import dvsmith

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "a_class_per_file"


def run_json(*args: str, env: dict[str, str] | None = None, expect: int = 0) -> Any:
    proc = dvsmith(*args, "--json", env=env)
    assert proc.returncode == expect, proc.stderr
    return orjson.loads(proc.stdout)  # stdout holds one JSON document and nothing else


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "repo"
    shutil.copytree(FIXTURE, dest)
    return dest


def test_ingest_json_and_warm_cache(repo: Path) -> None:
    cold = run_json("ingest", str(repo))
    assert cold["name"] == "repo"
    assert cold["stats"]["files_parsed"] == cold["stats"]["files_total"] > 0
    assert {t["name"] for t in cold["tests"]} >= {"base_test", "random_test"}
    warm = run_json("ingest", str(repo))
    assert warm["stats"]["files_parsed"] == 0
    assert warm["stats"]["cache_hits"] == warm["stats"]["files_total"]
    test_file = repo / "tb" / "test" / "random_test.svh"
    test_file.write_text(test_file.read_text() + "\n// edited\n")
    one = run_json("ingest", str(repo))
    assert one["stats"]["files_parsed"] == 1
    fresh = run_json("ingest", str(repo), "--no-cache")
    assert fresh["stats"]["files_parsed"] == fresh["stats"]["files_total"]


def test_build_offline_writes_a_complete_gym(repo: Path, tmp_path: Path) -> None:
    run_json("ingest", str(repo))
    out = tmp_path / "out"
    report = run_json("build", "--provider", "offline", "--out", str(out))
    assert report["ok"] is True
    ids = sorted(t["id"] for t in report["tasks"])
    assert ids == ["random_test", "reset_read_test", "status_test", "write_read_test"]
    assert set(report["phases"]) >= {"load", "plan", "metadata", "clean", "write", "validate", "report"}
    assert report["ai"]["calls"] == 0
    for tid in ids:
        task = orjson.loads((out / "tasks" / tid / "task.json").read_bytes())
        assert task["metadata_source"] == "offline"
        assert task["test_select"] == f"+UVM_TESTNAME={task['test_name']}"
        assert (out / "tasks" / tid / "README.md").is_file()
        for rel in task["oracle_files"]:
            oracle = out / "oracle" / tid / rel
            assert oracle.is_file()
            assert oracle.read_bytes() == (repo / rel).read_bytes()  # byte for byte
            assert not (out / "gym" / rel).exists()
        # the test's class name appears nowhere in the gym
        for path in (out / "gym").rglob("*"):
            if path.is_file():
                assert task["test_name"].encode() not in path.read_bytes(), path
    assert not list(tmp_path.glob(".out.tmp-*")), "the temp build folder was left behind"
    # the source repo was not modified
    assert (repo / "tb" / "test" / "random_test.svh").is_file()


def test_build_unit_keeps_only_that_units_tasks(tmp_path: Path) -> None:
    repo = tmp_path / "two"
    shutil.copytree(FIXTURE.parent / "d_two_benches", repo)
    run_json("ingest", str(repo))
    report = run_json("build", "--provider", "offline", "--out", str(tmp_path / "out"), "--unit", "bench2")
    assert {t["test_name"] for t in report["tasks"]} == {"smoke_test", "walk_test"}
    for t in report["tasks"]:
        task = orjson.loads((tmp_path / "out" / "tasks" / t["id"] / "task.json").read_bytes())
        assert task["compile_unit"] == "bench2"
    assert (tmp_path / "out" / "gym" / "bench1").is_dir()  # the other unit stays in the gym as code
    proc = dvsmith("build", "--provider", "offline", "--out", str(tmp_path / "o2"), "--unit", "nope[x]")
    assert proc.returncode == 2 and "no compile unit named nope[x]" in proc.stderr
    assert "bench1, bench2" in proc.stderr and "Traceback" not in proc.stderr


def test_build_with_fake_api_counts_calls_and_caches(repo: Path, tmp_path: Path, fake_api: FakeAPIServer) -> None:
    run_json("ingest", str(repo))
    out = tmp_path / "out"
    first = run_json("build", "--provider", "anthropic", "--out", str(out))
    n = len(first["tasks"])
    assert first["ai"]["calls"] == n == fake_api.request_count
    assert all(t["metadata_source"] == "anthropic" for t in first["tasks"])
    # prompt caching: the shared prefix is marked, the first call warms it
    system = fake_api.requests[0].body["system"]
    assert system[-1]["cache_control"]["type"] == "ephemeral"

    again = run_json("build", "--provider", "anthropic", "--out", str(out))
    assert again["ai"]["calls"] == 0
    assert again["ai"]["cache_hits"] == n
    assert fake_api.request_count == n

    test_file = repo / "tb" / "test" / "status_test.svh"
    test_file.write_text(test_file.read_text().replace("endclass", "  // a comment that changes the prompt\nendclass"))
    third = run_json("build", "--provider", "anthropic", "--out", str(out))
    assert third["ai"]["calls"] == 1
    assert fake_api.request_count == n + 1
    assert third["profile_refreshed"] == ["tb/test/status_test.svh"]

    # the API key never lands in the output, the logs or the caches
    key = fake_api.api_key.encode()
    home = Path(os.environ["DVSMITH_HOME"])
    for root in (out, home):
        for path in root.rglob("*"):
            if path.is_file():
                assert key not in path.read_bytes(), path
    logs = run_json("ai-logs")
    assert logs["summary"]["calls"] >= n + 1


def test_build_survives_a_flaky_api(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = FakeConfig(
        rates={"429": 0.30, "529": 0.10, "timeout": 0.05, "malformed": 0.05},
        seed=7,
        retry_after="1",
        timeout_sleep=2.0,
    )
    with FakeAPIServer(config) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-flaky")
        env = {
            "DVSMITH_AI_TIMEOUT_S": "1.0",
            "DVSMITH_AI_BACKOFF_BASE_S": "0.01",
            "DVSMITH_AI_BACKOFF_CAP_S": "0.05",
            "DVSMITH_AI_RETRY_AFTER_CAP_S": "0.05",
            "DVSMITH_AI_MAX_ATTEMPTS": "8",
        }
        run_json("ingest", str(repo))
        report = run_json("build", "--provider", "anthropic", "--out", str(tmp_path / "out"), env=env)
        behaviours = server.behaviours()
    assert report["ok"] is True
    assert len(report["tasks"]) == 4
    for t in report["tasks"]:
        task = orjson.loads((tmp_path / "out" / "tasks" / t["id"] / "task.json").read_bytes())
        assert task["title"] and 3 <= len(task["hints"]) <= 5
    ai = report["ai"]
    faults = sum(1 for b in behaviours if b != "ok")
    assert faults > 0
    assert ai["attempts"] == len(behaviours)  # every request the server saw is counted
    assert ai["failed_attempts"] == faults  # every injected fault was seen as one
    assert ai["retries"] == ai["attempts"] - ai["calls"] > 0


def test_profiles_and_cache_commands(repo: Path) -> None:
    run_json("ingest", str(repo), "--name", "mine")
    listed = run_json("profiles", "list")
    assert [p["name"] for p in listed] == ["mine"]
    shown = run_json("profiles", "show", "mine")
    assert shown["name"] == "mine"
    info = run_json("cache", "info")
    assert info["caches"]["parse"]["files"] > 0
    assert dvsmith("profiles", "rm", "mine").returncode == 0
    assert run_json("profiles", "list") == []
    cleared = run_json("cache", "clear")
    assert cleared["parse"] > 0
    assert run_json("cache", "info")["caches"]["parse"]["files"] == 0


def test_corrupt_profile_warns_and_rebuilds(repo: Path) -> None:
    run_json("ingest", str(repo))
    home = Path(os.environ["DVSMITH_HOME"])
    profiles = [p for p in home.rglob("*.json") if "profiles" in p.parts and not p.name.startswith(".")]
    assert profiles
    for p in profiles:
        p.write_bytes(b"{not json")
    proc = dvsmith("profiles", "show", "repo", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "warning" in proc.stderr.lower()
    assert orjson.loads(proc.stdout)["name"] == "repo"


def test_validate_an_existing_gym_and_notice_tampering(repo: Path, tmp_path: Path) -> None:
    run_json("ingest", str(repo))
    out = tmp_path / "out"
    run_json("build", "--provider", "offline", "--out", str(out))
    ok = run_json("validate", str(out))
    assert ok["ok"] is True and all(t["static_ok"] for t in ok["tasks"])
    # plant a removed test back into the gym: validation must fail and say why
    leaked = out / "gym" / "tb" / "test" / "status_test.svh"
    leaked.write_bytes((out / "oracle" / "status_test" / "tb" / "test" / "status_test.svh").read_bytes())
    bad = run_json("validate", str(out), expect=1)
    assert bad["ok"] is False
    problems = " ".join(bad["static_problems"] + [p for t in bad["tasks"] for p in t["static_problems"]])
    assert "status_test" in problems
    # eval refuses a gym that changed since the build, before doing any work
    proc = dvsmith("eval", str(out), "status_test", str(leaked))
    assert proc.returncode == 2 and "changed since it was built" in proc.stderr
