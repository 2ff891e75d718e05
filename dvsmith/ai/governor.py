"""Adaptive concurrency and a circuit breaker for the metadata calls of one build.

- In-flight bound (AIMD): starts at ``--concurrency``; every 429/529 halves it (never below 1); it grows
  back by one after as many successful answers in a row as the current bound (slow recovery).
- Circuit breaker: when the last ``trip_after`` HTTP attempts all failed with a retryable error (429,
  529, 5xx, timeouts, connection errors) the API is taken as down for the rest of the build: no call is
  retried or started any more, and every remaining task falls back to offline metadata at once, saying
  why. Any answer from the API (even one that does not validate) resets the count.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable


class CallGovernor:
    def __init__(self, concurrency: int, trip_after: int, on_open: Callable[[str], None] | None = None) -> None:
        self.max_limit = max(1, concurrency)
        self.limit = self.max_limit
        self.lowest_limit = self.max_limit
        self.trip_after = max(1, trip_after)
        self.in_flight = 0
        self.consecutive_failures = 0
        self.open_reason: str | None = None
        self.overloads = 0
        self._ok_streak = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._on_open = on_open

    # ---------------------------------------------------------------------------- in-flight bound
    async def __aenter__(self) -> CallGovernor:
        while self.in_flight >= self.limit and self.open_reason is None:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                await fut
            finally:
                if fut in self._waiters:
                    self._waiters.remove(fut)
        self.in_flight += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        free = len(self._waiters) if self.open_reason else self.limit - self.in_flight
        while free > 0 and self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                free -= 1

    # ---------------------------------------------------------------------------- outcomes
    @property
    def is_open(self) -> bool:
        return self.open_reason is not None

    def answered(self, *, valid: bool) -> None:
        """The API answered (valid or not): it is up."""
        self.consecutive_failures = 0
        if not valid:
            return
        self._ok_streak += 1
        if self._ok_streak >= self.limit and self.limit < self.max_limit:
            self.limit += 1
            self._ok_streak = 0
            self._wake()

    def failed(self, error: str, *, overload: bool) -> None:
        """A retryable failure of one HTTP attempt."""
        self.consecutive_failures += 1
        self._ok_streak = 0
        if overload:
            self.overloads += 1
            self.limit = max(1, self.limit // 2)
            self.lowest_limit = min(self.lowest_limit, self.limit)
        if self.open_reason is None and self.consecutive_failures >= self.trip_after:
            self.open_reason = f"the last {self.consecutive_failures} API attempts all failed (last: {error})"
            self._wake()
            if self._on_open is not None:
                self._on_open(self.open_reason)
