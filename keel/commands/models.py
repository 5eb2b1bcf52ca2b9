"""``keel models``: register model versions (artifact stored by content, format, signature,
training statistics, metrics), list and show them, move aliases, show lineage, archive."""

from __future__ import annotations

import getpass
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from keel.config.schema import KeelConfig
from keel.registry import catalog
from keel.registry.artifacts import ArtifactStore, artifact_root
from keel.registry.formats import detect
from keel.registry.training import training_stats
from keel.store import opened_store
from keel.store.models import AliasEvent, ModelAlias, ModelVersion
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
    catalog.check_name("model name", name)
    detected = detect(artifact, trusted)
    measured = _metrics(metrics) if metrics is not None else {}
    training = training_stats(train_data) if train_data is not None else None
    sha256 = ArtifactStore(artifact_root(config)).put(artifact)
    async with opened_store(config.store.url) as store:
        return await catalog.register(
            store,
            name,
            sha256,
            detected,
            creator=creator(),
            metrics=measured,
            training=training,
            tags=tags,
            description=description,
            code_version=_git_commit(),
        )


async def list_models(config: KeelConfig) -> tuple[list[ModelVersion], list[ModelAlias]]:
    async with opened_store(config.store.url) as store:
        return await store.model_versions(), await store.model_aliases()


async def show(config: KeelConfig, ref: str) -> tuple[ModelVersion, list[str]]:
    """The version ``NAME@ALIAS``, ``NAME:VERSION`` or ``NAME`` (its latest live version)
    names, and the aliases naming it."""
    async with opened_store(config.store.url) as store:
        found = await catalog.resolve(store, ref)
        aliases = await store.model_aliases(found.name)
    return found, [a.alias for a in aliases if a.version == found.version]


async def alias(
    config: KeelConfig, name: str, alias_name: str, version: int, why: str = ""
) -> AliasEvent:
    """Point ``name@alias_name`` at a live version, recorded with who and why."""
    async with opened_store(config.store.url) as store:
        return await catalog.alias(store, name, alias_name, version, creator(), why)


async def lineage(
    config: KeelConfig, name: str
) -> tuple[list[ModelVersion], list[ModelAlias], list[AliasEvent]]:
    async with opened_store(config.store.url) as store:
        found = await catalog.lineage(store, name)
    return found.versions, found.aliases, found.events


async def archive(config: KeelConfig, name: str, version: int) -> ModelVersion:
    """Archive a version no alias names (it stays on record; aliases can no longer name it)."""
    async with opened_store(config.store.url) as store:
        return await catalog.archive(store, name, version)


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
    """The version's record as JSON, with its aliases and the model's live rollout (the
    drift reference's packed sample shown by its size, not its bytes)."""
    body = version.as_dict() | {"aliases": aliases, "rollout": rollout}
    reference = (body.get("training") or {}).get("reference")
    if isinstance(reference, dict):
        packed = orjson.dumps(reference)
        body["training"] = body["training"] | {
            "reference": {
                "format": reference.get("format"),
                "rows": reference.get("rows"),
                "columns": len(reference.get("columns", {})),
                "bytes": len(packed),
            }
        }
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
