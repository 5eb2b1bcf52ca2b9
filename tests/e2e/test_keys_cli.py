"""``keel keys`` against a running ``keel up``: made once, stored as a hash, revoked, expired."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import openai
import pytest

from tests.e2e.procs import keel_cli, run_keel

T = TypeVar("T")

SIM = {"ttft_ms": 0, "tokens_per_s": 10000, "output_tokens": 4}
CONFIG = {
    "server": {"key_cache_s": 0.2},
    "regions": {"eu": {}},
    "deployments": [
        {"name": "sim-a", "provider": "sim", "model": "sim-a", "region": "eu", "sim": SIM},
        {"name": "sim-b", "provider": "sim", "model": "sim-b", "region": "eu", "sim": SIM},
    ],
    "models": {"chat": ["sim-a"], "other": ["sim-b"]},
    "teams": {"alpha": {"models": ["*"]}, "beta": {"models": ["chat"]}},
}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("keys")
    with run_keel(tmp, CONFIG) as (url, _, path):
        yield url, path


def keys(config: Path, *args: str, check: bool = True) -> str:
    return keel_cli("keys", *args, "--config", str(config), check=check).stdout


def create(config: Path, team: str, *extra: str) -> tuple[str, str]:
    """Make a key; return (key, id)."""
    result = keel_cli("keys", "create", "--team", team, *extra, "--config", str(config))
    key = result.stdout.strip()
    assert result.stdout == key + "\n", "stdout must carry the key alone (for scripts)"
    key_id = result.stderr.split("id ", 1)[1].split(",", 1)[0]
    return key, key_id


def stored_keys(config: Path) -> list[sqlite3.Row]:
    with contextlib.closing(sqlite3.connect(config.parent / "keel.db")) as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute("SELECT * FROM api_keys"))


def chat(url: str, key: str, model: str = "chat") -> str:
    with openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=30) as client:
        answer = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=4
        )
    return answer.choices[0].message.content or ""


def refusal(url: str, key: str, model: str = "chat") -> openai.APIStatusError | None:
    try:
        chat(url, key, model)
    except openai.APIStatusError as exc:
        return exc
    return None


def eventually(probe: Callable[[], T | None], timeout: float = 20.0) -> T:
    """Poll until ``probe`` returns something (for caches and expiries, never a timing claim)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing happened within {timeout}s")
        time.sleep(0.2)


def test_create_shows_the_key_once_and_stores_only_its_hash(gateway: tuple[str, Path]) -> None:
    url, config = gateway
    key, key_id = create(config, "alpha", "--name", "billing-app")
    assert key.startswith("sk-keel-") and len(key) >= 40
    assert chat(url, key)  # usable at once, and used so the usage record exists too

    (row,) = [r for r in stored_keys(config) if r["id"] == key_id]
    assert row["hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert (row["team"], row["name"], row["revoked_at"], row["expires_at"]) == (
        "alpha", "billing-app", None, None,
    )  # fmt: skip
    secret = key.removeprefix("sk-keel-").encode()
    for file in config.parent.glob("keel.db*"):  # the database, its WAL and shared memory
        assert secret not in file.read_bytes(), f"plaintext key found in {file.name}"

    listing = keys(config, "list")
    assert key_id in listing and "billing-app" in listing and "active" in listing
    assert secret.decode() not in listing
    assert key[:12] in listing  # the prefix helps people tell keys apart


def test_list_filters_by_team(gateway: tuple[str, Path]) -> None:
    _, config = gateway
    _, alpha_id = create(config, "alpha")
    _, beta_id = create(config, "beta")
    beta_only = keys(config, "list", "--team", "beta")
    assert beta_id in beta_only and alpha_id not in beta_only
    everything = keys(config, "list")
    assert alpha_id in everything and beta_id in everything


