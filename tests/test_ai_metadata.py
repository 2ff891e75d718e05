"""End-to-end tests of the metadata phase: the real SDK against the fake Messages API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from dvsmith.ai.calllog import read_ai_logs, summarize_logs
from dvsmith.ai.metadata import AISettings, MetadataRequest, default_provider, generate_metadata
from dvsmith.ai.schema import TaskMetadata
from dvsmith.events import Event
from dvsmith.paths import ai_cache_dir, ai_log_file, log_dir
from tests.fakeapi import FakeAPIServer, make_synthetic_repo, serve_fake_api, synthetic_requests

FAST = AISettings(timeout_s=5.0, backoff_base_s=0.01, backoff_cap_s=0.05, retry_after_cap_s=0.05, seed=7)


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVSMITH_HOME", str(tmp_path / "home"))


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAPIServer]:
    yield from serve_fake_api(monkeypatch)


def _repo(tmp_path: Path, n: int):
    profile = make_synthetic_repo(tmp_path / "repo", n)
    return profile, synthetic_requests(profile)


async def test_one_call_per_task_bounded_continuous_and_warmed(tmp_path: Path, api: FakeAPIServer):
    profile, requests = _repo(tmp_path, 12)
    api.config.latency = lambda i: 0.05 + 0.04 * (i % 4)
    events: list[Event] = []
    results, stats = await generate_metadata(
        profile, tmp_path / "repo", requests, concurrency=4, settings=FAST, reporter=events.append
    )
    assert api.request_count == 12
    assert stats.calls == 12 and stats.attempts == 12 and stats.retries == 0
    assert 1 < api.max_in_flight <= 4
    assert {r.source for r in results.values()} == {"anthropic"}
    assert list(results) == [r.task_id for r in requests]
    # every answer is the one written for its own test
    for req in requests:
        assert req.test_name.split("_")[0] in results[req.task_id].metadata.title

    # warm-up: the first request ended before any other started; it alone wrote the prefix cache
    first, rest = api.requests[0], api.requests[1:]
    assert all(first.ended <= r.started for r in rest)
    assert stats.cache_write_tokens > 0
    assert stats.cache_read_tokens == stats.cache_write_tokens * 11
    for rec in api.requests:
        system = rec.body["system"]
        assert "cache_control" not in system[0] and system[1]["cache_control"] == {"type": "ephemeral"}
        assert rec.body["output_config"]["format"]["type"] == "json_schema"
        assert rec.body["model"] == "claude-haiku-5-5"
    assert len({orjson.dumps(r.body["system"]) for r in api.requests}) == 1

    kinds = [e.kind for e in events]
    assert kinds[0] == "task_start" and events[0].total == 12 and events[0].phase == "metadata"
    advances = [e for e in events if e.kind == "task_advance"]
    assert len(advances) == 12 and {e.data["source"] for e in advances} == {"anthropic"}

    logs = read_ai_logs()
    assert len(logs) == 12 and {e["outcome"] for e in logs} == {"ok"}
    summary = summarize_logs(logs)
    assert summary["calls"] == 12 and summary["failures"] == 0
    assert summary["cache_write_tokens"] == stats.cache_write_tokens
    assert summary["estimated_cost_usd"] > 0
    assert "prompt" not in logs[0] and "answer" not in logs[0]


async def test_rerun_is_served_from_cache_and_a_change_costs_one_call(tmp_path: Path, api: FakeAPIServer):
    profile, requests = _repo(tmp_path, 5)
    first, _ = await generate_metadata(profile, tmp_path / "repo", requests, settings=FAST)
    assert api.request_count == 5

    again, stats = await generate_metadata(profile, tmp_path / "repo", requests, settings=FAST)
    assert api.request_count == 5
    assert stats.calls == 0 and stats.cache_hits == 5
    assert {r.source for r in again.values()} == {"cache"}
    assert {k: r.metadata for k, r in again.items()} == {k: r.metadata for k, r in first.items()}

    changed = tmp_path / "repo" / requests[2].test_file
    changed.write_text(changed.read_text().replace("raise_objection", "raise_objection "))
    _, stats = await generate_metadata(profile, tmp_path / "repo", requests, settings=FAST)
    assert api.request_count == 6 and stats.calls == 1 and stats.cache_hits == 4

    _, stats = await generate_metadata(profile, tmp_path / "repo", requests, settings=FAST, use_cache=False)
    assert api.request_count == 11 and stats.calls == 5 and stats.cache_hits == 0

    _, stats = await generate_metadata(profile, tmp_path / "repo", requests, settings=FAST, model="claude-sonnet-5-5")
    assert api.request_count == 16 and stats.calls == 5


async def test_corrupt_cache_file_is_a_miss_and_rewritten(tmp_path: Path, api: FakeAPIServer):
    profile, requests = _repo(tmp_path, 3)
    await generate_metadata(profile, tmp_path / "repo", requests, settings=FAST)
    files = sorted(ai_cache_dir().rglob("*.json"))
    assert len(files) == 3
    files[0].write_bytes(b"{ not json")
    files[1].write_bytes(orjson.dumps({"key": files[1].stem, "answer": {"title": "x"}}))
    _, stats = await generate_metadata(profile, tmp_path / "repo", requests, settings=FAST)
    assert stats.calls == 2 and stats.cache_hits == 1 and api.request_count == 5
    for f in files:
        assert orjson.loads(f.read_bytes())["key"] == f.stem
    _, stats = await generate_metadata(profile, tmp_path / "repo", requests, settings=FAST)
    assert stats.calls == 0 and stats.cache_hits == 3


async def test_injected_faults_every_task_gets_metadata(tmp_path: Path, api: FakeAPIServer):
    profile, requests = _repo(tmp_path, 20)
    api.config.rates = {"429": 0.30, "529": 0.10, "timeout": 0.05, "malformed": 0.05}
    api.config.seed = 3
    api.config.latency = 0.01
    api.config.timeout_sleep = 2.5  # past the client's 1 s attempt timeout
    settings = FAST.model_copy(update={"timeout_s": 1.0})
    events: list[Event] = []
    results, stats = await generate_metadata(
        profile, tmp_path / "repo", requests, settings=settings, reporter=events.append
    )
    behaviours = api.behaviours()
    assert {"429", "529", "timeout", "malformed"} <= set(behaviours)
    assert len(results) == 20
    for r in results.values():
        TaskMetadata.model_validate(r.metadata.model_dump())
        assert r.source in ("anthropic", "offline")
        assert r.fell_back == (r.source == "offline")
    errors = [err for e in read_ai_logs() for err in e["attempt_errors"]]
    assert stats.attempts == api.request_count, (behaviours, errors)
    assert stats.retries == api.request_count - 20 > 0
    assert stats.failed_attempts == sum(1 for b in behaviours if b != "ok")
    assert stats.fallbacks == sum(1 for r in results.values() if r.fell_back)
    assert sum(r.retries for r in results.values()) == stats.retries
    assert sum(1 for e in events if e.kind == "info" and e.data.get("retry") == 1) == stats.retries
    logs = read_ai_logs()
    assert len(logs) == 20
    assert {e["outcome"] for e in logs} <= {"ok", "retried_ok", "fallback"}
    assert "retried_ok" in {e["outcome"] for e in logs}
    assert sum(e["retries"] for e in logs) == stats.retries


async def test_refusal_twice_falls_back_to_offline(tmp_path: Path, api: FakeAPIServer):
    profile, requests = _repo(tmp_path, 1)
    api.config.script = {0: "refusal", 1: "refusal"}
    results, stats = await generate_metadata(profile, tmp_path / "repo", requests, settings=FAST)
    result = results[requests[0].task_id]
    assert api.request_count == 2
    assert result.source == "offline" and result.fell_back and "refusal" in (result.error or "")
    assert stats.fallbacks == 1 and stats.failures == 1 and stats.retries == 1
    assert read_ai_logs()[-1]["outcome"] == "fallback"
    assert not list(ai_cache_dir().rglob("*.json"))  # a fallback is not cached
    _, stats = await generate_metadata(profile, tmp_path / "repo", requests, settings=FAST)
    assert stats.calls == 1 and api.request_count == 3


@pytest.mark.parametrize("first", ["refusal", "malformed", "invalid", "truncated"])
async def test_one_bad_answer_is_asked_again(tmp_path: Path, api: FakeAPIServer, first: str):
    profile, requests = _repo(tmp_path, 1)
    api.config.script = {0: first}
    results, _ = await generate_metadata(profile, tmp_path / "repo", requests, settings=FAST)
    result = results[requests[0].task_id]
    assert api.request_count == 2
    assert result.source == "anthropic" and result.retries == 1 and not result.fell_back
    assert read_ai_logs()[-1]["outcome"] == "retried_ok"


async def test_retries_exhausted_falls_back(tmp_path: Path, api: FakeAPIServer):
    profile, requests = _repo(tmp_path, 2)
    api.config.rates = {"529": 1.0}
    settings = FAST.model_copy(update={"max_attempts": 3})
    results, stats = await generate_metadata(profile, tmp_path / "repo", requests, settings=settings)
    assert api.request_count == 6
    assert all(r.fell_back and "529" in (r.error or "") for r in results.values())
    assert stats.calls == 2 and stats.failures == 2 and stats.fallbacks == 2 and stats.retries == 4


async def test_retry_after_is_honoured_but_capped(tmp_path: Path, api: FakeAPIServer):
    profile, requests = _repo(tmp_path, 1)
    api.config.script = {0: "429", 1: "429"}
    api.config.retry_after = "3600"
    settings = FAST.model_copy(update={"retry_after_cap_s": 0.01})
    results, stats = await generate_metadata(profile, tmp_path / "repo", requests, settings=settings)
    assert api.request_count == 3
    assert results[requests[0].task_id].source == "anthropic" and stats.retries == 2
    assert [r.headers["x-stainless-retry-count"] for r in api.requests] == ["0", "0", "0"]


async def test_unknown_names_are_filtered(tmp_path: Path, api: FakeAPIServer):
    profile, requests = _repo(tmp_path, 2)
    api.config.extra_names = ["ghost_seq", "ghost_cg"]
    api.config.hints = 1
    results, _ = await generate_metadata(profile, tmp_path / "repo", requests, settings=FAST)
    known_seqs = {s.name for s in profile.sequences}
    for r in results.values():
        assert r.metadata.sequences and set(r.metadata.sequences) <= known_seqs
        assert set(r.metadata.covergroups) == {"cg_addr", "cg_len"}
        assert len(r.metadata.hints) == 3 and r.metadata.hints[0].startswith("Hint 1")


async def test_api_key_never_leaves_the_auth_header(tmp_path: Path, api: FakeAPIServer):
    profile, requests = _repo(tmp_path, 4)
    api.config.script = {1: "429", 2: "refusal", 3: "500", 4: "invalid"}
    results, _ = await generate_metadata(profile, tmp_path / "repo", requests, settings=FAST, log_bodies=True)
    key = api.api_key
    assert key.startswith("sk-test-")
    for rec in api.requests:
        assert rec.headers["authorization"] == f"Bearer {key}"
        assert key.encode() not in rec.raw
        assert all(key not in v for k, v in rec.headers.items() if k != "authorization")
    written = [p for d in (log_dir(), ai_cache_dir()) for p in d.rglob("*") if p.is_file()]
    assert ai_log_file() in written and len(written) > 1
    for path in written:
        assert key.encode() not in path.read_bytes()
    logs = read_ai_logs()
    assert all("prompt" in e and "answer" in e for e in logs)
    for r in results.values():
        assert key not in r.model_dump_json()


async def test_offline_provider_is_the_default_without_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # nothing listens: any call would fail
    assert default_provider() == "offline"
    profile, requests = _repo(tmp_path, 4)
    first, stats = await generate_metadata(profile, tmp_path / "repo", requests)
    again, _ = await generate_metadata(profile, tmp_path / "repo", requests)
    assert first == again
    assert {r.source for r in first.values()} == {"offline"} and not any(r.fell_back for r in first.values())
    assert stats.provider == "offline" and stats.calls == 0 and stats.offline == 4
    assert read_ai_logs() == [] and not list(ai_cache_dir().rglob("*.json"))
    meta = first[requests[3].task_id].metadata
    assert meta.title == "T003 reset test"
    assert meta.sequences == ["t003_reset_test_seq", "common_seq"]
    assert 3 <= len(meta.hints) <= 5


async def test_explicit_offline_provider_makes_no_call(tmp_path: Path, api: FakeAPIServer):
    profile, requests = _repo(tmp_path, 3)
    results, stats = await generate_metadata(profile, tmp_path / "repo", requests, provider="offline")
    assert api.request_count == 0 and stats.calls == 0
    assert {r.source for r in results.values()} == {"offline"}


async def test_unknown_test_still_gets_metadata(tmp_path: Path, api: FakeAPIServer):
    profile, _ = _repo(tmp_path, 1)
    req = MetadataRequest(task_id="ghost", test_name="ghost_test", test_file="tests/none.sv")
    results, _ = await generate_metadata(profile, tmp_path / "repo", [req], settings=FAST)
    assert results["ghost"].source == "anthropic" and api.request_count == 1
