"""The admit stage of predictions: a hard budget reserves a prediction's price (from its rows)
and settles it to the cost; rpm and concurrency limits count a prediction as one request;
tpm limits do not apply; a model's rate limit matches the predictive model by its name.
Each test runs on memory:// and on a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from keel.call import Call, Principal
from keel.config.schema import KeelConfig
from keel.errors import BudgetExceeded, RateLimited
from keel.finops.prediction_cost import prediction_cost_usd
from keel.monitor.metrics import Metrics
from keel.pipeline.admit import Admit
from keel.pipeline.admit_predictions import AdmitPredictions
from keel.runtime import Prediction
from keel.state import StateBackend
from keel.store import opened_store
from keel.store.base import Store
from tests.pipeline.test_admit import Clock, utc

# A prediction of 3 rows costs 0.002 + 3 * 0.001 = $0.005.
PRICES = {"price_per_prediction": 0.002, "price_per_row": 0.001}


def config(prefix: str, **sections: Any) -> KeelConfig:
    deployment = {"name": "s", "provider": "sim", "model": "sim", "region": "local"}
    return KeelConfig.model_validate(
        {
            "regions": {"local": {}},
            "deployments": [deployment],
            "models": {"m": ["s"]},
            "teams": {"t": {}},
            "state": {"url": "memory://", "prefix": prefix},
            "predictive": {"models": {"clf": PRICES, "other": PRICES}},
            **sections,
        }
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with opened_store(f"sqlite:///{tmp_path / 'keel.db'}") as opened:
        yield opened


def stage(keel: KeelConfig, state: StateBackend, store: Store) -> AdmitPredictions:
    admit = Admit(keel, state, store, Metrics(), Clock(utc(2027, 11, 20, 12)))
    return AdmitPredictions(admit, keel.predictive)


def infer(model: str = "clf", n: int = 3) -> Call:
    body = {"model": model, "version": None, "inputs": [{"name": "X", "shape": [n, 30]}]}
    c = Call(id="r", endpoint="infer", body=body, model=model, stream=False)
    c.principal = Principal(team="t", key_id="k1", models=("*",))
    c.prediction = Prediction({"X": np.zeros((n, 30), np.float32)})
    return c


async def answered(admit: AdmitPredictions, c: Call) -> None:
    """One whole prediction: admitted, run (priced as the predictor prices it), settled."""
    await admit.before(c)
    assert c.prediction is not None
    settings = admit.models[c.model.partition("@")[0]]
    c.cost_usd = prediction_cost_usd(settings, c.prediction.inputs)
    await admit.after(c)


def budget(limit: float, **more: Any) -> dict[str, Any]:
    return {"name": "team-day", "scope": "team", "limit_usd": limit, "period": "day", **more}


async def test_a_hard_budget_reserves_the_price_and_refuses_past_it(
    state: StateBackend, store: Store, prefix: str
) -> None:
    admit = stage(config(prefix, budgets=[budget(0.013)]), state, store)
    first = infer()
    await admit.before(first)
    assert first.limit_headers == {"x-keel-budget-remaining-usd": "0.008000"}  # $0.005 held
    assert "max_tokens" not in first.body  # no completion cap is written into a prediction
    first.cost_usd = 0.005
    await admit.after(first)
    await answered(admit, infer())  # $0.010 spent
    with pytest.raises(BudgetExceeded) as refused:
        await admit.before(infer())
    message = refused.value.message
    assert "$0.0100 spent" in message and "could cost up to $0.005000" in message
    assert "send fewer rows" in message
    assert refused.value.headers()["retry-after"]
    await answered(admit, infer(n=1))  # $0.003 still fits


async def test_a_prediction_dearer_than_the_whole_budget_asks_for_fewer_rows(
    state: StateBackend, store: Store, prefix: str
) -> None:
    admit = stage(config(prefix, budgets=[budget(0.05)]), state, store)
    with pytest.raises(BudgetExceeded) as refused:
        await admit.before(infer(n=100))  # 0.002 + 100 * 0.001 = $0.102
    assert "could cost up to $0.102000" in refused.value.message
    assert refused.value.message.endswith("Send fewer rows.")


async def test_a_failed_prediction_gives_its_reservation_back(
    state: StateBackend, store: Store, prefix: str
) -> None:
    admit = stage(config(prefix, budgets=[budget(0.006)]), state, store)
    failed = infer()
    await admit.before(failed)
    failed.status = 503  # the run failed: the predictor set no cost
    await admit.after(failed)
    await answered(admit, infer())  # the whole budget is there again
    with pytest.raises(BudgetExceeded):
        await admit.before(infer())


async def test_a_soft_budget_counts_and_never_refuses(
    state: StateBackend, store: Store, prefix: str
) -> None:
    admit = stage(config(prefix, budgets=[budget(0.001, mode="soft")]), state, store)
    for _ in range(3):
        c = infer()
        await answered(admit, c)
        assert c.limit_headers == {}  # a soft budget has no remainder to show


async def test_rpm_counts_a_prediction_as_one_request_of_its_model(
    state: StateBackend, store: Store, prefix: str
) -> None:
    limit = {"name": "clf-rpm", "scope": "model", "match": "clf", "rpm": 2, "tpm": 10}
    admit = stage(config(prefix, rate_limits=[limit]), state, store)
    first = infer(n=50)  # rows are not requests, and tpm does not apply
    await answered(admit, first)
    assert first.limit_headers is not None
    assert first.limit_headers["x-ratelimit-remaining-requests"] == "1"
    assert "x-ratelimit-limit-tokens" not in first.limit_headers
    await answered(admit, infer("clf@champion"))  # an alias names the same model
    with pytest.raises(RateLimited) as refused:
        await admit.before(infer())
    assert "'clf-rpm'" in refused.value.message
    assert refused.value.headers()["retry-after"]
    await answered(admit, infer("other"))  # another model: not this limit's


async def test_a_tpm_only_limit_does_not_hold_predictions(
    state: StateBackend, store: Store, prefix: str
) -> None:
    limit = {"name": "tpm", "scope": "team", "tpm": 1}
    admit = stage(config(prefix, rate_limits=[limit]), state, store)
    for _ in range(3):
        c = infer()
        await admit.before(c)
        assert c.admission is None
        await admit.after(c)


async def test_concurrency_holds_a_slot_until_the_prediction_is_over(
    state: StateBackend, store: Store, prefix: str
) -> None:
    limit = {"name": "cc", "scope": "key", "concurrency": 1}
    admit = stage(config(prefix, rate_limits=[limit]), state, store)
    running = infer()
    await admit.before(running)
    with pytest.raises(RateLimited) as refused:
        await admit.before(infer())
    assert "already in flight" in refused.value.message
    await admit.after(running)
    await answered(admit, infer())


async def test_llm_calls_and_predictions_share_a_team_budget(
    state: StateBackend, store: Store, prefix: str
) -> None:
    keel = config(prefix, budgets=[budget(0.02)])
    llm = Admit(keel, state, store, Metrics(), Clock(utc(2027, 11, 20, 12)))
    admit = AdmitPredictions(llm, keel.predictive)
    messages = [{"role": "user", "content": "hi"}]
    chat_body = {"model": "m", "max_tokens": 10, "messages": messages}
    chat = Call(id="c", endpoint="chat", body=chat_body, model="m", stream=False)
    chat.principal = Principal(team="t", key_id="k1", models=("*",))
    await llm.before(chat)
    chat.cost_usd = 0.012
    await llm.after(chat)
    await answered(admit, infer())  # 0.012 + 0.005
    with pytest.raises(BudgetExceeded):
        await admit.before(infer())
