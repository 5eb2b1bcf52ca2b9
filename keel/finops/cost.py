"""What one call cost, from the deployment's price and the tokens it used."""

from __future__ import annotations

from keel.call import Usage
from keel.config.prices import Price

__all__ = ["cost_usd"]


def cost_usd(price: Price, usage: Usage | None) -> float:
    if usage is None:
        return price.per_request
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    return (
        price.per_request
        + (usage.prompt_tokens - cached) * price.input_per_mtok / 1e6
        + cached * price.cached_input_per_mtok / 1e6
        + usage.completion_tokens * price.output_per_mtok / 1e6
    )
