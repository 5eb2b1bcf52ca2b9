"""What a call costs: cached prompt tokens at the cached price, the rest at the input price."""

from __future__ import annotations

import pytest

from keel.call import Usage
from keel.config.prices import Price
from keel.finops.cost import cost_usd

PRICE = Price(input_per_mtok=2.0, cached_input_per_mtok=0.5, output_per_mtok=8.0)


def test_uncached_prompt_and_completion() -> None:
    assert cost_usd(PRICE, Usage(1_000_000, 500_000)) == pytest.approx(2.0 + 4.0)


def test_cached_tokens_are_priced_at_the_cached_rate() -> None:
    # 600k of the 1M prompt tokens were cache reads: 400k * 2 + 600k * 0.5 per million.
    usage = Usage(1_000_000, 0, cached_tokens=600_000)
    assert cost_usd(PRICE, usage) == pytest.approx(0.8 + 0.3)
    assert cost_usd(PRICE, usage) < cost_usd(PRICE, Usage(1_000_000, 0))


def test_more_cached_than_prompt_tokens_counts_the_whole_prompt_as_cached() -> None:
    assert cost_usd(PRICE, Usage(1000, 0, cached_tokens=5000)) == pytest.approx(1000 * 0.5 / 1e6)


def test_per_request_price_applies_with_and_without_usage() -> None:
    flat = Price(per_request=0.01)
    assert cost_usd(flat, None) == 0.01
    assert cost_usd(flat, Usage(10, 10, cached_tokens=5)) == 0.01
