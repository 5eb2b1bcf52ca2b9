"""API keys: made once, shown once, stored only as a SHA-256 hash.

Keys carry 256 bits of randomness, so a fast unsalted hash is safe to store: there is nothing
to brute-force. The hash is also the lookup index. ``create_checked`` holds a key's team,
models, data class and project against the config first (``keel keys`` and the admin API).
"""

from __future__ import annotations

import hashlib
import secrets
import time

from keel.config.schema import KeelConfig
from keel.identity.project import check_project
from keel.store.keys import KeyRecord, KeyStore
from keel.timeparse import parse_until

__all__ = ["create_checked", "create_key", "hash_key"]

KEY_PREFIX = "sk-keel-"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


async def create_key(
    store: KeyStore,
    team: str,
    name: str = "",
    expires_at: float | None = None,
    models: tuple[str, ...] = (),
    data_class: str | None = None,
    project: str | None = None,
) -> tuple[str, KeyRecord]:
    """Make a key for a team; return the key (to show once) and its stored record."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = KeyRecord(
        id="key_" + secrets.token_hex(6),
        team=team,
        name=name,
        prefix=key[: len(KEY_PREFIX) + 4],
        created_at=time.time(),
        expires_at=expires_at,
        revoked_at=None,
        models=",".join(models) or None,
        data_class=data_class,
        project=project,
    )
    await store.add_key(record, hash_key(key))
    return key, record


async def create_checked(
    store: KeyStore,
    config: KeelConfig,
    team: str,
    name: str,
    expires: str | None,
    models: tuple[str, ...] = (),
    data_class: str | None = None,
    project: str | None = None,
) -> tuple[str, KeyRecord]:
    """``create_key`` after checking every choice against the config (ValueError says why).

    ``project`` tags the key's calls with a use case; any valid name will do, since a
    project needs no entry in keel.yaml (budgets may match every project with "*")."""
    spec = config.teams.get(team)
    if spec is None:
        known = ", ".join(sorted(config.teams)) or "none"
        raise ValueError(f"no team {team!r} in the config (teams: {known})")
    expires_at = parse_until(expires) if expires else None
    if expires_at is not None and expires_at <= time.time():
        raise ValueError(f"expiry {expires!r} is in the past")
    for model in models:
        if model not in config.models or not spec.may_use(model):
            raise ValueError(f"team {team} may not use a model {model!r} (see its models)")
    if data_class is not None:
        _check_class(config, spec.data_class, data_class)
    if project is not None:
        check_project(project)
    return await create_key(store, team, name, expires_at, models, data_class, project)


def _check_class(config: KeelConfig, team_class: str | None, data_class: str) -> None:
    chosen = config.data_classes.get(data_class)
    if chosen is None:
        known = ", ".join(sorted(config.data_classes)) or "none"
        raise ValueError(f"no data class {data_class!r} in the config (data_classes: {known})")
    if team_class is not None and not chosen.at_least_as_strict_as(config.data_classes[team_class]):
        raise ValueError(
            f"data class {data_class!r} is looser than the team's {team_class!r}: "
            "a key may only narrow what its team may do"
        )
