"""Unit tests of the AI layer: post-processing, offline metadata, prompts, cache, call log, retries."""

from __future__ import annotations

import random
from pathlib import Path

import anthropic
import httpx2
import orjson
import pytest

from dvsmith.ai.cache import ResponseCache, cache_key
from dvsmith.ai.calllog import (
    append_log_entry,
    estimate_cost,
    read_ai_logs,
    redact,
    summarize_logs,
)
from dvsmith.ai.context import MetadataRequest, SourceReader, build_context, lex_features
from dvsmith.ai.metadata import AISettings, generate_metadata
from dvsmith.ai.offline import difficulty_of, offline_metadata, title_from_name
from dvsmith.ai.postprocess import InvalidAnswer, finalize, parse_answer
from dvsmith.ai.prompts import INSTRUCTIONS, build_prompt, repo_summary, task_message
from dvsmith.ai.providers import backoff_delay, retry_after_seconds
from dvsmith.analysis.profile import Profile
from dvsmith.paths import ai_log_file
from tests.fakeapi import make_synthetic_repo, synthetic_requests

FAST = AISettings(timeout_s=1.0, backoff_base_s=0.001, backoff_cap_s=0.002, retry_after_cap_s=0.002, seed=1)


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVSMITH_HOME", str(tmp_path / "home"))


@pytest.fixture
def synth(tmp_path: Path) -> tuple[Profile, list[MetadataRequest], Path]:
    profile = make_synthetic_repo(tmp_path / "repo", 4)
    return profile, synthetic_requests(profile), tmp_path / "repo"


# --- post-processing --------------------------------------------------------------------------


def _answer(**over: object) -> str:
    base: dict[str, object] = {
        "title": "Burst writes on the bus",
        "difficulty": "medium",
        "difficulty_reason": "two sequences",
        "description": "One. Two. Three.",
        "goal": "Pass.",
        "hints": ["a", "b", "c"],
        "covergroups": ["cg_addr"],
        "sequences": ["common_seq"],
    }
    base.update(over)
    return orjson.dumps(base).decode()


def test_finalize_trims_to_the_limits(synth):
    profile, requests, repo = synth
    ctx = build_context(profile, SourceReader(repo), requests[1])
    fallback = offline_metadata(ctx)
    raw = parse_answer(
        _answer(
            title="one two three four five six seven eight",
            description="S1 is here. S2! S3? S4. S5. S6.",
            goal="G1. G2. G3.",
            difficulty_reason="line one\nline two",
            hints=["h1", "h1", "h2", "h3", "h4", "h5", "h6", "h7"],
            covergroups=["cg_len", "nope_cg", "cg_len"],
            sequences=["ghost", "t001_write_test_seq"],
            extra_field="ignored",
        )
    )
    meta = finalize(raw, fallback, profile)
    assert meta.title == "one two three four five six"
    assert meta.description == "S1 is here. S2! S3? S4."
    assert meta.goal == "G1. G2."
    assert meta.difficulty_reason == "line one line two"
    assert meta.hints == ["h1", "h2", "h3", "h4", "h5"]
    assert meta.covergroups == ["cg_len"] and meta.sequences == ["t001_write_test_seq"]


def test_finalize_pads_hints_and_caps_length(synth):
    profile, requests, repo = synth
    fallback = offline_metadata(build_context(profile, SourceReader(repo), requests[0]))
    raw = parse_answer(_answer(title="Solo", hints=["only one " + "x" * 1000], sequences=["ghost"]))
    meta = finalize(raw, fallback, profile)
    assert meta.title == fallback.title  # one word is not a title
    assert len(meta.hints) == 3 and meta.hints[1:] == fallback.hints[:2]
    assert len(meta.hints[0]) <= 300 and meta.hints[0].endswith("…")
    assert meta.sequences == fallback.sequences  # nothing known survived: the facts stay


@pytest.mark.parametrize(
    "text",
    ['{"title": ', "[1, 2]", _answer(difficulty="impossible"), '{"title": "x y"}', _answer(hints="abc")],
)
def test_parse_answer_rejects_unusable_answers(text: str):
    with pytest.raises(InvalidAnswer):
        parse_answer(text)


# --- offline metadata --------------------------------------------------------------------------


