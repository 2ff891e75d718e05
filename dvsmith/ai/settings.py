"""Tunables of the AI layer: timeouts, retries, backoff, budgets, default model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MODEL = "claude-haiku-5-5"
OFFLINE_MODEL = "offline"


class AISettings(BaseModel):
    """How metadata calls are made. Defaults follow SPEC section 3; tests shrink the delays."""

    model_config = ConfigDict(extra="forbid")

    timeout_s: float = Field(60.0, gt=0, description="upper bound of one HTTP attempt (asyncio.timeout)")
    max_attempts: int = Field(6, ge=1, description="HTTP attempts per task call, retries included")
    backoff_base_s: float = Field(0.5, ge=0, description="exponential backoff base (full jitter)")
    backoff_cap_s: float = Field(8.0, ge=0, description="largest backoff delay")
    retry_after_cap_s: float = Field(30.0, ge=0, description="largest wait a server's retry-after may ask")
    max_tokens: int = Field(2048, ge=64, description="max_tokens of one answer")
    prompt_token_budget: int = Field(6000, ge=200, description="per-task prompt budget (≈ chars/4)")
    summary_token_budget: int = Field(8000, ge=200, description="repo summary budget (≈ chars/4)")
    breaker_failures: int = Field(
        8, ge=1, description="after this many failed attempts in a row, stop calling and fall back at once"
    )
    seed: int | None = Field(None, description="seed of the backoff jitter (tests)")
