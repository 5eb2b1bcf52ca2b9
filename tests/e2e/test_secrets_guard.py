"""The secrets guard of a data class end to end, through the gateway and the openai SDK against
the fault upstream: a key redacted before it goes upstream (tool-call arguments too), a
blocked answer refused whole or its stream stopped with an error event before the key leaves,
and a stream cut upstream letting out what the guard held, redacted, before its error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.e2e.conftest import plan, seen
from tests.e2e.procs import run_keel

KEY = "sk-proj-" + "Ab3dEf9hIjKlMn0pQrStUvWx1yZaBcDeFgHiJkLmNoPq"
CLASSES = {
    "redact": {"secrets": {"prompts": "redact", "answers": "redact"}},
    "dlp_block": {"secrets": {"answers": "block"}},
    "dlp": {"secrets": {"answers": "redact"}},
}


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory, faults: str) -> Iterator[str]:
    config: dict[str, Any] = {
        "server": {"access_log": False},
        "regions": {"local": {}},
        "deployments": [{"name": "echo", "provider": "openai", "base_url": faults + "/v1",
                         "model": "e", "region": "local", "retries": 0}],
        "models": {"echo": ["echo"]},
        "data_classes": {name: {"regions": ["local"], **spec} for name, spec in CLASSES.items()},
        "teams": {name: {"api_keys": [f"sk-{name}"], "data_class": name} for name in CLASSES},
    }  # fmt: skip
    with run_keel(tmp_path_factory.mktemp("keel"), config) as (url, _, _path):
        yield url


def client(url: str, team: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=f"sk-{team}", max_retries=0)


def test_a_key_in_a_prompt_and_in_tool_call_arguments_never_reaches_the_upstream(
    keel: str, faults: str
) -> None:
    plan(faults, then="echo")
    messages: Any = [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
         "function": {"name": "login", "arguments": f'{{"key": "{KEY}"}}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        {"role": "user", "content": f"why does {KEY} fail?"},
    ]  # fmt: skip
    with client(keel, "redact") as c:
        answer = c.chat.completions.create(model="echo", messages=messages)
    body = seen(faults)[-1]["body"]
    assert (
        body["messages"][0]["tool_calls"][0]["function"]["arguments"] == '{"key": "[OPENAI_KEY]"}'
    )
    assert body["messages"][-1]["content"] == "why does [OPENAI_KEY] fail?"
    assert answer.choices[0].message.content == "why does [OPENAI_KEY] fail?"


def test_a_blocked_answer_is_refused_naming_the_kind_never_the_value(
    keel: str, faults: str
) -> None:
    plan(faults, then="echo")
    with client(keel, "dlp_block") as c, pytest.raises(openai.PermissionDeniedError) as caught:
        c.chat.completions.create(model="echo", messages=[{"role": "user", "content": KEY}])
    assert caught.value.code == "answer_blocked" and "OPENAI_KEY" in caught.value.message
    assert KEY not in caught.value.message


def test_a_blocked_stream_stops_with_an_error_before_the_key_leaves(keel: str, faults: str) -> None:
    plan(faults, then="echo")
    got = ""
    with client(keel, "dlp_block") as c, pytest.raises(openai.APIError) as caught:
        text = f"Your key is {KEY} keep it"
        messages: Any = [{"role": "user", "content": text}]
        stream = c.chat.completions.create(model="echo", stream=True, messages=messages)
        for chunk in stream:
            got += (chunk.choices[0].delta.content or "") if chunk.choices else ""
    # The text before the key gets out, even what came in the events that ended the key; no
    # character of the key does.
    assert got == "Your key is " and "OPENAI_KEY" in caught.value.message


def test_what_the_guard_held_when_the_stream_was_cut_leaves_redacted(
    keel: str, faults: str
) -> None:
    text = f"Use {KEY} now please"  # cut after 8 chunks of 5: in the middle of the key
    plan(faults, then={"name": "echo", "cut_after": 8})
    got = ""
    with client(keel, "dlp") as c, pytest.raises(openai.APIError):
        messages: Any = [{"role": "user", "content": text}]
        stream = c.chat.completions.create(model="echo", stream=True, messages=messages)
        for chunk in stream:
            got += (chunk.choices[0].delta.content or "") if chunk.choices else ""
    assert got == "Use [OPENAI_KEY]"  # the held part, redacted, before the error
