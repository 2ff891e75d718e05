"""The AI call log: one JSON line per task call, prices, redaction, and summaries.

The API key never reaches the log: request headers are never recorded, and every text that goes in
(error messages, optional prompt/answer bodies) is passed through :func:`redact` first.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from typing import Any

import orjson

from dvsmith.metrics import percentile
from dvsmith.paths import ai_log_file

# $ per million tokens (input, output); cache writes cost 1.25x input (5 min TTL), cache reads 0.1x.
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "claude-haiku-5-5": (0.10, 0.50),
    "claude-sonnet-5-5": (2.00, 10.00),
    "claude-opus-5-5": (4.00, 20.00),
}
# Models without an exact entry are priced as their family's newest model (an estimate).
FAMILY_PRICES: dict[str, tuple[float, float]] = {
    "haiku": PRICES_PER_MTOK["claude-haiku-5-5"],
    "sonnet": PRICES_PER_MTOK["claude-sonnet-5-5"],
    "opus": PRICES_PER_MTOK["claude-opus-5-5"],
}
CACHE_WRITE_FACTOR = 1.25
CACHE_READ_FACTOR = 0.1

_SECRET_ENV = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
_KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9][A-Za-z0-9_\-]{6,}")
_REDACTED = "[REDACTED]"
_write_lock = threading.Lock()


def model_prices(model: str) -> tuple[float, float]:
    """(input, output) $ per million tokens for ``model``; (0, 0) when the model is unknown."""
    if model in PRICES_PER_MTOK:
        return PRICES_PER_MTOK[model]
    lowered = model.lower()
    for family, prices in FAMILY_PRICES.items():
        if family in lowered:
            return prices
    return (0.0, 0.0)


def estimate_cost(model: str, tokens_in: int, tokens_out: int, cache_read: int = 0, cache_write: int = 0) -> float:
    """Estimated $ of one call from its usage (uncached input, output, cache reads and writes)."""
    p_in, p_out = model_prices(model)
    total = (
        tokens_in * p_in
        + cache_write * p_in * CACHE_WRITE_FACTOR
        + cache_read * p_in * CACHE_READ_FACTOR
        + tokens_out * p_out
    )
    return round(total / 1_000_000, 8)


def secrets_from_env() -> list[str]:
    return [v for name in _SECRET_ENV if (v := os.environ.get(name, "").strip())]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove API keys from ``text``: the given secret values, those in the environment, and anything
    shaped like an Anthropic key (``sk-...``)."""
    for secret in (*secrets, *secrets_from_env()):
        if secret and len(secret) >= 4:
            text = text.replace(secret, _REDACTED)
    return _KEY_PATTERN.sub(_REDACTED, text)


def append_log_entry(entry: dict[str, Any], secrets: Iterable[str] = ()) -> None:
    """Append one entry as a JSON line to the call log (redacted, serialised under a lock)."""
    line = redact(orjson.dumps(entry).decode("utf-8"), secrets)
    path = ai_log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _write_lock, path.open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def read_ai_logs(tail: int | None = None) -> list[dict]:
    """Entries of the call log, oldest first; the last ``tail`` ones when given. Bad lines are skipped."""
    path = ai_log_file()
    if not path.is_file():
        return []
    entries: list[dict] = []
    with path.open("rb") as fh:
        for raw in fh:
            raw = raw.strip()
            if not raw:
                continue
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if isinstance(value, dict):
                entries.append(value)
    if tail is not None:
        entries = entries[-tail:] if tail > 0 else []
    return entries


def _int(entry: dict, key: str) -> int:
    value = entry.get(key, 0)
    return int(value) if isinstance(value, int | float) else 0


def summarize_logs(entries: list[dict]) -> dict:
    """calls, failures, retries, outcomes, p50/p95 latency, tokens and cost of a list of log entries."""
    durations = [float(e["duration_s"]) for e in entries if isinstance(e.get("duration_s"), int | float)]
    outcomes: dict[str, int] = {}
    for e in entries:
        key = str(e.get("outcome", "unknown"))
        outcomes[key] = outcomes.get(key, 0) + 1
    return {
        "calls": len(entries),
        "failures": sum(1 for e in entries if e.get("outcome") in ("fallback", "error")),
        "retries": sum(_int(e, "retries") for e in entries),
        "outcomes": outcomes,
        "p50_latency_s": round(percentile(durations, 50), 4),
        "p95_latency_s": round(percentile(durations, 95), 4),
        "tokens_in": sum(_int(e, "tokens_in") for e in entries),
        "tokens_out": sum(_int(e, "tokens_out") for e in entries),
        "cache_read_tokens": sum(_int(e, "cache_read_tokens") for e in entries),
        "cache_write_tokens": sum(_int(e, "cache_write_tokens") for e in entries),
        "estimated_cost_usd": round(sum(float(e.get("cost_usd", 0.0) or 0.0) for e in entries), 6),
        "models": sorted({str(e["model"]) for e in entries if e.get("model")}),
    }
