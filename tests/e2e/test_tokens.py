"""JWT bearer tokens from an OIDC issuer, checked against its JWKS: good ones let the caller in
as the team its claim names; every kind of bad one is refused with a 401 that says why."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import openai
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.e2e.procs import free_port, run_keel, run_process, sim_config

ISSUER, AUDIENCE = "https://login.example.test/", "keel"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    public: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "use": "sig", "alg": "RS256"}


def token(key: rsa.RSAPrivateKey, kid: str = "k1", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "ada", "team": "t", "iat": now,
            "exp": now + 300, **claims}  # fmt: skip
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    """A token made by hand: alg none (no signature), or an HMAC keyed with ``secret``."""
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    if secret is None:
        return head + "."
    return head + "." + b64(hmac.new(secret, head.encode(), hashlib.sha256).digest())


@pytest.fixture(scope="module")
def keys() -> dict[str, rsa.RSAPrivateKey]:
    return {"k1": rsa_key(), "k2": rsa_key(), "stranger": rsa_key()}


@pytest.fixture(scope="module")
def issuer(
    tmp_path_factory: pytest.TempPathFactory, keys: dict[str, rsa.RSAPrivateKey]
) -> Iterator[tuple[str, Path]]:
    """The issuer's JWKS, served over HTTP by a real process from a folder we can rewrite."""
    root = tmp_path_factory.mktemp("issuer")
    (root / "jwks.json").write_text(json.dumps({"keys": [jwk(keys["k1"], "k1")]}))
    port = free_port()
    args = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
            "--directory", str(root)]  # fmt: skip
    with run_process(args, f"http://127.0.0.1:{port}/jwks.json", root / "server.log"):
        yield f"http://127.0.0.1:{port}/jwks.json", root / "jwks.json"


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory, issuer: tuple[str, Path]) -> Iterator[str]:
    config = sim_config("sk-unused")
    config["deployments"].append({**config["deployments"][0], "name": "s2"})
    config["models"]["other"] = ["s2"]
    config["auth"] = {"oidc": {"issuer": ISSUER, "audience": AUDIENCE, "jwks_url": issuer[0],
                               "jwks_cache_s": 600}}  # fmt: skip
    with run_keel(tmp_path_factory.mktemp("keel"), config) as (url, _, _):
        yield url


def chat(url: str, credential: str, model: str = "m") -> Any:
    with openai.OpenAI(base_url=url + "/v1", api_key=credential, max_retries=0) as client:
        return client.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": "hi"}]
        )


def refused(url: str, credential: str) -> openai.AuthenticationError:
    with pytest.raises(openai.AuthenticationError) as caught:
        chat(url, credential)
    assert credential not in caught.value.message  # a token is never echoed back
    return caught.value


def test_a_good_token_gets_in_as_its_team(keel: str, keys: dict[str, Any]) -> None:
    assert chat(keel, token(keys["k1"])).parse().choices[0].message.content


@pytest.mark.parametrize(
    ("claims", "code", "words"),
    [
        ({"exp": int(time.time()) - 3600}, "expired_token", "expired"),
        ({"nbf": int(time.time()) + 3600}, "token_not_yet_valid", "not valid yet"),
        ({"aud": "someone-else"}, "invalid_token", "audience"),
        ({"iss": "https://evil.example.test/"}, "invalid_token", "issuer"),
        ({"team": "nobody"}, "unknown_team", "no team"),
    ],
)
def test_bad_claims_are_refused(
    keel: str, keys: dict[str, Any], claims: dict[str, Any], code: str, words: str
) -> None:
    error = refused(keel, token(keys["k1"], **claims))
    assert error.code == code and words in error.message


def test_alg_none_is_refused(keel: str) -> None:
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "team": "t", "exp": time.time() + 60}
    error = refused(keel, unsigned({"alg": "none", "typ": "JWT", "kid": "k1"}, claims, None))
    assert "algorithm 'none'" in error.message


def test_an_hmac_signed_with_the_issuers_public_key_is_refused(
    keel: str, keys: dict[str, Any]
) -> None:
    public_pem = (
        keys["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "team": "t", "exp": time.time() + 60}
    error = refused(keel, unsigned({"alg": "HS256", "typ": "JWT", "kid": "k1"}, claims, public_pem))
    assert "HS256" in error.message


def test_an_unknown_kid_is_refused_and_a_forged_one_too(keel: str, keys: dict[str, Any]) -> None:
    assert "kid 'nope'" in refused(keel, token(keys["k1"], kid="nope")).message
    # A key of its own, under a kid the issuer does publish: the signature does not verify.
    assert "does not verify" in refused(keel, token(keys["stranger"], kid="k1")).message


def test_scopes_narrow_the_models(keel: str, keys: dict[str, Any]) -> None:
    scoped = token(keys["k1"], scope="openid keel:model:m")
    assert chat(keel, scoped).parse().choices
    with pytest.raises(openai.PermissionDeniedError):
        chat(keel, scoped, "other")


def test_a_rotated_key_is_fetched_when_a_token_names_it(
    keel: str, keys: dict[str, Any], issuer: tuple[str, Path]
) -> None:
    _, jwks = issuer
    jwks.write_text(json.dumps({"keys": [jwk(keys["k1"], "k1"), jwk(keys["k2"], "k2")]}))
    time.sleep(5.1)  # keel refetches on an unknown kid at most once every 5 s
    assert chat(keel, token(keys["k2"], kid="k2")).parse().choices