def test_an_unknown_team_is_refused(gateway: tuple[str, Path]) -> None:
    _, config = gateway
    before = len(stored_keys(config))
    result = keel_cli("keys", "create", "--team", "gamma", "--config", str(config), check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "gamma" in result.stderr and "alpha" in result.stderr  # says which teams exist
    assert len(stored_keys(config)) == before


@pytest.mark.parametrize("expires", ["tomorrow", "30x", "2000-01-01", "-5d"])
def test_a_bad_or_past_expiry_is_refused(gateway: tuple[str, Path], expires: str) -> None:
    _, config = gateway
    result = keel_cli(
        "keys", "create", "--team", "alpha", "--expires", expires, "--config", str(config),
        check=False,
    )  # fmt: skip
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert expires in result.stderr


def test_expiry_as_a_date_or_a_duration(gateway: tuple[str, Path]) -> None:
    _, config = gateway
    _, dated = create(config, "alpha", "--expires", "2030-01-01")
    _, month = create(config, "alpha", "--expires", "30d")
    rows = {r["id"]: r for r in stored_keys(config)}
    assert rows[dated]["expires_at"] == datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    assert rows[month]["expires_at"] == pytest.approx(time.time() + 30 * 86400, abs=3600)
    assert "2030-01-01" in keys(config, "list")


def test_revoke_an_unknown_id(gateway: tuple[str, Path]) -> None:
    _, config = gateway
    result = keel_cli("keys", "revoke", "key_nope", "--config", str(config), check=False)
    assert result.returncode == 1
    assert "key_nope" in result.stderr and "keel keys list" in result.stderr


def test_a_revoked_key_is_refused_by_the_running_gateway(gateway: tuple[str, Path]) -> None:
    url, config = gateway
    key, key_id = create(config, "alpha")
    assert chat(url, key)
    assert key_id in keys(config, "revoke", key_id)
    error = eventually(lambda: refusal(url, key))
    assert error.status_code == 401 and error.code == "revoked_api_key"
    assert key_id in error.message
    listing = keys(config, "list")
    assert any(key_id in line and "revoked" in line for line in listing.splitlines())


def test_an_expired_key_is_refused(gateway: tuple[str, Path]) -> None:
    url, config = gateway
    key, key_id = create(config, "alpha", "--expires", "2s")
    error = eventually(lambda: refusal(url, key))
    assert error.status_code == 401 and error.code == "expired_api_key"
    assert key_id in error.message


def test_a_team_may_use_only_its_models(gateway: tuple[str, Path]) -> None:
    url, config = gateway
    key, _ = create(config, "beta")
    assert chat(url, key, "chat")
    error = refusal(url, key, "other")
    assert error is not None
    assert error.status_code == 403 and error.code == "model_not_allowed"
    assert "other" in error.message


def test_a_made_up_key_is_refused(gateway: tuple[str, Path]) -> None:
    url, _ = gateway
    error = refusal(url, "sk-keel-" + "x" * 43)
    assert error is not None and error.status_code == 401 and error.code == "invalid_api_key"


def test_the_key_never_reaches_the_gateway_log(gateway: tuple[str, Path]) -> None:
    url, config = gateway
    key, _ = create(config, "alpha")
    assert chat(url, key)
    error = refusal(url, key, "no-such-model")
    assert error is not None and error.status_code == 404
    log = (config.parent / "keel.log").read_text()
    assert key.removeprefix("sk-keel-") not in log


def test_a_project_tag_is_stored_listed_and_filtered(gateway: tuple[str, Path]) -> None:
    _, config = gateway
    result = keel_cli("keys", "create", "--team", "alpha", "--project", "support-bot",
                      "--config", str(config))  # fmt: skip
    key_id = result.stderr.split("id ", 1)[1].split(",", 1)[0]
    assert "project support-bot" in result.stderr
    _, other_id = create(config, "beta", "--project", "cv-parser")
    _, untagged_id = create(config, "alpha")
    rows = {r["id"]: r for r in stored_keys(config)}
    assert (rows[key_id]["project"], rows[untagged_id]["project"]) == ("support-bot", None)

    listing = keys(config, "list", "--project", "support-bot")
    assert key_id in listing and other_id not in listing and untagged_id not in listing
    line = next(line for line in listing.splitlines() if key_id in line)
    assert "support-bot" in line
    assert other_id in keys(config, "list", "--team", "beta", "--project", "cv-parser")
    assert key_id not in keys(config, "list", "--team", "beta", "--project", "support-bot")


@pytest.mark.parametrize(
    ("project", "words"),
    [("", "support-bot"), ("has space", "support-bot"), ("x" * 129, "at most 128"),
     ("-dash", "support-bot")],
)  # fmt: skip
def test_a_bad_project_tag_is_refused(gateway: tuple[str, Path], project: str, words: str) -> None:
    _, config = gateway
    before = len(stored_keys(config))
    result = keel_cli("keys", "create", "--team", "alpha", "--project", project,
                      "--config", str(config), check=False)  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    assert "project tag" in result.stderr and words in result.stderr
    assert len(stored_keys(config)) == before
