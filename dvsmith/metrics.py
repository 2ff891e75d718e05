"""Timing and small statistics helpers shared by ingest, build and eval."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class PhaseTimer:
    """Records wall time per named phase, in the order the phases ran."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + (time.perf_counter() - start)

    @property
    def total(self) -> float:
        return sum(self.phases.values())

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.phases.items()}


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100); 0.0 for an empty list."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


class Samples:
    """Raw observations by name (``ai_latency_seconds``, ...), collected while a command runs.

    The build's p50/p95 and the exported histograms are computed from the same lists. Code records with
    ``observe(name, values)``; nothing is kept unless a caller is ``collecting()``.
    """

    def __init__(self) -> None:
        self.values: dict[str, list[float]] = {}

    def extend(self, name: str, values: Iterable[float]) -> None:
        self.values.setdefault(name, []).extend(float(v) for v in values)

    def get(self, name: str) -> list[float]:
        return list(self.values.get(name, []))


_samples: ContextVar[Samples | None] = ContextVar("dvsmith_samples", default=None)


@contextmanager
def collecting() -> Iterator[Samples]:
    """Collect every ``observe`` made in this context (asyncio tasks and threads started in it included)."""
    samples = Samples()
    token = _samples.set(samples)
    try:
        yield samples
    finally:
        _samples.reset(token)


def observe(name: str, values: Iterable[float]) -> list[float]:
    """Record ``values`` under ``name`` when someone is collecting; returns them as a list."""
    out = [float(v) for v in values]
    current = _samples.get()
    if current is not None:
        current.extend(name, out)
    return out
