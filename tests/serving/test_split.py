"""A predictive model's split: shares, stickiness by key, user or input, and the shadow's
agreement count."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from keel.call import Call, Principal
from keel.runtime import Prediction
from keel.serving.shadow import agreement
from keel.serving.split import ModelSplit, check_sticky, describe, sticky_key
from keel.store.rollouts import RolloutState, is_predictive, predictive_key

KEY = predictive_key("fraud")


def canary(percent: float, sticky: str = "key", status: str = "active") -> RolloutState:
    return RolloutState(KEY, "canary", "challenger", percent, {}, sticky, status)


def call(key_id: str = "key-1", user: str | None = None, **inputs: object) -> Call:
    body: dict[str, object] = {"model": "fraud"} | ({"user": user} if user else {})
    c = Call(id="req-1", endpoint="infer", body=body, model="fraud", stream=False)
    c.principal = Principal(team="t", key_id=key_id, models=("*",))
    c.prediction = Prediction({k: np.asarray(v) for k, v in inputs.items()})
    return c


def test_a_canary_gets_about_its_percent_and_the_rest_stay_on_champion() -> None:
    split = ModelSplit(canary(20))
    shares = Counter(split.pick(f"key-{i}") for i in range(10_000))
    assert set(shares) == {"challenger", "champion"}
    assert 1_850 <= shares["challenger"] <= 2_150, shares


def test_the_same_caller_always_gets_the_same_side_and_more_percent_only_adds() -> None:
    low, high = ModelSplit(canary(10)), ModelSplit(canary(30))
    keys = [f"key-{i}" for i in range(2_000)]
    first = {k: low.pick(k) for k in keys}
    assert all(low.pick(k) == first[k] for k in keys)
    assert all(high.pick(k) == "challenger" for k in keys if first[k] == "challenger")


def test_an_ab_split_shares_by_weight_over_aliases_and_versions() -> None:
    state = RolloutState(KEY, "ab", None, 0.0, {"champion": 50, "3": 30, "4": 20}, "key")
    split = ModelSplit(state)
    shares = Counter(split.pick(f"k{i}") for i in range(10_000))
    assert 4_700 <= shares["champion"] <= 5_300 and 2_700 <= shares["3"] <= 3_300, shares
    assert describe(state).startswith("A/B champion 50%, 3 30%, 4 20%")


@pytest.mark.parametrize(
    "state",
    [
        canary(10, status="promoted"),
        canary(10, status="rolled_back"),
        canary(10, status="off"),
        RolloutState(KEY, "shadow", None, 0.0, {}, "key", shadow="challenger"),
        None,
    ],
    ids=["promoted", "rolled_back", "off", "shadow-alone", "none"],
)
def test_an_ended_split_or_a_shadow_alone_sends_everyone_to_champion(
    state: RolloutState | None,
) -> None:
    assert ModelSplit.of(state) is None


def test_sticky_by_key_user_and_input() -> None:
    assert sticky_key(call("key-9"), "key") == "key-9"
    assert sticky_key(call("key-9", user="alice"), "user") == "alice"
    assert sticky_key(call("key-9"), "user") == "key-9"  # no user: its key
    assert sticky_key(call(account=np.array([[17, 3]], dtype=np.int64)), "input:account") == "17"
    assert sticky_key(call(account=np.array([b"acct-5"], dtype=object)), "input:account") == (
        "acct-5"
    )
    assert sticky_key(call("key-9"), "input:account") == "key-9"  # no such input: its key


def test_the_same_input_value_always_lands_on_the_same_side() -> None:
    split = ModelSplit(canary(50, sticky="input:account"))
    keys = [sticky_key(call(f"key-{i}", account=[7.5]), "input:account") for i in range(50)]
    assert len({split.pick(k) for k in keys}) == 1


@pytest.mark.parametrize("text", ["team", "input:", "inputs:x", ""])
def test_a_bad_sticky_is_refused_saying_what_to_give(text: str) -> None:
    with pytest.raises(ValueError, match="key, user or input:NAME"):
        check_sticky(text)


def test_a_predictive_key_is_never_a_plain_model_name() -> None:
    assert is_predictive(KEY) and not is_predictive("fraud") and KEY == "predictive:fraud"


def test_agreement_counts_rows_by_label_else_by_argmax() -> None:
    a = {"label": np.array([0, 1, 1]), "probabilities": np.array([[0.9, 0.1]] * 3)}
    b = {"label": np.array([0, 0, 1]), "probabilities": np.array([[0.2, 0.8]] * 3)}
    assert agreement(a, b) == (2, 1)
    scores_a = {"scores": np.array([[0.9, 0.1], [0.3, 0.7]], dtype=np.float32)}
    scores_b = {"scores": np.array([[0.6, 0.4], [0.6, 0.4]], dtype=np.float32)}
    assert agreement(scores_a, scores_b) == (1, 1)
    assert agreement(a, {"other": np.array([1])}) == (0, 0)
