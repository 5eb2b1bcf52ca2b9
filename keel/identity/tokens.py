"""JWT bearer tokens from an OIDC issuer, verified against the issuer's signing keys (JWKS).

Checked on every token: a header keel can honour (no ``crit``; an access token's ``typ``); an
algorithm from the allow-list (asymmetric only: ``alg: none`` and an HMAC made with the
issuer's public key are refused) that fits the key its ``kid`` names (``keel.identity.jwks``);
the signature; ``iss``; ``aud``; ``exp`` (required), ``nbf`` and ``iat``, each a JSON number,
with a small leeway. Every refusal is an ``AuthenticationError`` (401) that says what is wrong,
never the token itself. The keys come from a file or a URL; fetched keys are kept for
``jwks_cache_s``, and a token naming a key keel does not know makes it fetch again (the issuer
rotated its keys), at most once every few seconds so that forged ``kid``s cannot make keel
hammer the issuer.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import orjson

from keel.config.security import OIDCConfig
from keel.errors import AuthenticationError
from keel.identity.jwks import SigningKey, fitting, parse_jwks

__all__ = ["TokenVerifier", "looks_like_jwt"]

log = logging.getLogger("keel.identity")

_REFETCH_S = 5.0  # at most one fetch on unknown kids per this many seconds
_WHAT_TO_DO = (
    " Get a new token from your identity provider; if a new one is refused too, ask your keel "
    "admin to check auth.oidc in keel.yaml."
)


def looks_like_jwt(credential: str) -> bool:
    return credential.startswith("eyJ") and credential.count(".") == 2


class TokenVerifier:
    def __init__(self, config: OIDCConfig) -> None:
        self.config = config
        self._keys: dict[str, tuple[SigningKey, ...]] = {}
        self._fetched_at = -float("inf")
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or ``AuthenticationError`` saying what is wrong (never the token)."""
        header = _header(token)
        alg = header.get("alg")
        if alg not in self.config.algorithms:
            allowed = ", ".join(self.config.algorithms)
            raise _refused(f"its algorithm {_short(alg)} is not accepted (accepted: {allowed})")
        key, refusal = fitting(await self._named(header.get("kid")), alg)
        if refusal is not None:
            raise _refused(refusal)
        claims = self._decode(token, key, alg)
        _check_times(claims, self.config.leeway_s)
        return claims

    def _decode(self, token: str, key: SigningKey, alg: str) -> dict[str, Any]:
        """The claims, once the signature, ``iss`` and ``aud`` verify. The times are checked
        after, by ``_check_times``: PyJWT reads ``"exp": "9999999999"`` as a number."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.config.audience,
                issuer=self.config.issuer,
                options={
                    "require": ["exp", "iss", "aud"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidAudienceError:
            raise _refused(f"its audience is not {self.config.audience!r}") from None
        except jwt.InvalidIssuerError:
            raise _refused(f"its issuer is not {self.config.issuer!r}") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _refused(f"it has no {exc.claim!r} claim") from None
        except jwt.exceptions.InvalidSubjectError:
            raise _refused("its 'sub' claim is not a string") from None
        except jwt.InvalidSignatureError:
            raise _refused(f"its signature does not verify with key {_short(key.kid)}") from None
        except jwt.DecodeError:
            raise _refused("its claims are not a JSON object") from None
        except jwt.PyJWTError as exc:
            raise _refused(f"it does not verify ({type(exc).__name__})") from None
        except (TypeError, ValueError) as exc:
            # The key fits the algorithm (checked above), so this is a case PyJWT does not
            # foresee; a caller keel does not know yet still gets a 401, never a 500.
            log.warning("token check failed in PyJWT: %s", type(exc).__name__)
            raise _refused(f"it does not verify ({type(exc).__name__})") from None
        return claims

    async def _named(self, kid: Any) -> tuple[SigningKey, ...]:
        """The keys the issuer publishes under ``kid`` (fetched again if there are none)."""
        if not isinstance(kid, str):
            raise _refused("its header names no key (kid)")
        keys = self._keys.get(kid)
        stale = time.monotonic() - self._fetched_at > self.config.jwks_cache_s
        if keys is None or stale:
            await self._refresh(force=keys is None)
            keys = self._keys.get(kid)
        if keys is None:
            raise _refused(
                f"it is signed with a key the issuer does not publish (kid {_short(kid)})"
            )
        return keys

    async def _refresh(self, force: bool) -> None:
        async with self._lock:
            since = time.monotonic() - self._fetched_at
            if since < _REFETCH_S or (not force and since <= self.config.jwks_cache_s):
                return
            self._fetched_at = time.monotonic()
            try:
                keys = parse_jwks(await self._load())
            except (OSError, aiohttp.ClientError, TimeoutError, ValueError) as e:
                if self._keys:  # keep serving with the keys keel has; say so in the log
                    log.warning("token issuer's keys not refreshed: %s", type(e).__name__)
                    return
                raise AuthenticationError(
                    f"keel cannot read the token issuer's keys ({type(e).__name__}). "
                    "Retry shortly; if it persists, tell your keel admin.",
                    code="jwks_unavailable",
                ) from None
            self._keys = keys

    async def _load(self) -> dict[str, Any]:
        if self.config.jwks_file is not None:
            raw = await asyncio.to_thread(Path(self.config.jwks_file).read_bytes)
            data: dict[str, Any] = orjson.loads(raw)
            return data
        assert self.config.jwks_url is not None
        timeout = aiohttp.ClientTimeout(total=5)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(self.config.jwks_url) as response,
        ):
            response.raise_for_status()
            fetched: dict[str, Any] = orjson.loads(await response.read())
            return fetched


def _header(token: str) -> dict[str, Any]:
    """The token's header, if it is one keel can honour."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise _refused(f"it is not a well-formed JWT ({_cut(str(exc), 60)})") from None
    if "crit" in header or "b64" in header:  # RFC 7515 4.1.11: refuse what is not understood
        raise _refused(
            "it names critical header extensions (crit, b64), which keel does not support"
        )
    typ = header.get("typ")
    if typ is not None and not _access_token_type(typ):
        raise _refused(f"its typ {_short(typ)} is not an access token's (JWT or at+jwt)")
    return header


