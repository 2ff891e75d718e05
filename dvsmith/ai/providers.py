"""Metadata providers behind one small interface: ``anthropic`` (official SDK) and ``offline``.

The anthropic provider makes one structured call per task with its own bounded retries (the SDK's are
switched off, so a retrying call is bounded and counted): 408/409/429/5xx/529, timeouts and connection
errors are retried with exponential backoff and full jitter; a server's ``retry-after(-ms)`` is honoured
but capped; every attempt runs under ``asyncio.timeout``. An answer that is refused, truncated or does
not validate is asked for once more; after that the task falls back to offline metadata.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from dvsmith.ai.calllog import redact
from dvsmith.ai.governor import CallGovernor
from dvsmith.ai.postprocess import InvalidAnswer, LenientMetadata, parse_answer
from dvsmith.ai.schema import TaskMetadata
from dvsmith.ai.settings import DEFAULT_MODEL, OFFLINE_MODEL, AISettings
from dvsmith.errors import UserInputError

if TYPE_CHECKING:  # the SDK is imported when a call is to be made (1-3 s of start-up an offline build never pays)
    import anthropic

Outcome = Literal["ok", "retried_ok", "fallback", "error"]
RetryCallback = Callable[[str], None]

MAX_INVALID_ANSWERS = 2  # the first invalid answer is asked for once more
CHARS_PER_TOKEN_BOUND = 32  # an answer longer than max_tokens * this cannot come from a real model
_RETRY_STATUS = {408, 409, 429}
_DISABLING_STATUS = {401, 403, 404}  # bad key, no permission, unknown model: no later call can succeed


@dataclass
class Usage:
    tokens_in: int = 0
    tokens_out: int = 0
    cache_read: int = 0
    cache_write: int = 0

    def add(self, usage: Any) -> None:
        self.tokens_in += int(getattr(usage, "input_tokens", 0) or 0)
        self.tokens_out += int(getattr(usage, "output_tokens", 0) or 0)
        self.cache_read += int(getattr(usage, "cache_read_input_tokens", 0) or 0)
        self.cache_write += int(getattr(usage, "cache_creation_input_tokens", 0) or 0)


@dataclass
class Job:
    """One task's call: the prompt exactly as sent, and the offline metadata to fall back on."""

    task_id: str
    prompt: dict[str, Any]
    offline: TaskMetadata


@dataclass
class CallOutcome:
    answer: LenientMetadata | None  # None: no usable answer (the task falls back to offline metadata)
    outcome: Outcome
    attempts: int = 0  # HTTP requests sent
    usage: Usage = field(default_factory=Usage)
    duration_s: float = 0.0
    error: str | None = None
    attempt_errors: list[str] = field(default_factory=list)  # one per failed attempt, in order
    answer_text: str | None = None
    started_at: str = ""

    @property
    def failed_attempts(self) -> int:
        return len(self.attempt_errors)

    @property
    def retries(self) -> int:
        return max(self.attempts - 1, 0)


class MetadataProvider(Protocol):
    name: str
    model: str
    makes_calls: bool  # False: answers are computed locally (not cached, not logged, no warm-up)

    async def describe(self, job: Job, on_retry: RetryCallback) -> CallOutcome: ...

    async def aclose(self) -> None: ...


class OfflineProvider:
    """Deterministic metadata from the profile; no network."""

    name = "offline"
    model = OFFLINE_MODEL
    makes_calls = False

    async def describe(self, job: Job, on_retry: RetryCallback) -> CallOutcome:
        return CallOutcome(answer=LenientMetadata.model_validate(job.offline.model_dump()), outcome="ok")

    async def aclose(self) -> None:
        return None


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None, overload: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.overload = overload  # 429/529: the server asks for less traffic


