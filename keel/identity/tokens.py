"""JWT bearer tokens from an OIDC issuer, verified against the issuer's signing keys (JWKS).

Checked on every token: the signature, by a key of the issuer's JWKS chosen by ``kid``, with an
algorithm from the allow-list (asymmetric only: ``alg: none`` and an HMAC made with the
issuer's public key are refused); ``iss``; ``aud``; ``exp`` (required) and ``nbf``, with a small
leeway. The keys come from a file or a URL; fetched keys are kept for ``jwks_cache_s``, and a
token naming a key keel does not know makes it fetch again (the issuer rotated its keys), at
most once every few seconds so that forged ``kid``s cannot make keel hammer the issuer.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import orjson

from keel.config.security import OIDCConfig
from keel.errors import AuthenticationError

__all__ = ["TokenVerifier", "looks_like_jwt"]

_REFETCH_S = 5.0  # at most one fetch on unknown kids per this many seconds


def looks_like_jwt(credential: str) -> bool:
    return credential.startswith("eyJ") and credential.count(".") == 2


class TokenVerifier:
    def __init__(self, config: OIDCConfig) -> None:
        self.config = config
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -float("inf")
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or ``AuthenticationError`` saying what is wrong (never the token)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _refused("it is not a well-formed JWT") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self.config.algorithms:
            allowed = ", ".join(self.config.algorithms)
            raise _refused(f"its algorithm {alg!r} is not accepted (accepted: {allowed})")
        key = await self._key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=self.config.leeway_s,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise _refused("it has expired; get a new token", "expired_token") from None
        except jwt.ImmatureSignatureError:
            raise _refused("it is not valid yet (nbf)", "token_not_yet_valid") from None
        except jwt.InvalidAudienceError:
            raise _refused(f"its audience is not {self.config.audience!r}") from None
        except jwt.InvalidIssuerError:
            raise _refused(f"its issuer is not {self.config.issuer!r}") from None
        except jwt.PyJWTError as exc:
            raise _refused(f"it does not verify ({type(exc).__name__})") from None
        return claims

    async def _key(self, kid: Any) -> jwt.PyJWK:
        if not isinstance(kid, str):
            raise _refused("its header names no key (kid)")
        key = self._keys.get(kid)
        stale = time.monotonic() - self._fetched_at > self.config.jwks_cache_s
        if key is None or stale:
            await self._refresh(force=key is None)
            key = self._keys.get(kid)
        if key is None:
            raise _refused(f"it is signed with a key the issuer does not publish (kid {kid!r})")
        return key

    async def _refresh(self, force: bool) -> None:
        async with self._lock:
            since = time.monotonic() - self._fetched_at
            if since < _REFETCH_S or (not force and since <= self.config.jwks_cache_s):
                return
            self._fetched_at = time.monotonic()
            try:
                keys = jwt.PyJWKSet.from_dict(await self._load()).keys
            except (OSError, aiohttp.ClientError, TimeoutError, ValueError, jwt.PyJWTError) as e:
                if self._keys:  # keep serving with the keys keel has; say so in the log
                    return
                raise AuthenticationError(
                    f"keel cannot read the token issuer's keys ({type(e).__name__}). "
                    "Retry shortly; if it persists, tell your keel admin.",
                    code="jwks_unavailable",
                ) from None
            self._keys = {k.key_id: k for k in keys if k.key_id}

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


def _refused(why: str, code: str = "invalid_token") -> AuthenticationError:
    return AuthenticationError(f"The bearer token was refused: {why}.", code=code)