def test_title_from_name():
    assert title_from_name("apb_burst_write_test") == "Apb burst write test"
    assert title_from_name("AxiReadBurstTest") == "Axi Read Burst test"
    assert len(title_from_name("a_b_c_d_e_f_g_h_i_test").split()) == 6


def test_lex_features_ignores_comments_and_strings():
    text = (
        "class s extends uvm_sequence; // constraint in a comment\n"
        "  constraint c { x < 3; }\n"
        '  task body(); string t = "with {";\n'
        "    `uvm_do_with(req, { x == 1; })\n"
        "    void'(req.randomize() with { y > 2; });\n"
        "    q = arr.find(i) with (i > 2);\n"
        "  endtask\nendclass\n"
    )
    assert lex_features(text) == (3, 8)
    assert lex_features("   \n") == (0, 0)


def test_offline_difficulty_grows_with_features(synth):
    profile, requests, repo = synth
    reader = SourceReader(repo)
    ctxs = [build_context(profile, reader, r) for r in requests]
    features = [c.features for c in ctxs]
    assert features[0].sequences_started == 1 and features[1].sequences_started == 2
    assert features[2].constraint_blocks == 2 + 3  # two constraints, three `uvm_do_with
    assert [difficulty_of(c)[0] for c in ctxs] == ["easy", "medium", "medium", "medium"]
    meta = offline_metadata(ctxs[1])
    assert meta == offline_metadata(build_context(profile, SourceReader(repo), requests[1]))
    assert "`t001_write_test_seq` and `common_seq`" in meta.description
    assert 2 <= len(meta.description.split(". ")) <= 4
    assert 3 <= len(meta.hints) <= 5 and meta.covergroups == ["cg_addr", "cg_len"]


# --- prompts ------------------------------------------------------------------------------------


def test_prompt_has_a_shared_cached_prefix(synth):
    profile, requests, repo = synth
    summary = repo_summary(profile, 8000)
    reader = SourceReader(repo)
    prompts = [build_prompt(summary, build_context(profile, reader, r), 6000) for r in requests]
    assert all(p["system"] == prompts[0]["system"] for p in prompts)
    assert prompts[0]["system"][0] == {"type": "text", "text": INSTRUCTIONS}
    assert prompts[0]["system"][1]["cache_control"] == {"type": "ephemeral"}
    for name in ("bus_env", "common_seq", "cg_addr", "cp_len", "t003_reset_test", "base_test"):
        assert name in summary
    user = prompts[1]["messages"][0]["content"]
    assert "class t001_write_test extends base_test;" in user
    assert "class t001_write_test_seq" in user and "class common_seq" in user
    assert "virtual class base_test" in user
    assert "class t002_burst_test " not in user


def test_task_message_truncates_least_important_first(synth, tmp_path: Path):
    profile, requests, repo = synth
    base_file = repo / "tb/base_test.sv"
    text = base_file.read_text()
    padding = "  // " + "filler " * 2000 + "\n"
    base_file.write_text(text.replace("  bus_env env;\n", "  bus_env env;\n" + padding))
    for t in profile.tests + profile.classes:  # keep the spans right after growing the file
        if t.name == "base_test" and t.span is not None:
            t.span.end += len(padding)
    ctx = build_context(profile, SourceReader(repo), requests[1])
    message = task_message(ctx, token_budget=800)
    assert len(message) <= 800 * 4
    assert "class t001_write_test extends base_test;" in message and "endclass" in message
    assert "class common_seq" in message
    assert "truncated" in message.split("--- Base class base_test")[1]
    assert "truncated" not in message.split("--- Base class base_test")[0]


def test_summary_is_capped():
    profile = Profile(name="big", repo_root="/x", created_at="now", fingerprint="f")
    from dvsmith.analysis.profile import SequenceInfo

    profile.sequences = [SequenceInfo(name=f"seq_{i}", file="s.sv", line=i + 1) for i in range(2000)]
    summary = repo_summary(profile, 500)
    assert len(summary) <= 500 * 4 + 40 and summary.endswith("(summary truncated)")


