"""The admin API behind `keel keys --server`: only with an admin key; scoped keys it makes are
held to their models and data class; a key it revokes stops working on the running gateway."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.procs import run_keel, sim_config

ADMIN = "sk-admin-secret"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    config = sim_config("sk-config-key")
    base = config["deployments"][0]
    config["regions"] = {"here": {"trust": "on-prem"}, "there": {"trust": "public-cloud"}}
    config["deployments"] = [{**base, "name": "far", "region": "there"},
                             {**base, "name": "near", "region": "here"}]  # fmt: skip
    config["models"] = {"m": ["far", "near"], "other": ["far"]}
    config["data_classes"] = {"open": {"regions": ["here", "there"]},
                              "local": {"regions": ["here"]}}  # fmt: skip
    config["teams"]["t"]["data_class"] = "open"
    config["server"]["key_cache_s"] = 0.2
    config["auth"] = {"admin_keys": [ADMIN]}
    with run_keel(tmp_path_factory.mktemp("keel"), config) as (url, _, path):
        yield url, path


@pytest.fixture
def keel(gateway: tuple[str, Path]) -> str:
    return gateway[0]


@pytest.fixture
def config_path(gateway: tuple[str, Path]) -> Path:
    return gateway[1]


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KEEL_ADMIN_KEY": ADMIN}
    return subprocess.run([sys.executable, "-m", "keel", "keys", *args, "--server", url],
                          capture_output=True, text=True, timeout=60, env=env)  # fmt: skip


def ask(url: str, key: str, model: str = "m") -> Any:
    with openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0) as client:
        return client.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": "hi"}]
        )


def test_without_an_admin_key_the_api_refuses(keel: str) -> None:
    assert httpx.get(keel + "/admin/keys").status_code == 401
    wrong = httpx.get(keel + "/admin/keys", headers={"authorization": "Bearer sk-config-key"})
    assert wrong.status_code == 401  # an API key is not an admin key
    ok = httpx.get(keel + "/admin/teams", headers={"authorization": f"Bearer {ADMIN}"})
    assert ok.status_code == 200 and ok.json()["data"][0]["team"] == "t"


def test_a_scoped_key_made_through_the_server_is_held_to_its_scope(keel: str) -> None:
    made = cli(keel, "create", "--team", "t", "--name", "bot", "--models", "m",
               "--data-class", "local")  # fmt: skip
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert ask(keel, key).headers["x-keel-deployment"] == "near"  # local data stays here
    with pytest.raises(openai.PermissionDeniedError):
        ask(keel, key, "other")  # outside its models
    listed = cli(keel, "list", "--team", "t")
    assert "bot" in listed.stdout and key not in listed.stdout


def test_bad_key_requests_are_refused_and_write_nothing(keel: str) -> None:
    assert "no team 'nobody'" in cli(keel, "create", "--team", "nobody").stderr
    refused = cli(keel, "create", "--team", "t", "--models", "ghost")
    assert refused.returncode == 2 and "ghost" in refused.stderr
    assert "no data class" in cli(keel, "create", "--team", "t", "--data-class", "x").stderr


def test_a_key_revoked_through_the_server_stops_working(keel: str) -> None:
    key = cli(keel, "create", "--team", "t").stdout.strip()
    assert ask(keel, key).parse().choices
    listed = cli(keel, "list").stdout
    key_id = next(line.split()[0] for line in listed.splitlines() if key[:12] in line)
    assert cli(keel, "revoke", key_id).returncode == 0
    time.sleep(0.4)  # server.key_cache_s
    with pytest.raises(openai.AuthenticationError):
        ask(keel, key)
    assert cli(keel, "revoke", "key_missing").returncode == 1


def test_every_admin_action_is_audited_refused_ones_too(keel: str, config_path: Path) -> None:
    httpx.get(keel + "/admin/keys")  # refused: no admin key
    cli(keel, "create", "--team", "t", "--name", "audited")
    exported = subprocess.run(
        [sys.executable, "-m", "keel", "audit", "export", "--since", "1h", "--format", "jsonl",
         "--config", str(config_path)], capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    actions = [json.loads(line) for line in exported.splitlines()]
    admin = [(a["action"], a["outcome"]) for a in actions if a.get("kind") == "admin"]
    assert ("list_keys", "invalid_api_key") in admin and ("create_key", "done") in admin
    made = next(
        a for a in actions if a.get("action") == "create_key" and a.get("name") == "audited"
    )
    assert made["admin"] == "admin:1" and made["key_id"].startswith("key_")


def test_a_project_tag_goes_through_the_server(keel: str, config_path: Path) -> None:
    made = cli(keel, "create", "--team", "t", "--name", "tagged", "--project", "support-bot")
    assert made.returncode == 0, made.stderr
    assert "project support-bot" in made.stderr
    key = made.stdout.strip()
    request_id = ask(keel, key).headers["x-request-id"]
    with sqlite3.connect(config_path.parent / "keel.db") as conn:
        (project,) = conn.execute(
            "SELECT project FROM usage WHERE request_id = ?", (request_id,)
        ).fetchone()
    assert project == "support-bot"

    listed = cli(keel, "list", "--project", "support-bot")
    assert "tagged" in listed.stdout and "support-bot" in listed.stdout
    assert "tagged" not in cli(keel, "list", "--project", "elsewhere").stdout
    answer = httpx.get(keel + "/admin/keys", params={"team": "t", "project": "support-bot"},
                       headers={"authorization": f"Bearer {ADMIN}"})  # fmt: skip
    assert [k["project"] for k in answer.json()["data"]] == ["support-bot"]


@pytest.mark.parametrize(
    ("project", "words"), [("not valid!", "not a valid name"), (42, "must be a string")]
)
def test_a_bad_project_tag_is_a_400_saying_why(keel: str, project: Any, words: str) -> None:
    before = httpx.get(keel + "/admin/keys", headers={"authorization": f"Bearer {ADMIN}"})
    answer = httpx.post(keel + "/admin/keys", json={"team": "t", "project": project},
                        headers={"authorization": f"Bearer {ADMIN}"})  # fmt: skip
    assert answer.status_code == 400 and words in answer.json()["error"]["message"]
    after = httpx.get(keel + "/admin/keys", headers={"authorization": f"Bearer {ADMIN}"})
    assert len(after.json()["data"]) == len(before.json()["data"])
