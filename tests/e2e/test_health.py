"""Health: an active probe takes a down deployment out of rotation before a client request fails
there, and a recovered one gets its traffic back; with passive health only, a primary that is
down for a while costs the client no answer."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.conftest import attempts, fault_config, plan, seen
from tests.e2e.procs import run_keel

KEY = "sk-health"
CHAT = "/v1/chat/completions"
PROBED = {"probe": True, "interval_s": 0.2, "timeout_s": 0.5, "unhealthy_after": 2}
TEXT = "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7"  # what flaky answers


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory, faults: str) -> Iterator[tuple[str, Path]]:
    # A short cooldown: were the hold not kept, the breaker's half-open request would reach flaky.
    config = fault_config(faults, KEY, health=PROBED, breaker={"cooldown_s": 0.2})
    with run_keel(tmp_path_factory.mktemp("keel"), config) as (url, _, path):
        yield url, path


@pytest.fixture(scope="module")
def passive(tmp_path_factory: pytest.TempPathFactory, faults: str) -> Iterator[str]:
    config = fault_config(faults, KEY, breaker={"failures": 2, "window_s": 30, "cooldown_s": 0.5})
    with run_keel(tmp_path_factory.mktemp("keel"), config) as (url, _, _):
        yield url


def control(faults: str, spec: dict[str, Any]) -> None:
    httpx.post(faults + "/_faults", json=spec).raise_for_status()


def chats(faults: str) -> list[dict[str, Any]]:
    return [entry for entry in seen(faults) if entry["path"] == CHAT]


def ask(url: str, stream: bool = False) -> httpx.Response:
    body = {"model": "duo", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"authorization": f"Bearer {KEY}"}
    response = httpx.post(url + CHAT, json=body, headers=headers, timeout=10)
    assert response.status_code == 200
    if stream:
        assert response.text.rstrip().endswith("data: [DONE]")
    return response


def flaky(url: str) -> dict[str, Any]:
    state: dict[str, Any] = httpx.get(url + "/readyz").json()["deployments"]["flaky"]
    return state


def up_gauge(url: str) -> float:
    line = 'keel_deployment_up{deployment="flaky"} '
    text = httpx.get(url + "/metrics").text
    return float(next(x for x in text.splitlines() if x.startswith(line)).rsplit(" ", 1)[1])


def within(seconds: float, check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} took longer than {seconds}s"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("down", "reason", "up"),
    [({"models": "503"}, "HTTP 503", {"models": "ok"}),
     ({"models": {"name": "down_for", "seconds": 2}}, "connection", None)],
    ids=["503-then-ok", "down_for"],
)  # fmt: skip
def test_a_probe_takes_a_down_deployment_out_and_brings_it_back(
    probed: tuple[str, Path], faults: str, down: dict[str, Any], reason: str, up: Any
) -> None:
    url, path = probed
    plan(faults)  # chats answer; the model list too
    within(2, lambda: flaky(url)["up"], "flaky up at the start")
    assert ask(url).headers["x-keel-deployment"] == "flaky"

    control(faults, down)
    down_at = time.monotonic()
    within(1.2, lambda: not flaky(url)["up"], "the probe marking flaky down")
    state = flaky(url)
    assert (state["probe"], state["breaker"]) == ("down", "open")
    assert state["reason"].startswith(reason)
    assert httpx.get(url + "/readyz").status_code == 200  # backup still serves
    assert up_gauge(url) == 0.0

    sent = len(chats(faults))
    for stream in (False, True, False, True):
        response = ask(url, stream)
        assert response.headers["x-keel-deployment"] == "backup"
        # flaky is skipped, as an open breaker is: recorded, but nothing was sent there
        assert attempts(path, response.headers["x-request-id"]) == [
            ("flaky", "circuit_open"),
            ("backup", None),
        ]
        time.sleep(0.1)  # four of these outlast the cooldown
    assert len(chats(faults)) == sent  # not one client request reached flaky

    if up is not None:
        control(faults, up)
    recovered_at = time.monotonic() if up is not None else down_at + 2
    back_within = recovered_at + 2 - time.monotonic()
    within(back_within, lambda: ask(url).headers["x-keel-deployment"] == "flaky", "traffic back")
    assert flaky(url) == {"up": True, "breaker": "closed", "probe": "up"}
    assert up_gauge(url) == 1.0
    log = (path.parent / "keel.log").read_text()
    assert f"deployment flaky is down ({reason}" in log
    assert "deployment flaky is up again" in log


def test_the_up_gauge_is_right_under_two_workers(tmp_path: Path, faults: str) -> None:
    plan(faults)
    control(faults, {"models": "ok"})
    config = fault_config(faults, KEY, health=PROBED)
    with run_keel(tmp_path, config, None, "--workers", "2") as (url, _, _):
        assert up_gauge(url) == 1.0
        control(faults, {"models": "503"})
        within(2, lambda: up_gauge(url) == 0.0, "the gauge showing flaky down")
        control(faults, {"models": "ok"})
        within(2, lambda: up_gauge(url) == 1.0, "the gauge showing flaky up (both workers)")


def sdk_ask(client: openai.OpenAI, stream: bool) -> tuple[str, str]:
    """(deployment, whole answer) for one request; fails unless the answer is complete."""
    messages: Any = [{"role": "user", "content": "hi"}]
    if not stream:
        raw = client.chat.completions.with_raw_response.create(model="duo", messages=messages)
        done = raw.parse()
        assert done.choices[0].finish_reason in ("stop", "length")
        return raw.headers["x-keel-deployment"], done.choices[0].message.content or ""
    with client.chat.completions.with_streaming_response.create(
        model="duo", messages=messages, stream=True
    ) as response:
        deployment = response.headers["x-keel-deployment"]
        chunks = list(response.parse())
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    return deployment, "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_a_primary_down_for_a_while_costs_no_answer_and_gets_its_traffic_back(
    passive: str, faults: str
) -> None:
    plan(faults, then={"name": "down_for", "seconds": 2})
    down_at = time.monotonic()
    served: list[tuple[float, str]] = []
    with openai.OpenAI(base_url=passive + "/v1", api_key=KEY, max_retries=0) as client:
        while [d for _, d in served[-3:]] != ["flaky"] * 3:
            assert time.monotonic() - down_at < 6, (
                f"flaky never got its traffic back: {served[-3:]}"
            )
            deployment, text = sdk_ask(client, stream=len(served) % 2 == 1)
            assert text == TEXT if deployment == "flaky" else text, (deployment, text)
            served.append((time.monotonic() - down_at, deployment))
            time.sleep(0.05)
    back_at = next(t for t, d in served if d == "flaky")
    assert served[0][1] == "backup" and back_at >= 1.9
    assert back_at < 2 + 1.5  # the breaker's next half-open request found it well
    assert all(d == "backup" for t, d in served if t < 1.9)
    assert {e["fault"] for e in chats(faults)} == {"down_for", "ok"}
    assert httpx.get(passive + "/healthz").json() == {"status": "ok"}
    assert flaky(passive) == {"up": True, "breaker": "closed", "probe": "off"}
