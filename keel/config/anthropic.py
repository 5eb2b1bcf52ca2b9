"""What an ``anthropic`` deployment adds to a deployment: the API version and beta features
it asks for, and the ``max_tokens`` Anthropic requires when a client sent none. Re-exported by
``keel.config.schema``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ANTHROPIC_BASE_URL", "AnthropicConfig"]

ANTHROPIC_BASE_URL = "https://api.anthropic.com"


class AnthropicConfig(BaseModel):
    """Settings of the ``anthropic`` provider (Anthropic's Messages API upstream)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(
        "2023-06-01", min_length=1, description="Sent as the anthropic-version header."
    )
    beta: list[str] = Field(
        default_factory=list,
        description="Beta features, sent comma-joined as the anthropic-beta header (none: "
        "no header).",
    )
    max_tokens: int = Field(
        4096,
        gt=0,
        description="max_tokens sent for a chat completion whose client set neither "
        "max_tokens nor max_completion_tokens (Anthropic requires one).",
    )