def test_sources_outside_the_repo_are_not_read(synth, tmp_path: Path):
    profile, _, repo = synth
    secret = tmp_path / "outside.sv"
    secret.write_text("class leaked_secret; endclass\n")
    profile.tests[1].file = "../outside.sv"
    profile.tests[1].span = None
    req = MetadataRequest(task_id="x", test_name=profile.tests[1].name, test_file="../outside.sv")
    ctx = build_context(profile, SourceReader(repo), req)
    assert ctx.test_part is not None and ctx.test_part.text == ""
    assert "leaked_secret" not in task_message(ctx, 6000)


# --- cache ------------------------------------------------------------------------------------


def test_cache_key_covers_every_input():
    prompt = {"system": [{"type": "text", "text": "a"}], "messages": [{"role": "user", "content": "b"}]}
    schema = {"type": "object"}
    key = cache_key("anthropic", "m", prompt, schema)
    assert key == cache_key("anthropic", "m", orjson.loads(orjson.dumps(prompt)), dict(schema))
    other_prompt = {**prompt, "system": [{"type": "text", "text": "a2"}]}
    assert (
        len(
            {
                key,
                cache_key("offline", "m", prompt, schema),
                cache_key("anthropic", "m2", prompt, schema),
                cache_key("anthropic", "m", other_prompt, schema),
                cache_key("anthropic", "m", prompt, {"type": "object", "x": 1}),
            }
        )
        == 5
    )


def test_cache_roundtrip_and_corruption(tmp_path: Path):
    cache = ResponseCache(tmp_path / "c")
    key = "ab" + "0" * 62
    assert cache.get(key) is None
    cache.put(key, {"title": "t"})
    assert cache.get(key) == {"title": "t"}
    cache.path_for(key).write_bytes(b"\x00garbage")
    assert cache.get(key) is None
    with pytest.raises(ValueError):
        cache.path_for("../../etc/passwd")


# --- call log ---------------------------------------------------------------------------------


def test_redact_removes_keys(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "my-very-secret-value")
    text = "auth failed for my-very-secret-value and sk-ant-api03-ABCDEFGHIJ and sk-test-123456789"
    out = redact(text, ["explicit-secret"]) + redact("explicit-secret", ["explicit-secret"])
    assert "my-very-secret-value" not in out and "sk-ant" not in out and "sk-test" not in out
    assert "explicit-secret" not in out and out.count("[REDACTED]") == 4