def _access_token_type(typ: Any) -> bool:
    """Whether ``typ`` is one an access token carries (RFC 9068, RFC 8725 3.11): other kinds of
    JWT an issuer signs (a logout or security event token) must not pass as a credential."""
    if not isinstance(typ, str):
        return False
    kind = typ.lower().removeprefix("application/")
    return kind in ("jwt", "jose") or kind.endswith("at+jwt")


def _check_times(claims: dict[str, Any], leeway: float) -> None:
    """``exp`` (required), ``nbf`` and ``iat`` are NumericDates (RFC 7519 2): JSON numbers of
    seconds since 1970. A string, boolean or non-finite number is refused, not coerced."""
    for name in ("exp", "nbf", "iat"):
        if name in claims and not _numeric(claims[name]):
            raise _refused(
                f"its {name!r} claim must be a number of seconds since 1970 (a NumericDate), "
                f"not {_json_kind(claims[name])}"
            )
    now = time.time()
    if claims["exp"] <= now - leeway:
        raise _refused("it has expired", "expired_token")
    if claims.get("nbf", now) > now + leeway:
        raise _refused("it is not valid yet (nbf)", "token_not_yet_valid")
    if claims.get("iat", now) > now + leeway:
        raise _refused(
            "it was issued in the future (iat): check the issuer's clock", "token_not_yet_valid"
        )


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _json_kind(value: Any) -> str:
    if isinstance(value, float):
        return "a number that is not finite"
    kinds = {str: "a string", bool: "true or false", type(None): "null", list: "a list"}
    return kinds.get(type(value), "an object")


def _short(value: Any) -> str:
    """A value from a token, quoted and cut short: it goes into an error message."""
    return _cut(repr(value), 40)


def _cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 3] + "..."


def _refused(why: str, code: str = "invalid_token") -> AuthenticationError:
    return AuthenticationError(f"The bearer token was refused: {why}.{_WHAT_TO_DO}", code=code)
