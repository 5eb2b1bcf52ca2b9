"""What keel does with each kind of upstream failure, through the real openai SDK: retry,
fail over, go to the larger-context model, or hand the error back, streaming and not."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.conftest import attempts, fault_config, plan, seen
from tests.e2e.procs import run_keel

KEY = "sk-policy"
FULL = "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7"


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory, faults: str) -> Iterator[tuple[str, Path]]:
    timeouts = {"first_byte_s": 1.5, "first_token_s": 1, "between_chunks_s": 0.3}
    config = fault_config(faults, KEY, retries=1, backoff_s=0.05, breaker={"enabled": False},
                          timeouts=timeouts)  # fmt: skip
    config["deployments"].append(
        {"name": "big", "provider": "sim", "model": "sim-128k", "region": "local",
         "sim": {"ttft_ms": 0, "tokens_per_s": 10000}}
    )  # fmt: skip
    config["models"].update(
        {
            "small": {"deployments": ["flaky"], "context_fallback": "large"},
            "large": ["big"],
            "strict": {"deployments": ["flaky", "backup"], "on_error": {"server_error": "return"}},
            "lenient": {
                "deployments": ["flaky", "backup"],
                "on_error": {"content_policy": "failover"},
            },
        }
    )
    with run_keel(tmp_path_factory.mktemp("keel"), config) as (url, _, path):
        yield url, path


def ask(url: str, model: str, stream: bool, **headers: str) -> tuple[str, str, str]:
    """(deployment that answered, request id, answer text), through the openai SDK."""
    with openai.OpenAI(
        base_url=url + "/v1", api_key=KEY, max_retries=0, default_headers=headers
    ) as client:
        messages: Any = [{"role": "user", "content": "hi"}]
        if not stream:
            raw = client.chat.completions.with_raw_response.create(model=model, messages=messages)
            answer = raw.parse().choices[0].message.content or ""
            return raw.headers["x-keel-deployment"], raw.headers["x-request-id"], answer
        with client.chat.completions.with_streaming_response.create(
            model=model, messages=messages, stream=True
        ) as response:
            chunks = list(response.parse())
            deployment = response.headers["x-keel-deployment"]
            request_id = response.headers["x-request-id"]
        assert chunks[-1].choices[0].finish_reason == "stop"  # a whole answer, properly ended
        answer = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        return deployment, request_id, answer


def healthy(url: str) -> bool:
    return httpx.get(url + "/healthz").status_code == 200


@pytest.mark.parametrize("stream", [False, True])
def test_a_429_without_retry_after_is_retried_after_a_short_backoff(
    keel: tuple[str, Path], faults: str, stream: bool
) -> None:
    url, path = keel
    plan(faults, "429")
    deployment, request_id, answer = ask(url, "duo", stream)
    assert (deployment, answer) == ("flaky", FULL)
    first, second = seen(faults)
    assert [first["fault"], second["fault"]] == ["429", "ok"]
    assert 0 <= second["t"] - first["t"] < 1.0  # backoff_s 0.05 with jitter: no long wait
    assert attempts(path, request_id) == [("flaky", "rate_limited"), ("flaky", None)]


@pytest.mark.parametrize("stream", [False, True])
def test_a_slow_first_token_fails_over_at_once_and_is_not_asked_again(
    keel: tuple[str, Path], faults: str, stream: bool
) -> None:
    url, path = keel
    plan(faults, then={"name": "slow_first_token", "delay_s": 3})
    started = time.monotonic()
    deployment, request_id, answer = ask(url, "duo", stream)
    assert deployment == "backup" and answer
    assert time.monotonic() - started < 2.5  # first_token_s / first_byte_s, not the 3 s delay
    assert len(seen(faults)) == 1  # a silent deployment is not retried
    assert attempts(path, request_id) == [("flaky", "upstream_timeout"), ("backup", None)]
    assert healthy(url)


def test_an_answer_that_stalls_after_its_headers_fails_over_after_between_chunks_s(
    keel: tuple[str, Path], faults: str
) -> None:
    url, path = keel
    plan(faults, then={"name": "stall"})  # headers, half the JSON body, then silence
    started = time.monotonic()
    deployment, request_id, _ = ask(url, "duo", stream=False)
    assert deployment == "backup"
    assert time.monotonic() - started < 1.2  # between_chunks_s (0.3), not first_byte_s (1.5)
    assert attempts(path, request_id) == [("flaky", "upstream_timeout"), ("backup", None)]


def test_a_stream_cut_before_its_first_token_is_retried_unseen(
    keel: tuple[str, Path], faults: str
) -> None:
    url, path = keel
    plan(faults, {"name": "cut", "after_tokens": 0})
    deployment, request_id, answer = ask(url, "solo", stream=True)
    assert (deployment, answer) == ("flaky", FULL)  # the client never saw the first try
    assert [e["fault"] for e in seen(faults)] == ["cut", "ok"]
    assert attempts(path, request_id) == [("flaky", "stream_broken"), ("flaky", None)]


@pytest.mark.parametrize("stream", [False, True])
def test_context_length_goes_to_the_larger_model_never_the_same(
    keel: tuple[str, Path], faults: str, stream: bool
) -> None:
    url, path = keel
    plan(faults, then="context_length")
    deployment, request_id, answer = ask(url, "small", stream)
    assert deployment == "big" and answer
    assert len(seen(faults)) == 1
    assert attempts(path, request_id) == [("flaky", "context_length"), ("big", None)]


@pytest.mark.parametrize("stream", [False, True])
def test_a_content_policy_refusal_comes_back_with_the_providers_reason(
    keel: tuple[str, Path], faults: str, stream: bool
) -> None:
    url, _ = keel
    plan(faults, then="content_policy")
    with pytest.raises(openai.BadRequestError) as caught:
        ask(url, "duo", stream)
    assert caught.value.code == "content_policy_violation"
    assert "safety system" in caught.value.message
    assert len(seen(faults)) == 1  # never retried, never failed over


def test_a_content_policy_refusal_fails_over_when_the_model_says_so(
    keel: tuple[str, Path], faults: str
) -> None:
    url, _ = keel
    plan(faults, then="content_policy")
    deployment, _, answer = ask(url, "lenient", stream=False)
    assert deployment == "backup" and answer
    assert len(seen(faults)) == 1


@pytest.mark.parametrize("stream", [False, True])
def test_a_server_error_goes_straight_back_when_the_policy_says_return(
    keel: tuple[str, Path], faults: str, stream: bool
) -> None:
    url, _ = keel
    plan(faults, then="503")
    with pytest.raises(openai.APIStatusError) as caught:
        ask(url, "strict", stream)
    assert caught.value.status_code == 502
    assert len(seen(faults)) == 1  # no retry, no failover
    assert healthy(url)


@pytest.mark.parametrize("stream", [False, True])
def test_an_upstream_refusing_keels_key_fails_over_and_is_never_passed_on(
    keel: tuple[str, Path], faults: str, stream: bool
) -> None:
    url, path = keel
    plan(faults, then="401")
    deployment, request_id, answer = ask(url, "duo", stream)
    assert deployment == "backup" and answer
    assert len(seen(faults)) == 1
    assert attempts(path, request_id) == [("flaky", "refused"), ("backup", None)]
    with pytest.raises(openai.APIStatusError) as caught:  # no fallback: a 502, not its 401
        ask(url, "solo", stream)
    assert caught.value.status_code == 502 and "api_key" in caught.value.message
