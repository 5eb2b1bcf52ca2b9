"""``keel models list/show/lineage/alias/archive --server``: the same answers as from the
store, through a running gateway's admin API (``/admin/models``): no store access needed."""

from __future__ import annotations

import urllib.parse
from typing import Any

from keel.commands.keys import AdminClient, RemoteError
from keel.store.models import AliasEvent, ModelAlias, ModelVersion

__all__ = ["RemoteModels"]

_VERSION_FIELDS = frozenset(ModelVersion.__dataclass_fields__)


class RemoteModels(AdminClient):
    """The model commands' back end over ``/admin/models``; refusals are ``RemoteError``."""

    def list_models(self) -> tuple[list[ModelVersion], list[ModelAlias]]:
        versions: list[ModelVersion] = []
        aliases: list[ModelAlias] = []
        for summary in self._call("GET", "/admin/models")["data"]:
            found, named = self._detail(summary["name"])
            versions += found
            aliases += named
        return versions, aliases

    def show(self, ref: str) -> tuple[ModelVersion, list[str]]:
        """The version ``NAME@ALIAS``, ``NAME:VERSION`` or ``NAME`` (latest live) names."""
        if "@" in ref:
            name, alias_name = ref.split("@", 1)
        else:
            name, _, number = ref.rpartition(":") if ":" in ref else (ref, "", "")
            alias_name = ""
        versions, aliases = self._detail(name)
        if alias_name:
            wanted = next((a.version for a in aliases if a.alias == alias_name), None)
            if wanted is None:
                raise RemoteError(f"{name} has no alias {alias_name!r} (keel models lineage)")
        elif number:
            wanted = int(number) if number.isdigit() else -1
        else:
            live = [v.version for v in versions if v.archived_at is None]
            wanted = live[-1] if live else -1
        found = next((v for v in versions if v.version == wanted), None)
        if found is None:
            raise RemoteError(f"no such version: {ref!r} (see keel models lineage {name})")
        return found, [a.alias for a in aliases if a.version == found.version]

    def alias(self, name: str, alias_name: str, version: int, why: str = "") -> AliasEvent:
        path = f"/admin/models/{_quote(name)}/aliases/{_quote(alias_name)}"
        answer = self._call("POST", path, {"version": version, "why": why})
        return AliasEvent(**answer)

    def archive(self, name: str, version: int) -> ModelVersion:
        path = f"/admin/models/{_quote(name)}/versions/{version}/archive"
        return _version(self._call("POST", path))

    def lineage(self, name: str) -> tuple[list[ModelVersion], list[ModelAlias], list[AliasEvent]]:
        versions, aliases = self._detail(name)
        events = self._call("GET", f"/admin/models/{_quote(name)}/lineage")["events"]
        return versions, aliases, [AliasEvent(**e) for e in events]

    def _detail(self, name: str) -> tuple[list[ModelVersion], list[ModelAlias]]:
        detail = self._call("GET", f"/admin/models/{_quote(name)}")
        versions = [_version(v) for v in detail["versions"]]
        aliases = [ModelAlias(name, a, v) for a, v in sorted(detail["aliases"].items())]
        return versions, aliases


def _version(item: dict[str, Any]) -> ModelVersion:
    return ModelVersion(**{k: v for k, v in item.items() if k in _VERSION_FIELDS})


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")
