"""The bundled price list and ``resolve``: list entries, overrides, unknown names."""

from __future__ import annotations

import pytest

from keel.config.finops import PriceConfig
from keel.config.prices import _BY_PROVIDER as BY_PROVIDER
from keel.config.prices import (
    PRICE_LIST,
    PRICE_PROVIDERS,
    Price,
    closest_list_names,
    resolve,
    unknown_list_name,
)

ASKED_FOR = [
    "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o4-mini",
    "text-embedding-3-small", "text-embedding-3-large", "claude-3-5-sonnet",
    "claude-3-7-sonnet", "claude-sonnet-4", "claude-3-5-haiku", "claude-opus-4",
    "gemini-1.5-pro", "gemini-1.5-flash", "gemini-2.0-flash", "gemini-2.5-pro",
    "gemini-2.5-flash", "mistral-large", "mistral-small",
]  # fmt: skip


def test_the_common_cloud_models_are_listed() -> None:
    missing = [name for name in ASKED_FOR if name not in PRICE_LIST]
    assert not missing


def test_no_name_is_listed_under_two_providers() -> None:
    # The flat list is built by merging the providers' tables: a repeat would silently win.
    assert sum(len(prices) for prices in BY_PROVIDER.values()) == len(PRICE_LIST)
    assert set(PRICE_PROVIDERS) == set(PRICE_LIST)


@pytest.mark.parametrize("name", sorted(PRICE_LIST))
def test_every_entry_is_a_plausible_token_price(name: str) -> None:
    price = PRICE_LIST[name]
    assert 0 < price.input_per_mtok < 100
    assert 0 <= price.output_per_mtok < 200
    # A cache read never costs more than reading the prompt afresh.
    assert 0 < price.cached_input_per_mtok <= price.input_per_mtok
    assert price.per_request == 0 and price.hourly_usd == 0


def test_embedding_models_charge_no_output() -> None:
    embedders = [n for n in PRICE_LIST if "embed" in n]
    assert embedders and all(PRICE_LIST[n].output_per_mtok == 0 for n in embedders)


def test_a_list_name_alone_gives_the_list_price() -> None:
    assert resolve(PriceConfig.model_validate("gpt-4.1")) == PRICE_LIST["gpt-4.1"]
    assert resolve(PriceConfig.model_validate({"list": "o3"})) == PRICE_LIST["o3"]


def test_given_fields_override_the_list_entry() -> None:
    listed = PRICE_LIST["claude-sonnet-4"]
    price = resolve(PriceConfig(list="claude-sonnet-4", output_per_mtok=12.0, per_request=0.001))
    assert price == Price(listed.input_per_mtok, listed.cached_input_per_mtok, 12.0, 0.001)


def test_a_new_input_price_without_a_cached_one_prices_cache_reads_as_input() -> None:
    # A negotiated input price makes the list's cached price meaningless; never under-state.
    price = resolve(PriceConfig(list="gpt-4o", input_per_mtok=2.0))
    assert price.cached_input_per_mtok == 2.0
    explicit = resolve(PriceConfig(list="gpt-4o", input_per_mtok=2.0, cached_input_per_mtok=0.5))
    assert explicit.cached_input_per_mtok == 0.5


def test_no_list_and_no_fields_costs_nothing() -> None:
    assert resolve(PriceConfig()) == Price()
    assert resolve(PriceConfig(hourly_usd=3.2)) == Price(hourly_usd=3.2)


def test_an_unknown_list_name_is_refused_with_the_closest_names() -> None:
    with pytest.raises(ValueError) as info:
        resolve(PriceConfig(list="gpt4o-mini"))
    message = str(info.value)
    assert "'gpt4o-mini'" in message and "gpt-4o-mini" in message and "keel prices" in message


def test_closest_names_come_best_first_and_only_when_close() -> None:
    assert closest_list_names("claude-sonet-4")[0] == "claude-sonnet-4"
    assert closest_list_names("llama-70b-local") == []
    assert "did you mean" not in unknown_list_name("llama-70b-local")
