"""JWT bearer tokens from an OIDC issuer, checked against its JWKS: good ones let the caller in
as the team its claim names; every kind of bad one is refused with a 401 that says why."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import openai
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.e2e.conftest import record
from tests.e2e.procs import free_port, run_keel, run_process, sim_config
from tests.identity.jwts import ACCEPTED, ALGORITHMS, ATTACKS, AUDIENCE, ISSUER, Ring, make_ring


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


def test_a_sub_of_the_oidc_length_gets_in_and_a_longer_one_is_refused(
    keel: str, keys: dict[str, Any]
) -> None:
    assert chat(keel, token(keys["k1"], sub="s" * 255)).parse().choices[0].message.content
    error = refused(keel, token(keys["k1"], sub="s" * 300))
    assert error.code == "invalid_token"
    assert "'sub' claim is 300 characters long; keel accepts at most 255" in error.message


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


def test_scopes_sent_as_a_list_narrow_the_models_too(keel: str, keys: dict[str, Any]) -> None:
    scoped = token(keys["k1"], scope=["openid", "keel:model:m"])
    assert chat(keel, scoped).parse().choices
    with pytest.raises(openai.PermissionDeniedError):
        chat(keel, scoped, "other")
    error = refused(keel, token(keys["k1"], scope={"keel:model:m": True}))
    assert error.code == "invalid_scope"


def test_a_rotated_key_is_fetched_when_a_token_names_it(
    keel: str, keys: dict[str, Any], issuer: tuple[str, Path]
) -> None:
    _, jwks = issuer
    jwks.write_text(json.dumps({"keys": [jwk(keys["k1"], "k1"), jwk(keys["k2"], "k2")]}))
    time.sleep(5.1)  # keel refetches on an unknown kid at most once every 5 s
    assert chat(keel, token(keys["k2"], kid="k2")).parse().choices


# Hostile tokens, end to end: each is a 401 in OpenAI's shape that says why and what to do,
# never a 500, and each has its usage record, as every refusal does.

HOSTILE_KEY, ADMIN_KEY = "sk-hostile-key", "sk-hostile-admin"


@pytest.fixture(scope="module")
def ring() -> Ring:
    return make_ring()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, ring: Ring) -> Iterator[tuple[str, Path]]:
    """A keel whose issuer publishes keys of every kind (RSA, EC, Ed25519, encryption, unknown)."""
    tmp = tmp_path_factory.mktemp("hostile")
    (tmp / "jwks.json").write_text(json.dumps(ring.jwks))
    config = sim_config(HOSTILE_KEY)
    config["auth"] = {
        "oidc": {
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "algorithms": ALGORITHMS,
            "jwks_file": str(tmp / "jwks.json"),
        },
        "admin_keys": [ADMIN_KEY],
    }
    with run_keel(tmp, config) as (url, _, path):
        yield url, path


def post(url: str, headers: dict[str, str], path: str = "/v1/chat/completions") -> httpx.Response:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(url + path, json=body, headers=headers, timeout=60)


def refused_and_recorded(
    hostile: tuple[str, Path], headers: dict[str, str], status: int, code: str
) -> dict[str, Any]:
    """Send, check the answer is ``status`` with ``code`` in OpenAI's shape, and that its usage
    record says the same; the error, for further checks."""
    url, path = hostile
    request_id = f"hostile-{time.monotonic_ns()}"
    answer = post(url, {"x-request-id": request_id, **headers})
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert set(error) == {"message", "type", "code", "param"} and error["code"] == code
    assert len(answer.content) < 1000  # nothing the caller sent comes back at length
    row = record(path, answer.headers["x-request-id"])
    assert (row["status"], row["error"]) == (status, code)
    return error


@pytest.mark.parametrize(
    ("make", "code", "words"), [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS]
)
def test_a_hostile_token_is_a_401_that_says_why_and_is_recorded(
    hostile: tuple[str, Path], ring: Ring, make: Callable[[Ring], str], code: str, words: str
) -> None:
    token = make(ring)
    error = refused_and_recorded(hostile, {"authorization": f"Bearer {token}"}, 401, code)
    assert error["type"] == "authentication_error" and words in error["message"]
    assert "new token" in error["message"]  # what to do
    assert token not in error["message"]


@pytest.mark.parametrize("make", [a[1] for a in ACCEPTED], ids=[a[0] for a in ACCEPTED])
def test_tokens_issuers_really_send_get_in(
    hostile: tuple[str, Path], ring: Ring, make: Callable[[Ring], str]
) -> None:
    answer = post(hostile[0], {"authorization": f"Bearer {make(ring)}"})
    assert answer.status_code == 200, answer.text
    assert record(hostile[1], answer.headers["x-request-id"])["team"] == "t"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"authorization": "Basic dXNlcjpwYXNz"}, "missing_api_key"),  # not the Bearer scheme
        ({"authorization": "Token eyJhbGciOiJSUzI1NiJ9.e30.AA"}, "missing_api_key"),
        ({"authorization": "Bearer"}, "missing_api_key"),
        ({"authorization": "Bearer " + "eyJhbGciOiJSUzI1NiJ9." * 500}, "invalid_api_key"),
        ({"authorization": "Bearer WyJhbGciXQ.e30.AA"}, "invalid_api_key"),  # header a list
        ({"authorization": "Bearer ~~~!!!***"}, "invalid_api_key"),  # not base64
        ({"x-api-key": "eyJhbGciOiJub25lIn0.e30."}, "invalid_token"),  # alg none, another header
    ],
    ids=[
        "basic",
        "token-scheme",
        "bearer-alone",
        "500-segments",
        "list-header",
        "not-base64",
        "alg-none-in-x-api-key",
    ],
)
def test_credentials_that_are_no_token_are_a_401_too(
    hostile: tuple[str, Path], headers: dict[str, str], code: str
) -> None:
    error = refused_and_recorded(hostile, headers, 401, code)
    assert error["type"] == "authentication_error"


TOKEN_CAP = 16_384  # the most keel reads of a credential header


@pytest.mark.parametrize(
    ("name", "value", "limit"),
    [
        ("authorization", "Bearer eyJ" + "a" * 2_700_000, TOKEN_CAP),  # the 2.7 MB token
        ("authorization", "Bearer sk-" + "a" * TOKEN_CAP, TOKEN_CAP),
        ("x-api-key", "x" * 100_000, TOKEN_CAP),
        ("api-key", "x" * 100_000, TOKEN_CAP),
        ("x-request-id", "r" * 129, 128),
        ("x-keel-timeout", "1" * 100, 32),
        ("x-keel-data-class", "c" * 100_000, 256),
    ],
    ids=[
        "2.7MB-token",
        "just-over",
        "x-api-key",
        "api-key",
        "x-request-id",
        "x-keel-timeout",
        "x-keel-data-class",
    ],
)
def test_an_over_long_header_is_a_431_naming_the_limit(
    hostile: tuple[str, Path], name: str, value: str, limit: int
) -> None:
    headers = {"authorization": f"Bearer {HOSTILE_KEY}", name: value}
    error = refused_and_recorded(hostile, headers, 431, "header_too_large")
    assert error["param"] == name and f"at most {limit} bytes" in error["message"]


def test_a_credential_at_the_cap_is_read(hostile: tuple[str, Path]) -> None:
    token = "eyJ" + "a" * (TOKEN_CAP - len("Bearer eyJ") - 2) + ".."
    error = refused_and_recorded(
        hostile, {"authorization": f"Bearer {token}"}, 401, "invalid_token"
    )
    assert "well-formed" in error["message"]


def test_every_route_that_reads_a_credential_caps_it(hostile: tuple[str, Path]) -> None:
    url, _ = hostile
    huge = {"authorization": "Bearer " + "a" * 2_700_000}
    models = httpx.get(url + "/v1/models", headers=huge, timeout=60)
    feedback = post(url, huge, "/v1/feedback")
    admin = httpx.get(url + "/admin/keys", headers=huge, timeout=60)
    for answer in (models, feedback, admin):
        assert answer.status_code == 431, answer.text
        assert answer.json()["error"]["code"] == "header_too_large"


def test_the_openai_sdk_sees_the_431_as_what_it_is(hostile: tuple[str, Path]) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        chat(hostile[0], "sk-" + "a" * 20_000)
    assert caught.value.status_code == 431 and caught.value.code == "header_too_large"
    assert "at most 16384 bytes" in caught.value.message
