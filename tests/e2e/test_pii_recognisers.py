"""A data class's own PII recogniser, end to end: a gateway started on a keel.yaml that
defines EMPLOYEE_ID redacts employee numbers before the upstream sees them, in the answer
too, and leaves look-alikes without the context word alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.e2e.conftest import plan, seen
from tests.e2e.procs import run_keel

RECOGNISERS = {
    "EMPLOYEE_ID": {"pattern": "E[0-9]{7}", "checksum": "luhn", "context": ["employee"]},
}


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
            "staff": {
                "regions": ["local"],
                "pii": {"prompts": "redact", "answers": "redact", "recognisers": RECOGNISERS},
            }
        },
        "teams": {"hr": {"api_keys": ["sk-hr"], "data_class": "staff"}},
    }
    with run_keel(tmp_path_factory.mktemp("keel"), config) as (url, _, _path):
        yield url


def ask(url: str, text: str) -> str:
    with openai.OpenAI(base_url=url + "/v1", api_key="sk-hr", max_retries=0) as client:
        answer = client.chat.completions.create(
            model="echo", messages=[{"role": "user", "content": text}]
        )
        return answer.choices[0].message.content or ""


def test_an_employee_number_is_redacted_upstream_and_in_the_answer(keel: str, faults: str) -> None:
    plan(faults, then="echo")
    answer = ask(keel, "Employee E1234566 asked for leave; mail a@b.de")
    sent = seen(faults)[-1]["body"]["messages"][-1]["content"]
    assert sent == "Employee [EMPLOYEE_ID] asked for leave; mail [EMAIL]"
    assert answer == sent


def test_without_the_context_word_or_with_a_bad_check_digit_it_passes(
    keel: str, faults: str
) -> None:
    plan(faults, then="echo")
    assert ask(keel, "Room E1234566 is free") == "Room E1234566 is free"
    assert ask(keel, "Employee E1234567 left") == "Employee E1234567 left"
