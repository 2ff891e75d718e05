"""Progress events. The core never prints: it calls a ``Reporter`` the CLI renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Event:
    """One progress event.

    kind: ``phase_start`` / ``phase_end`` (phase = name), ``task_start`` / ``task_advance``
    (phase, total / advance), ``info``, ``warning``.
    """

    kind: str
    phase: str = ""
    message: str = ""
    total: int | None = None
    advance: int = 0
    data: dict[str, object] = field(default_factory=dict)


class Reporter(Protocol):
    def __call__(self, event: Event) -> None: ...


def null_reporter(event: Event) -> None:
    """A reporter that drops every event (library use, tests)."""
    return None