def test_log_read_tail_and_summary(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-abcdefgh12345")
    for i, (duration, outcome) in enumerate([(1.0, "ok"), (2.0, "retried_ok"), (3.0, "fallback"), (4.0, "ok")]):
        append_log_entry(
            {
                "task": f"t{i}",
                "model": "claude-haiku-5-5",
                "duration_s": duration,
                "outcome": outcome,
                "retries": i,
                "tokens_in": 10,
                "tokens_out": 5,
                "cost_usd": 0.5,
                "error": "key sk-test-abcdefgh12345 rejected" if outcome == "fallback" else None,
            }
        )
    with ai_log_file().open("a") as fh:
        fh.write("not json\n")
    entries = read_ai_logs()
    assert [e["task"] for e in entries] == ["t0", "t1", "t2", "t3"]
    assert [e["task"] for e in read_ai_logs(tail=2)] == ["t2", "t3"]
    assert b"sk-test-abcdefgh12345" not in ai_log_file().read_bytes()
    s = summarize_logs(entries)
    assert s["calls"] == 4 and s["failures"] == 1 and s["retries"] == 6
    assert s["p50_latency_s"] == 2.0 and s["p95_latency_s"] == 4.0
    assert s["tokens_in"] == 40 and s["estimated_cost_usd"] == 2.0
    assert s["outcomes"] == {"ok": 2, "retried_ok": 1, "fallback": 1}


def test_estimate_cost_prices():
    assert estimate_cost("claude-haiku-5-5", 1_000_000, 0) == pytest.approx(0.10)
    assert estimate_cost("claude-haiku-5-5", 0, 1_000_000) == pytest.approx(0.50)
    assert estimate_cost("claude-haiku-5-5", 0, 0, cache_write=1_000_000) == pytest.approx(0.125)
    assert estimate_cost("claude-haiku-5-5", 0, 0, cache_read=1_000_000) == pytest.approx(0.01)
    assert estimate_cost("claude-sonnet-5-5", 1_000_000, 1_000_000) == pytest.approx(12.0)
    assert estimate_cost("claude-opus-5-5", 1_000_000, 1_000_000) == pytest.approx(24.0)
    assert estimate_cost("mystery", 1_000_000, 1_000_000) == 0.0


# --- retries ------------------------------------------------------------------------------------


def test_retry_after_parsing_and_backoff():
    assert retry_after_seconds(httpx2.Headers({"retry-after-ms": "1500"})) == 1.5
    assert retry_after_seconds(httpx2.Headers({"retry-after": "7"})) == 7.0
    assert retry_after_seconds(httpx2.Headers({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after_seconds(httpx2.Headers({"retry-after": "soon"})) is None
    assert retry_after_seconds(httpx2.Headers({})) is None
    settings = AISettings(backoff_base_s=0.5, backoff_cap_s=8.0, retry_after_cap_s=30.0)
    rng = random.Random(0)
    assert backoff_delay(1, settings, rng, 3600.0) == 30.0
    assert backoff_delay(1, settings, rng, 2.0) == 2.0
    delays = [backoff_delay(n, settings, rng, None) for n in range(1, 12) for _ in range(50)]
    assert all(0.0 <= d <= 8.0 for d in delays) and max(delays) > 4.0
    assert all(backoff_delay(1, settings, rng, None) <= 0.5 for _ in range(100))


def _client(handler) -> anthropic.AsyncAnthropic:
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    return anthropic.AsyncAnthropic(
        api_key="sk-test-mock-key-000", base_url="http://mock", max_retries=0, http_client=http
    )


async def test_auth_error_stops_further_calls(synth):
    profile, requests, repo = synth
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(
            401,
            json={"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}},
        )

    results, stats = await generate_metadata(
        profile, repo, requests, provider="anthropic", client=_client(handler), settings=FAST, concurrency=2
    )
    assert len(seen) == 1
    assert all(r.fell_back and r.source == "offline" for r in results.values())
    assert "401" in (results[requests[0].task_id].error or "")
    assert stats.calls == 1 and stats.failures == 4 and stats.fallbacks == 4
    logs = read_ai_logs()
    assert {e["outcome"] for e in logs} == {"error"} and len(logs) == 4


async def test_retry_after_ms_and_x_should_retry(synth):
    profile, requests, repo = synth
    calls: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx2.Response(
                429,
                headers={"retry-after-ms": "100000"},
                json={"type": "error", "error": {"type": "rate_limit_error", "message": "x"}},
            )
        return httpx2.Response(
            503,
            headers={"x-should-retry": "false"},
            json={"type": "error", "error": {"type": "api_error", "message": "down"}},
        )

    results, stats = await generate_metadata(
        profile, repo, requests[:1], provider="anthropic", client=_client(handler), settings=FAST
    )
    assert len(calls) == 2 and stats.retries == 1
    result = results[requests[0].task_id]
    assert result.fell_back and "503" in (result.error or "")


def test_removed_sequences_follow_the_cleaning_rule(synth):
    profile, requests, repo = synth
    req = requests[1].model_copy(update={"sequences": ["t001_write_test_seq", "common_seq", "some_helper_class"]})
    ctx = build_context(profile, SourceReader(repo), req)
    assert ctx.started == ["t001_write_test_seq", "common_seq"]
    assert ctx.removed_sequences == ["t001_write_test_seq"]  # common_seq is shared with t003
    meta = offline_metadata(ctx)
    assert "`t001_write_test_seq` was removed with it" in meta.description
    assert "some_helper_class" not in task_message(ctx, 6000)


async def test_bad_provider_choices_are_user_errors(synth, monkeypatch: pytest.MonkeyPatch):
    from dvsmith.errors import UserInputError

    profile, requests, repo = synth
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(UserInputError, match="ANTHROPIC_API_KEY"):
        await generate_metadata(profile, repo, requests, provider="anthropic")
    with pytest.raises(UserInputError, match="unknown AI provider"):
        await generate_metadata(profile, repo, requests, provider="gpt")
    with pytest.raises(UserInputError, match="concurrency"):
        await generate_metadata(profile, repo, requests, provider="offline", concurrency=0)