def retry_after_seconds(headers: Any) -> float | None:
    """The wait a response asks for (``retry-after-ms``, then ``retry-after`` seconds or HTTP date)."""
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(float(value) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def backoff_delay(attempt: int, settings: AISettings, rng: random.Random, retry_after: float | None) -> float:
    """Delay before retry number ``attempt`` (1-based): the server's wish capped, else full jitter."""
    if retry_after is not None:
        return min(retry_after, settings.retry_after_cap_s)
    ceiling = min(settings.backoff_cap_s, settings.backoff_base_s * (2 ** (attempt - 1)))
    return rng.uniform(0.0, ceiling)


def _status_error_text(exc: anthropic.APIStatusError) -> str:
    message = getattr(exc, "message", "") or str(exc)
    return f"HTTP {exc.status_code} {type(exc).__name__}: {message}"


def _raise_if_cancelling() -> None:
    """Raise ``CancelledError`` when the running task is being cancelled: a call that failed because the
    build was interrupted is not retried, and the build does not go on offline."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class AnthropicProvider:
    """Structured metadata through the official SDK (``AsyncAnthropic``)."""

    name = "anthropic"
    makes_calls = True

    def __init__(self, model: str, settings: AISettings, client: anthropic.AsyncAnthropic | None = None) -> None:
        import anthropic

        self.model = model
        self.settings = settings
        if client is None:
            if not os.environ.get("ANTHROPIC_API_KEY", "").strip():
                raise UserInputError("provider anthropic needs ANTHROPIC_API_KEY (or use --provider offline)")
            client = anthropic.AsyncAnthropic(max_retries=0, timeout=settings.timeout_s + 5.0)
        self.client = client
        keys = (getattr(client, "api_key", None), getattr(client, "auth_token", None))
        self._secrets = [k for k in keys if isinstance(k, str) and k]
        self._rng = random.Random(settings.seed)
        self.schema = anthropic.transform_schema(TaskMetadata)
        self.disabled: str | None = None  # set after an error no later call can recover from
        self.governor: CallGovernor | None = None  # set by the metadata runner: breaker and in-flight bound

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    async def aclose(self) -> None:
        await self.client.close()

    async def _attempt(self, job: Job, usage: Usage) -> tuple[LenientMetadata, str]:
        import anthropic

        try:
            async with asyncio.timeout(self.settings.timeout_s):
                response = await self.client.messages.create(
                    model=self.model,
                    max_tokens=self.settings.max_tokens,
                    system=job.prompt["system"],
                    messages=job.prompt["messages"],
                    output_config={"format": {"type": "json_schema", "schema": self.schema}},
                )
        except TimeoutError:
            raise _Retryable(f"timeout after {self.settings.timeout_s:g} s") from None
        except anthropic.APIConnectionError as exc:  # includes APITimeoutError
            raise _Retryable(f"{type(exc).__name__}: {exc}") from None
        except anthropic.APIStatusError as exc:
            should = exc.response.headers.get("x-should-retry") if exc.response is not None else None
            if (exc.status_code in _RETRY_STATUS or exc.status_code >= 500) and should != "false":
                headers = exc.response.headers if exc.response is not None else None
                overload = exc.status_code in (429, 529)
                raise _Retryable(_status_error_text(exc), retry_after_seconds(headers), overload) from None
            raise
        usage.add(response.usage)
        if response.stop_reason != "end_turn":
            raise InvalidAnswer(f"stop_reason {response.stop_reason!r}")
        text = "".join(getattr(b, "text", "") for b in response.content if getattr(b, "type", "") == "text")
        limit = self.settings.max_tokens * CHARS_PER_TOKEN_BOUND
        if len(text) > limit:  # max_tokens bounds a real answer: this one is not to be kept anywhere
            raise InvalidAnswer(
                f"answer of {len(text)} characters exceeds {limit} (max_tokens {self.settings.max_tokens})"
            )
        return parse_answer(text), text

    async def describe(self, job: Job, on_retry: RetryCallback) -> CallOutcome:
        import anthropic

        started_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        t0 = time.perf_counter()
        result = CallOutcome(answer=None, outcome="fallback", started_at=started_at)
        if self.disabled:
            result.outcome = "error"
            result.error = f"not called: {self.disabled}"
            return result
        invalid = 0
        gov = self.governor
        while result.attempts < self.settings.max_attempts:
            if gov is not None and gov.is_open:
                what = "not retried" if result.attempts else "not called"
                result.error = f"{what}: circuit breaker open: {gov.open_reason}"
                result.outcome = "fallback"
                break
            if result.attempts:
                on_retry(result.error or "retry")
            result.attempts += 1
            try:
                try:
                    answer, text = await self._attempt(job, result.usage)
                except Exception:
                    _raise_if_cancelling()  # an HTTP library may turn a cancellation (Ctrl-C) into another error
                    raise
            except _Retryable as exc:
                result.error = self.redact(str(exc))
                result.attempt_errors.append(result.error)
                if gov is not None:
                    gov.failed(result.error, overload=exc.overload)
                    if gov.is_open:
                        continue
                if result.attempts < self.settings.max_attempts:
                    await asyncio.sleep(backoff_delay(result.attempts, self.settings, self._rng, exc.retry_after))
                continue
            except InvalidAnswer as exc:
                if gov is not None:
                    gov.answered(valid=False)
                invalid += 1
                result.error = self.redact(f"invalid answer: {exc}")
                result.attempt_errors.append(result.error)
                if invalid >= MAX_INVALID_ANSWERS:
                    break
                continue
            except anthropic.APIStatusError as exc:
                result.error = self.redact(_status_error_text(exc))
                result.attempt_errors.append(result.error)
                result.outcome = "error"
                if exc.status_code in _DISABLING_STATUS:
                    self.disabled = result.error
                break
            except Exception as exc:  # a build never aborts because one call failed
                result.error = self.redact(f"{type(exc).__name__}: {exc}")
                result.attempt_errors.append(result.error)
                result.outcome = "error"
                break
            if gov is not None:
                gov.answered(valid=True)
            result.answer = answer
            result.answer_text = text
            result.outcome = "ok" if result.attempts == 1 else "retried_ok"
            result.error = None
            break
        result.duration_s = time.perf_counter() - t0
        return result


def make_provider(name: str, model: str | None, settings: AISettings) -> MetadataProvider:
    if name == "offline":
        return OfflineProvider()
    if name == "anthropic":
        return AnthropicProvider(model or DEFAULT_MODEL, settings)
    raise UserInputError(f"unknown AI provider {name!r} (choose anthropic or offline)")
