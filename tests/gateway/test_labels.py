"""``POST /v2/models/{model}/feedback``: labels recorded for the caller's own calls to the model,
refused (one 404 message) for another team's, another model's or nobody's; bad bodies and
missing keys refused in the Open Inference Protocol's error shape; bulk labels keep the good."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from keel.config.schema import KeelConfig
from keel.gateway.app import create_app
from keel.gateway.labels import MAX_LABELS
from keel.store import opened_store
from tests.store.conftest import make_row

KEY, OTHER = "sk-team-labels-0123456789abcdef", "sk-team-other-0123456789abcdef"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'keel.db'}"
    config = KeelConfig.model_validate({
        "server": {"access_log": False},
        "store": {"url": url},
        "regions": {"local": {}},
        "deployments": [{"name": "s", "provider": "sim", "model": "sim", "region": "local"}],
        "models": {"m": ["s"]},
        "teams": {"t": {"api_keys": [KEY]}, "u": {"api_keys": [OTHER]}},
    })  # fmt: skip

    async def calls() -> None:
        async with opened_store(url) as store:
            await store.write([
                make_row(request_id="mine", team="t", model="clf", endpoint="infer"),
                make_row(request_id="canary", team="t", model="clf@challenger", endpoint="infer"),
                make_row(request_id="theirs", team="u", model="clf", endpoint="infer"),
                make_row(request_id="elsewhere", team="t", model="fraud", endpoint="infer"),
            ])  # fmt: skip

    asyncio.run(calls())
    with TestClient(create_app(config)) as http:
        yield http


def post(client: TestClient, body: Any, key: str | None = KEY, model: str = "clf") -> Any:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    send = {"content": body} if isinstance(body, bytes) else {"json": body}
    return client.post(f"/v2/models/{model}/feedback", headers=headers, **send)


def stored(tmp_path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "keel.db") as conn:
        return conn.execute(
            "SELECT request_id, row_index, label, model, team, source FROM labels ORDER BY seq"
        ).fetchall()


def test_a_label_of_the_callers_call_is_recorded(client: TestClient, tmp_path: Path) -> None:
    answer = post(client, {"request_id": "mine", "label": 1})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"recorded": 1, "model": "clf"}
    answer = post(client, {"request_id": "canary", "label": "benign", "row": 3})
    assert answer.status_code == 200, answer.text
    assert stored(tmp_path) == [
        ("mine", 0, "1", "clf", "t", "api"),
        ("canary", 3, "benign", "clf", "t", "api"),  # clf@challenger is a call to clf
    ]


@pytest.mark.parametrize("rid", ["theirs", "elsewhere", "nobody"])
def test_another_teams_models_or_nobodys_id_is_one_404(
    client: TestClient, tmp_path: Path, rid: str
) -> None:
    answer = post(client, {"request_id": rid, "label": 1})
    assert answer.status_code == 404
    assert answer.json() == {
        "error": f"No call of your team to 'clf' has the id {rid!r}. Send the x-request-id of "
        "an answer this model gave your team."
    }
    assert stored(tmp_path) == []


def test_no_key_or_a_wrong_one_is_401(client: TestClient) -> None:
    for key in (None, "sk-nope"):
        answer = post(client, {"request_id": "mine", "label": 1}, key=key)
        assert answer.status_code == 401 and set(answer.json()) == {"error"}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not JSON"),
        ([1, 2], "JSON object"),
        ({"request_id": "mine"}, "label must be"),
        ({"request_id": "mine", "label": {"a": 1}}, "label must be"),
        ({"request_id": "mine", "label": 1, "row": -1}, "row must be"),
        ({"request_id": "mine", "label": 1, "row": "x"}, "row must be"),
        ({"request_id": "", "label": 1}, "request_id must be"),
        ({"labels": []}, "'labels' must be a list"),
        ({"labels": [{}] * (MAX_LABELS + 1)}, "'labels' must be a list"),
    ],
)
def test_bad_bodies_are_400_and_say_what_to_send(
    client: TestClient, tmp_path: Path, body: Any, says: str
) -> None:
    answer = post(client, body)
    assert answer.status_code == 400, answer.text
    assert says in answer.json()["error"]
    assert stored(tmp_path) == []


def test_a_too_large_body_is_413(client: TestClient) -> None:
    answer = post(client, b"{" + b" " * (300 * 1024) + b"}")
    assert answer.status_code == 413


def test_bulk_labels_keep_the_good_and_name_the_bad(client: TestClient, tmp_path: Path) -> None:
    body = {"labels": [
        {"request_id": "mine", "label": 0, "row": 0},
        {"request_id": "theirs", "label": 1},
        "no",
        {"request_id": "mine", "label": 1, "row": 1},
        {"request_id": "mine", "row": 2},
    ]}  # fmt: skip
    answer = post(client, body)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["recorded"] == 2
    assert [r["index"] for r in got["rejected"]] == [1, 2, 4]
    assert "No call of your team" in got["rejected"][0]["error"]
    assert "JSON object" in got["rejected"][1]["error"]
    assert [row[:3] for row in stored(tmp_path)] == [("mine", 0, "0"), ("mine", 1, "1")]
