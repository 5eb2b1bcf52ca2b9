"""The worst a call may cost: what a hard budget reserves before the call.

It prices every prompt byte as a token (a token is never shorter than a byte) and the
completion cap (``max_tokens``, or the budget's ``default_max_tokens``, which is then sent
upstream as ``max_tokens``) at the dearest deployment the model may route to. So a settled cost
never passes its reservation, and concurrent requests cannot together pass the budget.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import orjson

from keel.call import Call
from keel.config.finops import BudgetConfig
from keel.config.prices import Price
from keel.config.schema import KeelConfig
from keel.pipeline.holds import NANO

__all__ = ["WorstCase", "cap_field", "prompt_bytes"]

_BYTES_OVERHEAD = 16  # per request, for the tokens a chat template adds


# The body field of a completion cap, where it is not ``max_tokens``.
_CAP_FIELD = {"responses": "max_output_tokens"}


def cap_field(endpoint: str) -> str:
    """The body field that caps a call's completion, in its client's protocol."""
    return _CAP_FIELD.get(endpoint, "max_tokens")


class WorstCase:
    """The price bounds of the config's models, and a call's worst case under them."""

    def __init__(self, config: KeelConfig) -> None:
        self.max_tokens = config.limits.max_tokens
        self.bounds = _price_bounds(config)
        self.dearest = _max_price(d.prices for d in config.deployments)

    def completion_cap(self, call: Call, hard: list[BudgetConfig]) -> int:
        """The most completion tokens the call may bring back, over all its choices; under a
        hard budget a call that names no cap gets one (written into its body)."""
        if call.endpoint == "embeddings":
            return 0
        body = call.body
        field = cap_field(call.endpoint)
        asked = body.get("max_completion_tokens") or body.get(field)
        if isinstance(asked, int) and not isinstance(asked, bool):
            cap = asked
        elif hard:
            cap = min(min(b.default_max_tokens for b in hard), self.max_tokens)
            body[field] = cap  # the reservation's bound holds only if upstream keeps it
            call.raw = None
        else:
            cap = 0
        choices = body.get("n")
        if isinstance(choices, int) and not isinstance(choices, bool) and choices > 1:
            cap *= choices
        return cap

    def nano(self, model: str, prompt_bytes: int, cap: int) -> int:
        """The worst case in nano-dollars."""
        price = self.bounds.get(model, self.dearest)
        per_input = max(price.input_per_mtok, price.cached_input_per_mtok)
        usd = (
            price.per_request
            + (prompt_bytes + _BYTES_OVERHEAD) * per_input / 1e6
            + cap * price.output_per_mtok / 1e6
        )
        return math.ceil(usd * NANO)


def prompt_bytes(call: Call) -> int:
    prompt: Any = call.protocol.prompt(call.endpoint, call.body)
    return len(orjson.dumps(prompt)) if prompt is not None else 0


def _max_price(prices: Iterable[Price]) -> Price:
    found = list(prices)
    if not found:
        return Price()
    return Price(
        max(p.input_per_mtok for p in found),
        max(p.cached_input_per_mtok for p in found),
        max(p.output_per_mtok for p in found),
        max(p.per_request for p in found),
    )


def _price_bounds(config: KeelConfig) -> dict[str, Price]:
    """Per logical model, the dearest price of every deployment it may route to: its own,
    a rollout's, and those of its context fallback."""
    by_name = {d.name: d.prices for d in config.deployments}

    def names(model: str, seen: set[str]) -> set[str]:
        spec = config.models.get(model)
        if spec is None or model in seen:
            return set()
        seen.add(model)
        found = set(spec.deployments)
        if spec.rollout is not None:
            found |= set(spec.rollout.weights)
            if spec.rollout.canary is not None:
                found.add(spec.rollout.canary)
        if spec.context_fallback is not None:
            found |= names(spec.context_fallback, seen)
        return found

    return {
        model: _max_price(by_name[n] for n in names(model, set()) if n in by_name)
        for model in config.models
    }
