"""``keel models``: register model versions (artifact stored by content, format, signature,
training statistics, metrics), list and show them, move aliases, show lineage, archive."""

from __future__ import annotations

import getpass
import os
import re
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from keel.config.schema import KeelConfig
from keel.registry.artifacts import ArtifactStore, artifact_root
from keel.registry.formats import detect
from keel.registry.training import training_stats
from keel.store import opened_store
from keel.store.base import Store
from keel.store.models import AliasEvent, AliasMove, ModelAlias, ModelVersion
from keel.table import render_table

__all__ = [
    "alias",
    "archive",
    "creator",
    "lineage",
    "list_models",
    "register",
    "render_lineage",
    "render_models",
    "render_version",
    "show",
]

# Names and aliases appear in references (fraud@champion, fraud:3) and URLs.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


async def register(
    config: KeelConfig,
    name: str,
    artifact: Path,
    metrics: Path | None = None,
    train_data: Path | None = None,
    tags: dict[str, str] | None = None,
    description: str = "",
    trusted: bool = False,
) -> ModelVersion:
    """Read the artifact (refusing what is unsafe or unreadable), store it by content and
    record it as ``name``'s next version."""
    _check_name("model name", name)
    detected = detect(artifact, trusted)
    measured = _metrics(metrics) if metrics is not None else {}
    training = training_stats(train_data) if train_data is not None else None
    record = ModelVersion(
        name=name,
        sha256=ArtifactStore(artifact_root(config)).put(artifact),
        format=detected.format,
        signature=detected.signature(),
        creator=creator(),
        created_at=time.time(),
        metrics=measured,
        training=training,
        tags=tags or {},
        description=description,
        code_version=_git_commit(),
    )
    async with opened_store(config.store.url) as store:
        return await store.add_model_version(record)


async def list_models(config: KeelConfig) -> tuple[list[ModelVersion], list[ModelAlias]]:
    async with opened_store(config.store.url) as store:
        return await store.model_versions(), await store.model_aliases()


async def show(config: KeelConfig, ref: str) -> tuple[ModelVersion, list[str]]:
    """The version ``NAME@ALIAS``, ``NAME:VERSION`` or ``NAME`` (its latest live version)
    names, and the aliases naming it."""
    async with opened_store(config.store.url) as store:
        found = await _resolve(store, ref)
        aliases = await store.model_aliases(found.name)
    return found, [a.alias for a in aliases if a.version == found.version]


async def alias(
    config: KeelConfig, name: str, alias_name: str, version: int, why: str = ""
) -> AliasEvent:
    """Point ``name@alias_name`` at a live version, recorded with who and why."""
    _check_name("alias", alias_name)
    if alias_name.isdigit():
        raise ValueError(f"alias {alias_name!r} is all digits: it would read as a version")
    async with opened_store(config.store.url) as store:
        target = await _version(store, name, version)
        if target.archived_at is not None:
            raise ValueError(f"{name}:{version} is archived; an alias names a live version")
        return await store.move_model_alias(
            AliasMove(name, alias_name, version, creator(), why, time.time())
        )


async def lineage(
    config: KeelConfig, name: str
) -> tuple[list[ModelVersion], list[ModelAlias], list[AliasEvent]]:
    async with opened_store(config.store.url) as store:
        versions = await store.model_versions(name)
        if not versions:
            raise ValueError(f"no model named {name!r} (see keel models list)")
        return versions, await store.model_aliases(name), await store.model_alias_events(name)


async def archive(config: KeelConfig, name: str, version: int) -> ModelVersion:
    """Archive a version no alias names (it stays on record; aliases can no longer name it)."""
    async with opened_store(config.store.url) as store:
        await _version(store, name, version)
        naming = [a.alias for a in await store.model_aliases(name) if a.version == version]
        if naming:
            raise ValueError(
                f"{name}:{version} is named by {', '.join(naming)}: move "
                f"{'them' if len(naming) > 1 else 'it'} to another version first"
            )
        await store.archive_model_version(name, version, time.time())
        return await _version(store, name, version)


