"""Request hygiene: what a request may hold, each excess a 400 that says what to do; and
auth: none, which only ever binds to loopback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml

from tests.e2e.procs import free_port, run_keel, sim_config

KEY = "sk-hygiene"


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = {**sim_config(KEY), "limits": {"max_messages": 8, "max_tokens": 1000, "max_depth": 6}}
    with run_keel(tmp_path_factory.mktemp("keel"), config) as (url, _, _):
        yield url


def post(url: str, body: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {KEY}", "content-type": "application/json"}
    content = body if isinstance(body, bytes) else None
    return httpx.post(url + "/v1/chat/completions", headers=headers, content=content,
                      json=None if content is not None else body, timeout=10)  # fmt: skip


def message(n: int = 1) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"m{i}"} for i in range(n)]


def test_too_many_messages(keel: str) -> None:
    with (
        openai.OpenAI(base_url=keel + "/v1", api_key=KEY, max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.chat.completions.create(model="m", messages=message(9))  # type: ignore[arg-type]
    assert caught.value.code == "too_many_messages"
    assert "limits.max_messages" in caught.value.message


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_too_many_tokens_asked(keel: str, field: str) -> None:
    response = post(keel, {"model": "m", "messages": message(), field: 5000})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "max_tokens_too_large"
    bad = post(keel, {"model": "m", "messages": message(), field: "lots"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == field


def test_a_deeply_nested_body(keel: str) -> None:
    nested: Any = "x"
    for _ in range(10):
        nested = {"a": [nested]}
    response = post(keel, {"model": "m", "messages": message(), "metadata": nested})
    assert response.status_code == 400 and response.json()["error"]["code"] == "too_deep"
    absurd = b'{"model": "m", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert post(keel, absurd).json()["error"]["code"] == "too_deep"


def test_a_nul_character_and_bad_utf8(keel: str) -> None:
    nul = post(keel, {"model": "m", "messages": [{"role": "user", "content": "a\u0000b"}]})
    assert nul.status_code == 400 and nul.json()["error"]["code"] == "invalid_characters"
    bad = post(keel, b'{"model": "m", "messages": [{"role": "user", "content": "\xff"}]}')
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_encoding"
    assert post(keel, {"model": "m", "messages": message(3)}).status_code == 200  # still up


def test_auth_none_serves_loopback_without_a_key(tmp_path: Path) -> None:
    config = {**sim_config(KEY), "auth": "none"}
    with run_keel(tmp_path, config) as (url, _, _):
        answer = httpx.post(url + "/v1/chat/completions",
                            json={"model": "m", "messages": message()}, timeout=10)  # fmt: skip
        assert answer.status_code == 200
    assert "WARNING auth: none" in (tmp_path / "keel.log").read_text()


def test_auth_none_refuses_to_bind_beyond_loopback(tmp_path: Path) -> None:
    config = {**sim_config(KEY), "auth": "none"}
    config["server"] = {"host": "0.0.0.0", "port": free_port()}
    path = tmp_path / "keel.yaml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run([sys.executable, "-m", "keel", "up", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode != 0 and "only to loopback" in done.stderr


def test_n_beyond_the_limit_is_refused(keel: str) -> None:
    response = post(keel, {"model": "m", "messages": message(), "n": 10000})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("n_too_large", "n")
    assert "limits.max_n" in error["message"]
    assert post(keel, {"model": "m", "messages": message(), "n": 2}).status_code == 200


def test_an_over_long_model_name_is_refused_naming_the_limit(keel: str) -> None:
    response = post(keel, {"model": "m" * 300, "messages": message()})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("model_too_long", "model")
    assert "256" in error["message"]
