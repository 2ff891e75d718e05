"""Timing and small statistics helpers shared by ingest, build and eval."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager


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
