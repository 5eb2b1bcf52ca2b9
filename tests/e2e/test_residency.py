"""Data classes pin requests to regions: routing filters before any strategy and never relaxes
the filter, a header may only make the class stricter, and the record names the region."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.conftest import plan, record, seen
from tests.e2e.procs import run_keel

PUBLIC, RESTRICTED = "sk-public", "sk-restricted"
FAST = {"ttft_ms": 0, "tokens_per_s": 10000}


def sim(name: str, region: str) -> dict[str, Any]:
    return {"name": name, "provider": "sim", "model": "m", "region": region, "sim": FAST}


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory, faults: str) -> Iterator[tuple[str, Path]]:
    config = {
        "server": {"access_log": False},
        "regions": {
            "onprem-fra": {"jurisdiction": "DE", "trust": "on-prem"},
            "cloud-us": {"jurisdiction": "US", "trust": "public-cloud"},
        },
        "deployments": [
            sim("us", "cloud-us"),
            sim("fra", "onprem-fra"),
            {
                "name": "fra-down",
                "provider": "openai",
                "base_url": faults + "/v1",
                "model": "f",
                "region": "onprem-fra",
                "retries": 0,
                "timeouts": {"first_byte_s": 1},
            },
        ],
        "models": {"chat": ["us", "fra"], "us-only": ["us"], "fragile": ["fra-down", "us"]},
        "data_classes": {
            "public": {"regions": ["cloud-us", "onprem-fra"]},
            "restricted": {"regions": ["onprem-fra"], "pii": {"prompts": "redact"}},
        },
        "teams": {
            "web": {"api_keys": [PUBLIC], "data_class": "public"},
            "hr": {"api_keys": [RESTRICTED], "data_class": "restricted"},
        },
    }
    with run_keel(tmp_path_factory.mktemp("keel"), config) as (url, _, path):
        yield url, path


def client(url: str, key: str, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, default_headers=headers)


def ask(url: str, key: str, model: str, stream: bool = False, **headers: str) -> Any:
    messages: Any = [{"role": "user", "content": "hi"}]
    with client(url, key, **headers) as c:
        if stream:
            with c.chat.completions.with_streaming_response.create(
                model=model, messages=messages, stream=True
            ) as response:
                list(response.parse())
                return response
        return c.chat.completions.with_raw_response.create(model=model, messages=messages)


@pytest.mark.parametrize("stream", [False, True])
def test_restricted_data_stays_in_its_region_even_when_another_comes_first(
    keel: tuple[str, Path], stream: bool
) -> None:
    url, path = keel
    for _ in range(3):
        response = ask(url, RESTRICTED, "chat", stream)
        assert response.headers["x-keel-deployment"] == "fra"
        assert response.headers["x-keel-region"] == "onprem-fra"
    assert record(path, response.headers["x-request-id"])["region"] == "onprem-fra"
    assert ask(url, PUBLIC, "chat", stream).headers["x-keel-deployment"] == "us"  # unrestricted


def test_no_deployment_in_an_allowed_region_is_a_403_naming_class_and_regions(
    keel: tuple[str, Path],
) -> None:
    url, _ = keel
    with pytest.raises(openai.PermissionDeniedError) as caught:
        ask(url, RESTRICTED, "us-only")
    assert caught.value.code == "residency_violation"
    assert "'restricted'" in caught.value.message and "onprem-fra" in caught.value.message


def test_a_header_may_make_the_class_stricter(keel: tuple[str, Path]) -> None:
    url, _ = keel
    response = ask(url, PUBLIC, "chat", **{"x-keel-data-class": "restricted"})
    assert response.headers["x-keel-deployment"] == "fra"


def test_a_header_may_not_loosen_the_class(keel: tuple[str, Path]) -> None:
    url, _ = keel
    with pytest.raises(openai.PermissionDeniedError) as caught:
        ask(url, RESTRICTED, "chat", **{"x-keel-data-class": "public"})
    assert caught.value.code == "data_class_looser"
    with pytest.raises(openai.BadRequestError) as unknown:
        ask(url, PUBLIC, "chat", **{"x-keel-data-class": "secret"})
    assert "restricted" in unknown.value.message  # it lists the classes there are


@pytest.mark.parametrize("stream", [False, True])
def test_when_the_only_allowed_region_is_down_the_call_fails_and_never_goes_elsewhere(
    keel: tuple[str, Path], faults: str, stream: bool
) -> None:
    url, path = keel
    plan(faults, then="503")
    with pytest.raises(openai.APIStatusError) as caught:
        ask(url, RESTRICTED, "fragile", stream)
    assert caught.value.status_code == 502
    assert len(seen(faults)) == 1  # fra-down was tried; "us" was not
    request_id = caught.value.response.headers["x-request-id"]
    assert record(path, request_id)["deployment"] is None
    # The same model for public data fails over to the US deployment as usual.
    assert ask(url, PUBLIC, "fragile", stream).headers["x-keel-deployment"] == "us"
    assert httpx.get(url + "/healthz").status_code == 200
