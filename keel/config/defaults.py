"""Shared defaults for deployments, and the ``x-`` keys that carry YAML anchors.

``deployment_defaults`` is merged into every deployment before validation: nested sections
(``timeouts``, ``breaker``, …) field by field, the deployment's own value winning. Which
fields came from the defaults is remembered, so a problem with one of them is reported once,
at the defaults block's line, not once per deployment.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULTS_KEY", "Origins", "apply_defaults", "from_defaults", "without_extensions"]

DEFAULTS_KEY = "deployment_defaults"

Path_ = tuple[str | int, ...]
#: Per deployment index, the field paths (relative to the deployment) taken from the defaults.
Origins = dict[int, set[Path_]]


def without_extensions(data: dict[str, Any]) -> dict[str, Any]:
    """The top level without ``x-`` keys: they exist only to hold YAML anchors."""
    return {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}


def apply_defaults(data: dict[str, Any]) -> tuple[dict[str, Any], Origins, list[tuple[Path_, str]]]:
    """``data`` with the defaults merged into each deployment, where each merged field came
    from, and what is wrong with the defaults block itself."""
    defaults = data.get(DEFAULTS_KEY)
    if defaults is None:
        return data, {}, []
    if not isinstance(defaults, dict):
        return data, {}, [((DEFAULTS_KEY,), "must be a mapping of deployment fields")]
    found: list[tuple[Path_, str]] = []
    if "name" in defaults:
        message = "each deployment needs its own name: set name on the deployments, not here"
        found.append(((DEFAULTS_KEY, "name"), message))
        defaults = {k: v for k, v in defaults.items() if k != "name"}
    deployments = data.get("deployments")
    if not isinstance(deployments, list):
        return data, {}, found
    origins: Origins = {}
    merged: list[Any] = []
    for i, deployment in enumerate(deployments):
        if not isinstance(deployment, dict):
            merged.append(deployment)
            continue
        taken: set[Path_] = set()
        merged.append(_merge(defaults, deployment, (), taken))
        origins[i] = taken
    return {**data, "deployments": merged}, origins, found


def from_defaults(path: Path_, origins: Origins) -> Path_ | None:
    """The defaults block's path for a problem at ``path``, if that field came from there."""
    if len(path) < 3 or path[0] != "deployments" or not isinstance(path[1], int):
        return None
    taken = origins.get(path[1], set())
    rest = path[2:]
    for end in range(len(rest), 0, -1):
        if rest[:end] in taken:
            return (DEFAULTS_KEY, *rest)
    return None


def _merge(base: dict[str, Any], own: dict[str, Any], path: Path_, taken: set[Path_]) -> Any:
    merged = dict(own)
    for key, value in base.items():
        if key not in own:
            merged[key] = value
            taken.add((*path, key))
        elif isinstance(value, dict) and isinstance(own[key], dict):
            merged[key] = _merge(value, own[key], (*path, key), taken)
    return merged
