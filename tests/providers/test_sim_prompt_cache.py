"""The simulator's prompt cache: leading messages seen before are reported as cached tokens."""

from __future__ import annotations

from typing import Any

from keel.providers.sim import PromptCache, count_tokens
from tests.providers.test_sim import chat_body, send, sim, stream

SYSTEM = {"role": "system", "content": "You are a careful assistant who answers in one line."}


def chat(*contents: str) -> dict[str, Any]:
    messages = [SYSTEM, *({"role": "user", "content": c} for c in contents)]
    return {"model": "sim-llm", "messages": messages}


def details(answer: dict[str, Any]) -> Any:
    return answer["usage"].get("prompt_tokens_details")


async def test_off_by_default_reports_no_details() -> None:
    provider = sim()
    await send(provider, chat_body())
    assert details(await send(provider, chat_body())) is None


async def test_a_repeated_leading_message_is_read_from_the_cache() -> None:
    provider = sim(prompt_cache=True)
    first = await send(provider, chat("What is a gateway?"))
    assert details(first) == {"cached_tokens": 0}
    second = await send(provider, chat("What is a budget?"))
    assert details(second) == {"cached_tokens": count_tokens(SYSTEM["content"])}
    assert second["usage"]["prompt_tokens"] > details(second)["cached_tokens"]


async def test_the_same_prompt_again_is_cached_whole() -> None:
    provider = sim(prompt_cache=True)
    await send(provider, chat("What is a gateway?"))
    again = await send(provider, chat("What is a gateway?"))
    assert details(again)["cached_tokens"] == again["usage"]["prompt_tokens"]


async def test_a_stream_reports_cached_tokens_in_its_usage_chunk() -> None:
    provider = sim(prompt_cache=True)
    await send(provider, chat("first"))
    body = chat("second") | {"stream_options": {"include_usage": True}}
    _, chunks = await stream(provider, body)
    assert chunks[-1]["usage"]["prompt_tokens_details"] == {
        "cached_tokens": count_tokens(SYSTEM["content"])
    }


def test_only_a_prefix_counts_and_old_prefixes_are_forgotten() -> None:
    cache = PromptCache(size=2)
    a, b, c = ("user", "alpha beta"), ("user", "gamma"), ("user", "delta epsilon zeta")
    assert cache.read([a, b]) == 0
    assert cache.read([c, b]) == 0  # b was seen, but not after c: no prefix matches
    assert cache.read([a, b]) == 0  # [a] and [a, b] were pushed out by [c] and [c, b]
    assert cache.read([a, c]) == 2  # [a] is back in
