"""Project tags end to end: a call made with a project-tagged key, or with a token whose
project claim names one, is recorded under that project; a malformed claim is refused."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import openai
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.e2e.procs import keel_cli, run_keel

ISSUER, AUDIENCE = "https://login.example.test/", "keel"


@pytest.fixture(scope="module")
def signer() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, sim_url: str, signer: rsa.RSAPrivateKey
) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("projects")
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signer.public_key()))
    (tmp / "jwks.json").write_text(json.dumps({"keys": [{**public, "kid": "k1"}]}))
    config = {
        "regions": {"eu": {}},
        "deployments": [{"name": "sim", "provider": "openai", "base_url": sim_url,
                         "model": "sim-remote", "region": "eu"}],
        "models": {"chat": ["sim"]},
        "teams": {"alpha": {}},
        "auth": {"oidc": {"issuer": ISSUER, "audience": AUDIENCE,
                          "jwks_file": str(tmp / "jwks.json"), "project_claim": "app"}},
    }  # fmt: skip
    with run_keel(tmp, config) as (url, _, path):
        yield url, path


def token(signer: rsa.RSAPrivateKey, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "ada", "team": "alpha", "exp": now + 300,
            **claims}  # fmt: skip
    return jwt.encode(body, signer, algorithm="RS256", headers={"kid": "k1"})


def new_key(config: Path, *extra: str) -> str:
    made = keel_cli("keys", "create", "--team", "alpha", *extra, "--config", str(config))
    return made.stdout.strip()


def call(url: str, credential: str, stream: bool = False) -> str:
    """Ask through the OpenAI SDK; return the request id keel answered with."""
    messages: Any = [{"role": "user", "content": "hi"}]
    with openai.OpenAI(base_url=url + "/v1", api_key=credential, max_retries=0) as client:
        if stream:
            with client.chat.completions.with_streaming_response.create(
                model="chat", messages=messages, stream=True
            ) as response:
                chunks = list(response.parse())  # the whole stream, [DONE] and all
                assert any(chunk.choices for chunk in chunks)
                return response.headers["x-request-id"]
        raw = client.chat.completions.with_raw_response.create(model="chat", messages=messages)
        assert raw.parse().choices[0].message.content
        return raw.headers["x-request-id"]


def recorded_project(config: Path, request_id: str) -> str | None:
    with contextlib.closing(sqlite3.connect(config.parent / "keel.db")) as conn:
        row = conn.execute(
            "SELECT project, team FROM usage WHERE request_id = ?", (request_id,)
        ).fetchone()
    assert row is not None and row[1] == "alpha", f"no usage record for {request_id}"
    project: str | None = row[0]
    return project


def test_a_tagged_keys_calls_are_recorded_under_its_project(gateway: tuple[str, Path]) -> None:
    url, config = gateway
    key = new_key(config, "--project", "support-bot")
    assert recorded_project(config, call(url, key)) == "support-bot"
    assert recorded_project(config, call(url, key, stream=True)) == "support-bot"
    untagged = new_key(config)
    assert recorded_project(config, call(url, untagged)) is None


def test_a_tokens_project_claim_is_recorded(
    gateway: tuple[str, Path], signer: rsa.RSAPrivateKey
) -> None:
    url, config = gateway
    assert recorded_project(config, call(url, token(signer, app="cv-parser"))) == "cv-parser"
    assert recorded_project(config, call(url, token(signer))) is None


@pytest.mark.parametrize(
    ("claim", "words"), [("has spaces", "not a valid name"), (7, "not a string")]
)
def test_a_malformed_project_claim_is_refused(
    gateway: tuple[str, Path], signer: rsa.RSAPrivateKey, claim: Any, words: str
) -> None:
    url, _ = gateway
    with pytest.raises(openai.AuthenticationError) as caught:
        call(url, token(signer, app=claim))
    assert caught.value.code == "invalid_project"
    assert "'app'" in caught.value.message and words in caught.value.message
