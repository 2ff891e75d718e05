"""Post-processing of any metadata answer: parse leniently, then trim to the limits of the schema.

Only covergroup / sequence names that exist in the profile survive; the title keeps at most 6 words,
the description 4 sentences, the goal 2; hints are 3–5 (padded from the offline hints); every text
field is length-capped and control characters are dropped. Unknown fields are ignored.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from dvsmith.ai.schema import Difficulty, TaskMetadata
from dvsmith.analysis.profile import Profile

TITLE_MAX_WORDS = 6
DESCRIPTION_MAX_SENTENCES = 4
GOAL_MAX_SENTENCES = 2
HINTS_MIN, HINTS_MAX = 3, 5
MAX_CHARS = {"title": 80, "difficulty_reason": 240, "description": 900, "goal": 400, "hint": 300}
MAX_NAMES = 20

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class InvalidAnswer(ValueError):
    """The answer is not usable: not JSON, not an object, or missing required fields."""


class LenientMetadata(BaseModel):
    """The answer as received: required fields present and typed; limits enforced later."""

    model_config = ConfigDict(extra="ignore")

    title: str
    difficulty: Difficulty
    difficulty_reason: str
    description: str
    goal: str
    hints: list[str]
    covergroups: list[str] = []
    sequences: list[str] = []


def parse_answer(text: str) -> LenientMetadata:
    try:
        data: Any = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidAnswer(f"answer is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidAnswer("answer is not a JSON object")
    try:
        return LenientMetadata.model_validate(data)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        raise InvalidAnswer(f"answer does not match the schema ({', '.join(fields)})") from None


def _clean(text: str, limit: int, one_line: bool = False) -> str:
    text = _CONTROL.sub(" ", text)
    text = " ".join(text.split()) if one_line else re.sub(r"[ \t]+", " ", text).strip()
    if len(text) > limit:
        cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
        text = cut.rstrip(" ,;:") + "…"
    return text


def _sentences(text: str, max_sentences: int) -> str:
    parts = _SENTENCE_END.split(" ".join(text.split()))
    return " ".join(parts[:max_sentences])


def _known(names: list[str], allowed: set[str]) -> list[str]:
    return list(dict.fromkeys(n.strip() for n in names if n.strip() in allowed))[:MAX_NAMES]


def finalize(answer: LenientMetadata | TaskMetadata, fallback: TaskMetadata, profile: Profile) -> TaskMetadata:
    """Trim ``answer`` to the schema's limits; fill what is missing or unusable from ``fallback``."""
    title_words = _clean(answer.title, MAX_CHARS["title"], one_line=True).split()
    title = " ".join(title_words[:TITLE_MAX_WORDS]) if len(title_words) >= 2 else fallback.title

    description = _clean(_sentences(answer.description, DESCRIPTION_MAX_SENTENCES), MAX_CHARS["description"])
    goal = _clean(_sentences(answer.goal, GOAL_MAX_SENTENCES), MAX_CHARS["goal"])
    reason = _clean(answer.difficulty_reason, MAX_CHARS["difficulty_reason"], one_line=True)

    hints = [h for h in (_clean(h, MAX_CHARS["hint"], one_line=True) for h in answer.hints) if h]
    hints = list(dict.fromkeys(hints))[:HINTS_MAX]
    for extra in fallback.hints:
        if len(hints) >= HINTS_MIN:
            break
        if extra not in hints:
            hints.append(extra)

    covergroups = _known(answer.covergroups, {c.name for c in profile.covergroups})
    sequences = _known(answer.sequences, {s.name for s in profile.sequences})
    return TaskMetadata(
        title=title,
        difficulty=answer.difficulty,
        difficulty_reason=reason or fallback.difficulty_reason,
        description=description or fallback.description,
        goal=goal or fallback.goal,
        hints=hints,
        covergroups=covergroups or fallback.covergroups,
        sequences=sequences or fallback.sequences,
    )
