"""Prices: a deployment's ``price`` section resolved against keel's bundled price list.

The list holds the providers' published list prices per million tokens, as of
``PRICE_LIST_AS_OF``. They change; a deployment's ``price`` fields override them, and a
negotiated discount belongs there too. Where a provider publishes no price for cached prompt
tokens, cached tokens are priced as ordinary input, so a cost is never under-stated.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from keel.config.finops import PriceConfig

__all__ = [
    "PRICE_LIST",
    "PRICE_LIST_AS_OF",
    "PRICE_PROVIDERS",
    "Price",
    "closest_list_names",
    "resolve",
    "unknown_list_name",
]

PRICE_LIST_AS_OF = "2025-08"


@dataclass(frozen=True, slots=True)
class Price:
    """A deployment's prices in US dollars, every field known."""

    input_per_mtok: float = 0.0
    cached_input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0
    per_request: float = 0.0
    hourly_usd: float = 0.0


def _listed(input_: float, output: float, cached: float | None = None) -> Price:
    return Price(input_, input_ if cached is None else cached, output)


# (input, output, cached input) in US dollars per million tokens, by provider. Anthropic's
# cached input is a cache read (writes cost more and are not modelled); Google's are the
# prices for prompts up to 128k (1.5) or 200k (2.5) tokens.
_BY_PROVIDER: dict[str, dict[str, Price]] = {
    "OpenAI": {
        "gpt-5": _listed(1.25, 10.00, 0.125),
        "gpt-5-mini": _listed(0.25, 2.00, 0.025),
        "gpt-5-nano": _listed(0.05, 0.40, 0.005),
        "gpt-4.1": _listed(2.00, 8.00, 0.50),
        "gpt-4.1-mini": _listed(0.40, 1.60, 0.10),
        "gpt-4.1-nano": _listed(0.10, 0.40, 0.025),
        "gpt-4o": _listed(2.50, 10.00, 1.25),
        "gpt-4o-mini": _listed(0.15, 0.60, 0.075),
        "gpt-4-turbo": _listed(10.00, 30.00),
        "gpt-3.5-turbo": _listed(0.50, 1.50),
        "o1": _listed(15.00, 60.00, 7.50),
        "o3": _listed(2.00, 8.00, 0.50),
        "o3-mini": _listed(1.10, 4.40, 0.55),
        "o4-mini": _listed(1.10, 4.40, 0.275),
        "text-embedding-3-small": _listed(0.02, 0.0),
        "text-embedding-3-large": _listed(0.13, 0.0),
        "text-embedding-ada-002": _listed(0.10, 0.0),
    },
    "Anthropic": {
        "claude-opus-4-1": _listed(15.00, 75.00, 1.50),
        "claude-opus-4": _listed(15.00, 75.00, 1.50),
        "claude-sonnet-4": _listed(3.00, 15.00, 0.30),
        "claude-3-7-sonnet": _listed(3.00, 15.00, 0.30),
        "claude-3-5-sonnet": _listed(3.00, 15.00, 0.30),
        "claude-3-5-haiku": _listed(0.80, 4.00, 0.08),
        "claude-3-opus": _listed(15.00, 75.00, 1.50),
        "claude-3-haiku": _listed(0.25, 1.25, 0.03),
    },
    "Google": {
        "gemini-2.5-pro": _listed(1.25, 10.00),
        "gemini-2.5-flash": _listed(0.30, 2.50),
        "gemini-2.5-flash-lite": _listed(0.10, 0.40),
        "gemini-2.0-flash": _listed(0.10, 0.40, 0.025),
        "gemini-2.0-flash-lite": _listed(0.075, 0.30),
        "gemini-1.5-pro": _listed(1.25, 5.00, 0.3125),
        "gemini-1.5-flash": _listed(0.075, 0.30, 0.01875),
        "gemini-1.5-flash-8b": _listed(0.0375, 0.15, 0.01),
    },
    "Mistral": {
        "mistral-large": _listed(2.00, 6.00),
        "mistral-medium-3": _listed(0.40, 2.00),
        "mistral-small": _listed(0.10, 0.30),
        "codestral": _listed(0.30, 0.90),
        "pixtral-large": _listed(2.00, 6.00),
        "open-mistral-nemo": _listed(0.15, 0.15),
        "ministral-8b": _listed(0.10, 0.10),
        "ministral-3b": _listed(0.04, 0.04),
        "mistral-embed": _listed(0.10, 0.0),
    },
}

PRICE_LIST: dict[str, Price] = {
    name: price for prices in _BY_PROVIDER.values() for name, price in prices.items()
}
PRICE_PROVIDERS: dict[str, str] = {
    name: provider for provider, prices in _BY_PROVIDER.items() for name in prices
}


def closest_list_names(name: str) -> list[str]:
    """Up to three list names that look like ``name``, best first (for a typo's message)."""
    return difflib.get_close_matches(name, PRICE_LIST, n=3, cutoff=0.5)


def unknown_list_name(name: str) -> str:
    """What to tell a user whose ``price.list`` names no list entry."""
    close = closest_list_names(name)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return (
        f"{name!r} is not in keel's price list; {hint}`keel prices` lists every name, "
        "or give input_per_mtok and output_per_mtok instead"
    )


def resolve(config: PriceConfig) -> Price:
    """The price a deployment pays: the named list entry (if any) with the given fields over
    it. Cached input defaults to the input price when neither says otherwise."""
    base = Price()
    if config.list is not None:
        if config.list not in PRICE_LIST:
            raise ValueError(unknown_list_name(config.list))
        base = PRICE_LIST[config.list]
    given = config.input_per_mtok
    input_price = given if given is not None else base.input_per_mtok
    cached = config.cached_input_per_mtok
    if cached is None:
        cached = (
            base.cached_input_per_mtok if config.list is not None and given is None else input_price
        )
    return Price(
        input_price,
        cached,
        _pick(config.output_per_mtok, base.output_per_mtok),
        _pick(config.per_request, base.per_request),
        _pick(config.hourly_usd, base.hourly_usd),
    )


def _pick(given: float | None, default: float) -> float:
    return given if given is not None else default