def creator() -> str:
    """Who is acting: ``$USER``, else the OS user."""
    return os.environ.get("USER") or getpass.getuser()


def render_models(versions: list[ModelVersion], aliases: list[ModelAlias]) -> str:
    if not versions:
        return "no models (register one: keel models register NAME ARTIFACT)"
    rows: list[tuple[str, ...]] = [("name", "versions", "latest", "format", "aliases")]
    by_name: dict[str, list[ModelVersion]] = {}
    for v in versions:
        by_name.setdefault(v.name, []).append(v)
    for name, group in by_name.items():
        latest = group[-1]
        named = ", ".join(f"{a.alias}={a.version}" for a in aliases if a.name == name) or "-"
        live = sum(v.archived_at is None for v in group)
        rows.append(
            (name, f"{live} live / {len(group)}", str(latest.version), latest.format, named)
        )
    return render_table(rows)


def render_version(
    version: ModelVersion, aliases: list[str], rollout: dict[str, Any] | None = None
) -> str:
    """The version's record as JSON, with its aliases and the model's live rollout."""
    body = version.as_dict() | {"aliases": aliases, "rollout": rollout}
    return orjson.dumps(body, option=orjson.OPT_INDENT_2).decode()


def render_lineage(
    versions: list[ModelVersion], aliases: list[ModelAlias], events: list[AliasEvent]
) -> str:
    rows: list[tuple[str, ...]] = [
        ("version", "sha256", "format", "created", "creator", "code", "aliases", "status")
    ]
    for v in versions:
        named = ", ".join(a.alias for a in aliases if a.version == v.version) or "-"
        status = "archived" if v.archived_at is not None else "live"
        rows.append(
            (
                str(v.version),
                v.sha256[:12],
                v.format,
                _when(v.created_at),
                v.creator,
                (v.code_version or "-")[:12],
                named,
                status,
            )
        )
    lines = [render_table(rows), "", "alias events:" if events else "no alias events"]
    for e in events:
        moved = f"{e.before} -> {e.after}" if e.before is not None else f"new -> {e.after}"
        why = f": {e.why}" if e.why else ""
        lines.append(f"  {_when(e.ts)}  {e.alias} {moved} by {e.who}{why}")
    return "\n".join(lines)


async def _resolve(store: Store, ref: str) -> ModelVersion:
    if "@" in ref:
        name, alias_name = ref.split("@", 1)
        for a in await store.model_aliases(name):
            if a.alias == alias_name:
                return await _version(store, name, a.version)
        raise ValueError(f"{name} has no alias {alias_name!r} (see keel models lineage {name})")
    if ":" in ref:
        name, number = ref.rsplit(":", 1)
        if not number.isdigit():
            raise ValueError(f"{ref!r}: give NAME:VERSION with a number, or NAME@ALIAS")
        return await _version(store, name, int(number))
    live = [v for v in await store.model_versions(ref) if v.archived_at is None]
    if not live:
        raise ValueError(f"no live version of a model named {ref!r} (see keel models list)")
    return live[-1]


async def _version(store: Store, name: str, version: int) -> ModelVersion:
    found = await store.model_version(name, version)
    if found is None:
        raise ValueError(f"no version {version} of model {name!r} (see keel models lineage)")
    return found


def _check_name(what: str, name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"{what} {name!r}: use letters, digits, '.', '_' and '-' (up to 128, starting "
            "with a letter or digit)"
        )


def _metrics(path: Path) -> dict[str, Any]:
    try:
        metrics = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"metrics {path}: {exc}") from None
    if not isinstance(metrics, dict):
        raise ValueError(f'metrics {path}: give a JSON object, e.g. {{"auc": 0.97}}')
    return metrics


def _git_commit() -> str | None:
    """The commit of the git repository the command runs in, if any."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else None


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")
