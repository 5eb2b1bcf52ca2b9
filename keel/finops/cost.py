"""What one call cost, from the deployment's price and the tokens it used."""

from __future__ import annotations

from keel.call import Usage
from keel.config.schema import PriceConfig

__all__ = ["cost_usd"]


def cost_usd(price: PriceConfig, usage: Usage | None) -> float:
    if usage is None:
        return price.per_request
    return (
        price.per_request
        + usage.prompt_tokens * price.input_per_mtok / 1e6
        + usage.completion_tokens * price.output_per_mtok / 1e6
    )
