"""Which prompts the embedding drift monitor takes: the data class gate, the share, the caps."""

from __future__ import annotations

import random

import pytest

from keel.call import Call
from keel.config.monitors import EmbeddingDriftConfig
from keel.config.security import DataClassConfig, PIIPolicy
from keel.monitor.prompt_sampler import MAX_CHARS, PromptSampler

CLASSES = {
    "open": DataClassConfig(regions=["eu"]),
    "redacted": DataClassConfig(regions=["eu"], pii=PIIPolicy(prompts="redact")),
    "redacted_opted_in": DataClassConfig(
        regions=["eu"], pii=PIIPolicy(prompts="pseudonymise"), monitor_embeddings=True
    ),
    "opted_out": DataClassConfig(regions=["eu"], monitor_embeddings=False),
}


def call(text: str = "How do I reset my password?", **fields: object) -> Call:
    body = {"model": "chat", "messages": [
        {"role": "system", "content": "You are the helpdesk of Example Ltd."},
        {"role": "user", "content": text},
    ]}  # fmt: skip
    made = Call(id="r1", endpoint="chat", body=body, model="chat", stream=False)
    for name, value in fields.items():
        setattr(made, name, value)
    return made


def sampler(**settings: object) -> PromptSampler:
    config = EmbeddingDriftConfig(**{"share": 1.0, "per_minute": 1000, **settings})
    return PromptSampler(config, CLASSES, random.Random(5))


@pytest.mark.parametrize(
    ("data_class", "taken"),
    [(None, True), ("open", True), ("redacted", False), ("redacted_opted_in", True),
     ("opted_out", False), ("not-in-config", False)],
)  # fmt: skip
def test_the_data_class_decides(data_class: str | None, taken: bool) -> None:
    assert (sampler().take(call(data_class=data_class), 0.0) is not None) is taken


def test_shadow_copies_embeddings_calls_refused_and_failed_calls_are_not_taken() -> None:
    s = sampler()
    assert s.take(call(kind="shadow"), 0.0) is None
    assert s.take(call(endpoint="embeddings"), 0.0) is None
    assert s.take(call(status=403), 0.0) is None  # a guard blocked it
    assert s.take(call(status=502), 0.0) is None
    assert s.take(call(model=""), 0.0) is None
    assert s.take(call(), 0.0) is not None


def test_the_newest_prompt_text_is_taken_and_cut_to_length() -> None:
    s = sampler()
    assert s.take(call("Where is my invoice?"), 0.0) == "Where is my invoice?"
    long = s.take(call("x" * 10_000), 0.0)
    assert long is not None and len(long) == MAX_CHARS
    assert s.take(call("   "), 0.0) is None  # nothing to embed


def test_the_share_is_a_uniform_draw() -> None:
    s = sampler(share=0.2)
    taken = sum(s.take(call(), float(i) * 60) is not None for i in range(2000))
    assert 320 < taken < 480  # 400 expected, sd ~18


def test_per_model_and_total_caps_hold_per_minute() -> None:
    s = sampler(per_minute=3, total_per_minute=5)
    first = [s.take(call(), 10.0) is not None for _ in range(5)]
    assert first == [True, True, True, False, False]  # chat's 3 a minute
    other = [s.take(call(model="other"), 20.0) is not None for _ in range(4)]
    assert other == [True, True, False, False]  # the 5 a minute over every model
    assert s.take(call(), 61.0) is not None  # a new minute
