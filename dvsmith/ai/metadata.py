"""The metadata phase of ``build``: one structured AI call per task, fanned out in parallel.

- The shared prefix (instructions + repo summary) is the same for every task and marked for prompt
  caching; the first call that must reach the API runs alone to warm that cache, then the rest fan out
  under a bound with continuous dispatch (a semaphore around each task, all created up front).
- Answers are cached on disk by a hash of (provider, model, full prompt, schema); a cached answer is
  used without a call. Every call is logged as one JSON line (see :mod:`dvsmith.ai.calllog`).
- A task whose call fails (retries exhausted, refused or invalid twice, a non-retryable error) gets
  offline metadata and says so; nothing here raises because a call failed.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ValidationError

from dvsmith.ai.cache import ResponseCache, cache_key
from dvsmith.ai.calllog import append_log_entry, estimate_cost
from dvsmith.ai.context import MetadataRequest, SourceReader, build_context
from dvsmith.ai.governor import CallGovernor
from dvsmith.ai.offline import offline_metadata
from dvsmith.ai.postprocess import LenientMetadata, finalize
from dvsmith.ai.prompts import build_prompt, repo_summary

if TYPE_CHECKING:
    import anthropic

from dvsmith.ai.providers import (
    AnthropicProvider,
    CallOutcome,
    Job,
    MetadataProvider,
    make_provider,
)
from dvsmith.ai.schema import TaskMetadata
from dvsmith.ai.settings import DEFAULT_MODEL, AISettings
from dvsmith.analysis.profile import Profile
from dvsmith.errors import UserInputError
from dvsmith.events import Event, Reporter, null_reporter
from dvsmith.metrics import observe, percentile

__all__ = [
    "AISettings",
    "AIStats",
    "MetadataRequest",
    "MetadataResult",
    "default_provider",
    "generate_metadata",
]

PHASE = "metadata"


class MetadataResult(BaseModel):
    task_id: str
    metadata: TaskMetadata
    source: Literal["anthropic", "offline", "cache"]
    retries: int = 0
    fell_back: bool = False
    error: str | None = None
    duration_s: float = 0.0


class AIStats(BaseModel):
    provider: str
    model: str
    calls: int  # task calls that reached the API (a retried call counts once)
    cache_hits: int
    retries: int
    failures: int  # task calls that ended without a usable answer
    fallbacks: int  # tasks that got offline metadata because their call failed
    p50_latency_s: float
    p95_latency_s: float
    tokens_in: int
    tokens_out: int
    cache_read_tokens: int
    cache_write_tokens: int
    estimated_cost_usd: float
    wall_s: float
    # extras
    attempts: int = 0  # HTTP requests sent, retries included
    failed_attempts: int = 0
    offline: int = 0  # tasks described by the offline provider (by choice, not by fallback)
    concurrency: int = 0
    min_concurrency: int = 0  # lowest in-flight bound after halving on 429/529
    breaker_open: bool = False  # the API failed breaker_failures attempts in a row: calls stopped
    breaker_reason: str | None = None
    not_called: int = 0  # tasks that fell back without a request because the breaker was open


def default_provider() -> str:
    """``anthropic`` when ANTHROPIC_API_KEY is set, else ``offline``."""
    return "anthropic" if os.environ.get("ANTHROPIC_API_KEY", "").strip() else "offline"


def _schema_for_key(provider: MetadataProvider) -> dict:
    if isinstance(provider, AnthropicProvider):
        return provider.schema
    import anthropic

    return anthropic.transform_schema(TaskMetadata)


async def generate_metadata(
    profile: Profile,
    repo_root: Path,
    requests: list[MetadataRequest],
    *,
    provider: str | None = None,
    model: str | None = None,
    concurrency: int = 8,
    use_cache: bool = True,
    log_bodies: bool = False,
    reporter: Reporter = null_reporter,
    settings: AISettings | None = None,
    client: anthropic.AsyncAnthropic | None = None,
) -> tuple[dict[str, MetadataResult], AIStats]:
    """Metadata for every request, keyed by task id, and the phase's AI statistics.

    ``repo_root`` is where sources are read (build may run on a copy of the profiled repo).
    ``client`` replaces the SDK client the anthropic provider creates (tests, custom transports).
    """
    t0 = time.perf_counter()
    settings = settings or AISettings()
    if concurrency < 1:
        raise UserInputError(f"--concurrency must be at least 1 (got {concurrency})")
    ids = [r.task_id for r in requests]
    if len(set(ids)) != len(ids):
        raise ValueError("task ids of a metadata phase must be unique")

    reader = SourceReader(repo_root)
    summary = repo_summary(profile, settings.summary_token_budget)
    jobs: list[Job] = []
    for request in requests:
        ctx = build_context(profile, reader, request)
        prompt = build_prompt(summary, ctx, settings.prompt_token_budget)
        jobs.append(Job(request.task_id, prompt, offline_metadata(ctx)))

    name = provider or default_provider()
    if name == "anthropic" and client is not None:
        prov: MetadataProvider = AnthropicProvider(model or DEFAULT_MODEL, settings, client=client)
    else:
        prov = make_provider(name, model, settings)

    reporter(Event(kind="task_start", phase=PHASE, total=len(jobs)))
    runner = _Runner(profile, prov, settings, concurrency, use_cache, log_bodies, reporter)
    try:
        results = await runner.run(jobs)
    finally:
        await prov.aclose()
    return results, runner.stats(time.perf_counter() - t0)


class _Runner:
    def __init__(
        self,
        profile: Profile,
        provider: MetadataProvider,
        settings: AISettings,
        concurrency: int,
        use_cache: bool,
        log_bodies: bool,
        reporter: Reporter,
    ) -> None:
        self.profile = profile
        self.provider = provider
        self.settings = settings
        self.concurrency = concurrency
        self.use_cache = use_cache
        self.log_bodies = log_bodies
        self.reporter = reporter
        self.cache = ResponseCache()
        self.results: dict[str, MetadataResult] = {}
        self.outcomes: list[CallOutcome] = []
        self.cache_hits = 0
        self.offline = 0
        self._schema: dict | None = None  # computed at the first cache key (needs the SDK)
        self.governor = CallGovernor(concurrency, settings.breaker_failures, on_open=self._breaker_opened)
        if isinstance(provider, AnthropicProvider):
            provider.governor = self.governor

    def _breaker_opened(self, reason: str) -> None:
        left = sum(1 for o in self.outcomes if o is not None)  # finished so far
        self.reporter(
            Event(
                kind="warning",
                phase=PHASE,
                message=f"AI calls stopped: {reason}; every task still waiting gets offline metadata "
                f"({left} finished before)",
            )
        )

    def _key(self, job: Job) -> str:
        if self._schema is None:
            self._schema = _schema_for_key(self.provider)
        return cache_key(self.provider.name, self.provider.model, job.prompt, self._schema)

    def _advance(self, result: MetadataResult) -> None:
        self.results[result.task_id] = result
        data: dict[str, object] = {
            "task_id": result.task_id,
            "source": result.source,
            "retries": result.retries,
        }
        if result.fell_back:
            data["fell_back"] = True
        self.reporter(Event(kind="task_advance", phase=PHASE, advance=1, data=data))

    async def run(self, jobs: list[Job]) -> dict[str, MetadataResult]:
        if not self.provider.makes_calls:
            for job in jobs:
                self.offline += 1
                self._advance(MetadataResult(task_id=job.task_id, metadata=job.offline, source="offline"))
            return self._ordered(jobs)

        pending: list[tuple[Job, str]] = []
        for job in jobs:
            key = self._key(job)
            cached = self._from_cache(job, key) if self.use_cache else None
            if cached is not None:
                self.cache_hits += 1
                self._advance(cached)
            else:
                pending.append((job, key))

        if pending:
            # Warm the shared prefix: a cache entry is readable only once a response that wrote it ended.
            first, rest = pending[0], pending[1:]
            await self._call(*first)
            if rest:
                governor = self.governor  # the in-flight bound adapts to 429/529 (see ai/governor.py)

                async def bounded(job: Job, key: str) -> None:
                    async with governor:
                        await self._call(job, key)

                async with asyncio.TaskGroup() as group:
                    for job, key in rest:
                        group.create_task(bounded(job, key))
        return self._ordered(jobs)

    def _ordered(self, jobs: list[Job]) -> dict[str, MetadataResult]:
        return {job.task_id: self.results[job.task_id] for job in jobs}

    def _from_cache(self, job: Job, key: str) -> MetadataResult | None:
        stored = self.cache.get(key)
        if stored is None:
            return None
        try:
            answer = LenientMetadata.model_validate(stored)
            metadata = finalize(answer, job.offline, self.profile)
        except ValidationError:
            return None
        return MetadataResult(task_id=job.task_id, metadata=metadata, source="cache")

    async def _call(self, job: Job, key: str) -> None:
        def on_retry(reason: str) -> None:
            data: dict[str, object] = {"retry": 1, "task_id": job.task_id, "reason": reason}
            self.reporter(Event(kind="info", phase=PHASE, message=f"retrying {job.task_id}", data=data))

        outcome = await self.provider.describe(job, on_retry)
        self.outcomes.append(outcome)
        metadata: TaskMetadata | None = None
        if outcome.answer is not None:
            try:
                metadata = finalize(outcome.answer, job.offline, self.profile)
            except ValidationError as exc:
                outcome.outcome = "fallback"
                outcome.error = f"answer could not be trimmed to the schema: {exc.error_count()} errors"
            else:
                self._store(key, metadata)  # the validated, trimmed fields: never the raw answer
        self._log(job, key, outcome)
        if metadata is not None:
            result = MetadataResult(
                task_id=job.task_id,
                metadata=metadata,
                source="anthropic",
                retries=outcome.retries,
                duration_s=round(outcome.duration_s, 4),
            )
        else:
            result = MetadataResult(
                task_id=job.task_id,
                metadata=job.offline,
                source="offline",
                retries=outcome.retries,
                fell_back=True,
                error=outcome.error,
                duration_s=round(outcome.duration_s, 4),
            )
        self._advance(result)

    def _store(self, key: str, answer: TaskMetadata) -> None:
        try:
            self.cache.put(key, answer.model_dump(), {"provider": self.provider.name, "model": self.provider.model})
        except OSError:
            return  # a cache that cannot be written only costs a call next time

    def _log(self, job: Job, key: str, outcome: CallOutcome) -> None:
        usage = outcome.usage
        entry: dict[str, object] = {
            "time": outcome.started_at,
            "task": job.task_id,
            "provider": self.provider.name,
            "model": self.provider.model,
            "duration_s": round(outcome.duration_s, 4),
            "attempts": outcome.attempts,
            "retries": outcome.retries,
            "tokens_in": usage.tokens_in,
            "tokens_out": usage.tokens_out,
            "cache_read_tokens": usage.cache_read,
            "cache_write_tokens": usage.cache_write,
            "cost_usd": estimate_cost(
                self.provider.model, usage.tokens_in, usage.tokens_out, usage.cache_read, usage.cache_write
            ),
            "outcome": outcome.outcome,
            "error": outcome.error,
            "attempt_errors": outcome.attempt_errors,
            "cache_key": key,
        }
        if self.log_bodies:
            entry["prompt"] = job.prompt
            entry["answer"] = outcome.answer_text
        secrets = getattr(self.provider, "_secrets", [])
        try:
            append_log_entry(entry, secrets)
        except OSError:
            return  # losing a log line must not lose the task

    def stats(self, wall_s: float) -> AIStats:
        called = [o for o in self.outcomes if o.attempts > 0]
        durations = observe("ai_latency_seconds", (o.duration_s for o in called))  # p50/p95 and the histogram
        tokens_in = sum(o.usage.tokens_in for o in self.outcomes)
        tokens_out = sum(o.usage.tokens_out for o in self.outcomes)
        cache_read = sum(o.usage.cache_read for o in self.outcomes)
        cache_write = sum(o.usage.cache_write for o in self.outcomes)
        model = self.provider.model
        return AIStats(
            provider=self.provider.name,
            model=model,
            calls=len(called),
            cache_hits=self.cache_hits,
            retries=sum(o.retries for o in self.outcomes),
            failures=sum(1 for o in self.outcomes if o.outcome in ("fallback", "error")),
            fallbacks=sum(1 for r in self.results.values() if r.fell_back),
            p50_latency_s=round(percentile(durations, 50), 4),
            p95_latency_s=round(percentile(durations, 95), 4),
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            estimated_cost_usd=estimate_cost(model, tokens_in, tokens_out, cache_read, cache_write)
            if self.provider.makes_calls
            else 0.0,
            wall_s=round(wall_s, 4),
            attempts=sum(o.attempts for o in self.outcomes),
            failed_attempts=sum(o.failed_attempts for o in self.outcomes),
            offline=self.offline,
            concurrency=self.concurrency,
            min_concurrency=self.governor.lowest_limit if called else self.concurrency,
            breaker_open=self.governor.is_open,
            breaker_reason=self.governor.open_reason,
            not_called=sum(1 for o in self.outcomes if o.attempts == 0 and o.outcome == "fallback"),
        )
