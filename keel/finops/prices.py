"""Prices: a deployment's ``price`` section resolved against keel's bundled price list."""

from __future__ import annotations

from dataclasses import dataclass

from keel.config.finops import PriceConfig

__all__ = ["PRICE_LIST", "Price", "resolve"]


@dataclass(frozen=True, slots=True)
class Price:
    """A deployment's prices in US dollars, every field known."""

    input_per_mtok: float = 0.0
    cached_input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0
    per_request: float = 0.0
    hourly_usd: float = 0.0


# Public list prices per million tokens (input, cached input, output).
PRICE_LIST: dict[str, Price] = {
    "gpt-4o": Price(2.50, 1.25, 10.00),
    "gpt-4o-mini": Price(0.15, 0.075, 0.60),
}


def resolve(config: PriceConfig) -> Price:
    """The price a deployment pays: the named list entry (if any) with the given fields over
    it. Cached input defaults to the input price when neither says otherwise."""
    base = Price()
    if config.list is not None:
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
