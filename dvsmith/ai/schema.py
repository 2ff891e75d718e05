"""The structured answer every metadata call returns (SPEC section 3)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

METADATA_SCHEMA_VERSION = 1

Difficulty = Literal["easy", "medium", "hard"]
MetadataSource = Literal["anthropic", "offline", "cache"]


class TaskMetadata(BaseModel):
    """Every AI-written field of one task, validated as a whole.

    Limits: title 2–6 words, description 2–4 sentences, goal 1–2 sentences, 3–5 hints. The provider
    layer trims text to these limits and keeps only covergroup/sequence names present in the profile.
    """

    model_config = ConfigDict(extra="ignore")

    title: str = Field(description="2 to 6 words")
    difficulty: Difficulty
    difficulty_reason: str = Field(description="one line")
    description: str = Field(description="2 to 4 sentences")
    goal: str = Field(description="1 to 2 sentences")
    hints: list[str] = Field(min_length=3, max_length=5, description="3 to 5 hints")
    covergroups: list[str] = Field(default_factory=list)
    sequences: list[str] = Field(default_factory=list)
