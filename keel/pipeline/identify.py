"""Stage 2, identify: the API key on the request becomes a ``Principal`` (team, key, models,
project).

Keys defined in config are hashed at start. Keys made with ``keel keys create`` live in the store
and are looked up there, then cached briefly: a revoked key stops working on every running
gateway within ``cache_ttl_s`` seconds.

A call that has its principal already was identified by this very stage, called early by its
edge (a chained Responses request reads its team's chain before the pipeline runs; a shadow
copy is its identified call's twin): it is not identified twice. Only this stage sets
``call.principal`` on a call from a client.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from keel.call import Call, Principal
from keel.config.schema import KeelConfig
from keel.errors import AuthenticationError
from keel.identity.keys import hash_key
from keel.identity.project import check_project
from keel.identity.tokens import TokenVerifier, looks_like_jwt
from keel.store.keys import KeyRecord, KeyStore

__all__ = ["MAX_USER_CLAIM", "Identify"]

# OpenID Connect Core 2: a `sub` is at most 255 ASCII characters; the records hold that much.
MAX_USER_CLAIM = 255

_NO_KEY = (
    "No API key. Send it as 'Authorization: Bearer <key>' (the OpenAI SDK's api_key). "
    "Ask your keel admin for one: keel keys create --team <team>."
)
_BAD_KEY = (
    "Invalid API key. Check that it was copied whole; keys are shown once when made "
    "(keel keys create --team <team>)."
)


class Identify:
    def __init__(self, config: KeelConfig, store: KeyStore, cache_ttl_s: float = 5.0) -> None:
        self.config = config
        self.store = store
        self.cache_ttl_s = cache_ttl_s
        self._config_keys: dict[str, Principal] = {}
        for team, spec in config.teams.items():
            for i, secret in enumerate(spec.api_keys, 1):
                principal = Principal(
                    team, f"config:{team}:{i}", tuple(spec.models), spec.data_class
                )
                self._config_keys[hash_key(secret.get_secret_value())] = principal
        self._cache: dict[str, tuple[float, KeyRecord | None]] = {}
        oidc = config.auth.oidc
        self.tokens = TokenVerifier(oidc) if oidc is not None else None
        self.anonymous: Principal | None = None
        if config.auth.none:
            anon = config.auth.anonymous_team
            anon_spec = config.teams[anon] if anon is not None else None
            self.anonymous = Principal(
                anon or "anonymous",
                "anonymous",
                tuple(anon_spec.models) if anon_spec is not None else ("*",),
                anon_spec.data_class if anon_spec is not None else None,
            )

    async def before(self, call: Call) -> None:
        if call.principal is not None:  # identified by this stage already (see above)
            return
        if not call.credential:
            if self.anonymous is not None:
                call.principal = self.anonymous
                return
            raise AuthenticationError(_NO_KEY, code="missing_api_key")
        if self.tokens is not None and looks_like_jwt(call.credential):
            call.principal = self._from_claims(await self.tokens.verify(call.credential))
            return
        digest = hash_key(call.credential)
        principal = self._config_keys.get(digest)
        if principal is None:
            principal = self._principal(await self._lookup(digest))
        call.principal = principal

    async def _lookup(self, digest: str) -> KeyRecord | None:
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        record = await self.store.find_key(digest)
        if len(self._cache) > 10_000:
            self._cache.clear()  # bounded: a flood of bad keys must not grow memory
        self._cache[digest] = (now + self.cache_ttl_s, record)
        return record

    def _principal(self, record: KeyRecord | None) -> Principal:
        if record is None:
            raise AuthenticationError(_BAD_KEY)
        now = time.time()
        if record.revoked_at is not None:
            raise AuthenticationError(
                f"API key {record.id} was revoked on {_day(record.revoked_at)}. "
                "Ask your keel admin for a new one.",
                code="revoked_api_key",
            )
        if record.expires_at is not None and record.expires_at <= now:
            raise AuthenticationError(
                f"API key {record.id} expired on {_day(record.expires_at)}. "
                "Ask your keel admin for a new one.",
                code="expired_api_key",
            )
        team = self.config.teams.get(record.team)
        if team is None:
            raise AuthenticationError(
                f"API key {record.id} belongs to team {record.team!r}, which is no longer "
                "configured. Ask your keel admin.",
                code="unknown_team",
            )
        models = tuple(team.models)
        if record.models:  # a scoped key: its models, of those its team may use
            models = tuple(m for m in record.models.split(",") if team.may_use(m))
        data_class = record.data_class or team.data_class
        return Principal(record.team, record.id, models, data_class, project=record.project)

    def _from_claims(self, claims: dict[str, Any]) -> Principal:
        """A verified token's caller: its team claim names a configured team; its scopes
        (``keel:model:<name>``, ``keel:data_class:<name>``) may only narrow what it allows."""
        assert self.config.auth.oidc is not None
        oidc = self.config.auth.oidc
        named = claims.get(oidc.team_claim)
        candidates = named if isinstance(named, list) else [named]
        team = next((t for t in candidates if isinstance(t, str) and t in self.config.teams), None)
        if team is None:
            raise AuthenticationError(
                f"The token's {oidc.team_claim!r} claim names no team keel knows. "
                "Ask your keel admin to add the team to keel.yaml.",
                code="unknown_team",
            )
        spec = self.config.teams[team]
        user = claims.get(oidc.user_claim)
        if isinstance(user, str) and len(user) > MAX_USER_CLAIM:
            raise AuthenticationError(
                f"The token's {oidc.user_claim!r} claim is {len(user)} characters long; keel "
                f"accepts at most {MAX_USER_CLAIM} (the OpenID Connect limit for 'sub'). Ask "
                "the admin of your identity provider to shorten it.",
                code="invalid_token",
            )
        scopes = _scopes(claims.get(oidc.scope_claim), oidc.scope_claim)
        models = tuple(s.removeprefix("keel:model:") for s in scopes if s.startswith("keel:model:"))
        classes = tuple(
            s.removeprefix("keel:data_class:") for s in scopes if s.startswith("keel:data_class:")
        )
        allowed = tuple(spec.models)
        if models:
            allowed = tuple(m for m in models if spec.may_use(m))
        return Principal(
            team,
            f"jwt:{user}" if isinstance(user, str) else "jwt",
            allowed,
            spec.data_class,
            user if isinstance(user, str) else None,
            classes or None,
            project=self._project_claim(claims),
        )

    def _project_claim(self, claims: dict[str, Any]) -> str | None:
        """The token's project tag, if keel is told which claim carries one. A malformed tag
        is refused, not dropped: its calls would silently escape the project's budget."""
        assert self.config.auth.oidc is not None
        name = self.config.auth.oidc.project_claim
        if name is None or claims.get(name) is None:
            return None
        tag = claims[name]
        try:
            if not isinstance(tag, str):
                raise ValueError(f"it is a {type(tag).__name__}, not a string")
            return check_project(tag)
        except ValueError as exc:
            raise AuthenticationError(
                f"The token's {name!r} claim is not a project tag keel accepts: {exc}. "
                "Ask the admin of your identity provider to fix the claim.",
                code="invalid_project",
            ) from None


def _scopes(claim: Any, name: str) -> list[str]:
    """The token's scopes: a space-separated string (RFC 8693 4.2) or, as some issuers send
    them, a list of strings. Anything else is refused: read as text, a list would narrow
    nothing, and a token meant for one model would get them all."""
    if claim is None:
        return []
    if isinstance(claim, str):
        return claim.split()
    if isinstance(claim, list) and all(isinstance(s, str) for s in claim):
        return [word for s in claim for word in s.split()]
    raise AuthenticationError(
        f"The token's {name!r} claim must be a string of space-separated scopes or a list of "
        "them. Ask the admin of your identity provider to fix the claim.",
        code="invalid_scope",
    )


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
