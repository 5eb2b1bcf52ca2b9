"""Names through the gateway: a data class with the NER tagger on pseudonymises a person
across the messages of a request (also a surname alone, later), the upstream sees only
placeholders, and the client gets the names back (whole and streamed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.e2e.conftest import plan, seen
from tests.e2e.procs import run_keel


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory, faults: str) -> Iterator[str]:
    config: dict[str, Any] = {
        "server": {"access_log": False},
        "regions": {"local": {}},
        "deployments": [
            {
                "name": "echo",
                "provider": "openai",
                "base_url": faults + "/v1",
                "model": "e",
                "region": "local",
                "retries": 0,
            }
        ],
        "models": {"echo": ["echo"]},
        "data_classes": {
            "names": {"regions": ["local"], "pii": {"prompts": "pseudonymise", "ner": True}}
        },
        "teams": {"crm": {"api_keys": ["sk-crm"], "data_class": "names"}},
    }
    with run_keel(tmp_path_factory.mktemp("keel"), config) as (url, _, _):
        yield url


@pytest.mark.parametrize("stream", [False, True])
def test_a_person_is_one_placeholder_upstream_and_named_again_in_the_answer(
    keel: str, faults: str, stream: bool
) -> None:
    plan(faults, then="echo")
    messages: Any = [
        {"role": "user", "content": "Please forward the contract to Anna Schmidt."},
        {"role": "assistant", "content": "Done."},
        {"role": "user", "content": "I think Schmidt has signed it."},
        {"role": "user", "content": "Thanks, Anna! Talk soon."},
    ]
    with openai.OpenAI(base_url=keel + "/v1", api_key="sk-crm", max_retries=0) as client:
        if stream:
            chunks = client.chat.completions.create(model="echo", messages=messages, stream=True)
            got = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            reply = client.chat.completions.create(model="echo", messages=messages)
            got = reply.choices[0].message.content or ""
    upstream = [m["content"] for m in seen(faults)[-1]["body"]["messages"]]
    assert upstream[0] == "Please forward the contract to <PERSON_1>."
    assert upstream[2] == "I think <PERSON_1> has signed it."
    assert upstream[3] == "Thanks, <PERSON_1>! Talk soon."
    assert got == "Thanks, Anna Schmidt! Talk soon."
