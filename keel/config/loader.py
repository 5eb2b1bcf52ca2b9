"""Reading ``keel.yaml``: YAML with line numbers, ``${ENV}`` and ``file:`` secrets, validation.

Every problem is reported with the file, the line and the field path, and all of them at once,
so one run of ``keel validate`` is enough to fix a file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from keel.config.defaults import apply_defaults, from_defaults, without_extensions
from keel.config.names import not_a_deployment, not_a_model
from keel.config.prices import PRICE_LIST, unknown_list_name
from keel.config.schema import KeelConfig
from keel.errors import ConfigError, ConfigProblem

__all__ = ["DEMO_CONFIG", "default_config_path", "load_config", "parse_config"]

DEMO_CONFIG = "<demo>"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_FILE_FIELDS = {
    "api_key",
    "api_keys",
    "signing_key",
    "verify_keys",
    "ad_token",
    "access_key_id",
    "secret_access_key",
    "session_token",
}

Path_ = tuple[str | int, ...]


def default_config_path() -> str:
    """``./keel.yaml`` if present, else the bundled demo config."""
    return "keel.yaml" if Path("keel.yaml").is_file() else DEMO_CONFIG


def load_config(path: str | None = None) -> KeelConfig:
    """Load and validate a config file (or the demo config); raise ``ConfigError`` if refused."""
    path = path or default_config_path()
    if path == DEMO_CONFIG:
        text = resources.files("keel.config").joinpath("demo.yaml").read_text("utf-8")
        return parse_config(text, "examples/demo.yaml")
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(path, None, "", f"cannot read the file: {exc}")]) from exc
    return parse_config(text, path)


def parse_config(text: str, filename: str) -> KeelConfig:
    root, data = _parse_yaml(text, filename)
    lines = dict(_node_lines(root, ())) if root is not None else {}

    def problem(path: Path_, message: str) -> ConfigProblem:
        return ConfigProblem(filename, _line_for(lines, path), _dotted(path), message)

    if not isinstance(data, dict):
        raise ConfigError([problem((), "the top level must be a mapping of sections")])
    found: list[tuple[Path_, str]] = list(_repeated_keys(root, ()))
    env_problems: list[tuple[Path_, str]] = []
    data = _interpolate(without_extensions(data), (), env_problems)
    found += env_problems
    data, origins, default_problems = apply_defaults(data)
    found += default_problems
    config: KeelConfig | None = None
    try:
        config = KeelConfig.model_validate(data)
    except ValidationError as exc:
        # A field whose ${ENV} is unset was already reported; its empty stand-in is no news.
        unset = {path for path, _ in env_problems}
        errors = ((_normalise(tuple(e["loc"])), _pydantic_message(e)) for e in exc.errors())
        found += [(path, message) for path, message in errors if path not in unset]
    found += _cross_references(data)
    if found or config is None:
        # A field the defaults gave every deployment is wrong once, where it was written.
        located = dict.fromkeys((from_defaults(p, origins) or p, m) for p, m in _normal(found))
        problems = [problem(path, message) for path, message in located]
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0))
    return config


def _parse_yaml(text: str, filename: str) -> tuple[yaml.Node | None, Any]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigProblem(filename, line, "", f"not valid YAML: {what}")]) from None
    return root, {} if data is None else data


def _pydantic_message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown field (check the spelling; `keel config schema` lists every field)"
    message: str = err["msg"]
    return message.removeprefix("Value error, ")


def _cross_references(data: dict[str, Any]) -> list[tuple[Path_, str]]:
    """References between sections, checked on the raw data so they are reported even when
    other parts of the file are wrong too."""
    regions = _mapping(data.get("regions"))
    found: list[tuple[Path_, str]] = []
    names: set[str] = set()
    for i, deployment in _items(data.get("deployments")):
        name, region = _mapping(deployment).get("name"), _mapping(deployment).get("region")
        if isinstance(name, str):
            if name in names:
                found.append((("deployments", i, "name"), f"duplicate deployment name {name!r}"))
            names.add(name)
        if isinstance(region, str) and region not in regions:
            known = ", ".join(sorted(regions)) or "none defined"
            found.append(
                (("deployments", i, "region"), f"unknown region {region!r} (regions: {known})")
            )
    models = _mapping(data.get("models"))
    for model, spec in models.items():
        found += _model_references(model, spec, names, set(models))
    found += _fallback_problems(models, names)
    for team, spec in _mapping(data.get("teams")).items():
        for j, model in _items(_mapping(spec).get("models")):
            if isinstance(model, str) and model != "*" and model not in models:
                found.append((("teams", team, "models", j), f"unknown model {model!r}"))
    return found + _governance_references(data, regions) + _finops_references(data)


def _governance_references(
    data: dict[str, Any], regions: dict[str, Any]
) -> list[tuple[Path_, str]]:
    """Data classes name regions; teams name data classes; auth names a team."""
    found: list[tuple[Path_, str]] = []
    classes = _mapping(data.get("data_classes"))
    known_regions = ", ".join(sorted(regions)) or "none defined"
    for name, spec in classes.items():
        for j, region in _items(_mapping(spec).get("regions")):
            if isinstance(region, str) and region not in regions:
                message = f"unknown region {region!r} (regions: {known_regions})"
                found.append((("data_classes", name, "regions", j), message))
    teams = _mapping(data.get("teams"))
    known_classes = ", ".join(sorted(classes)) or "none defined"
    for team, spec in teams.items():
        data_class = _mapping(spec).get("data_class")
        if isinstance(data_class, str) and data_class not in classes:
            message = f"unknown data class {data_class!r} (data_classes: {known_classes})"
            found.append((("teams", team, "data_class"), message))
    anonymous = _mapping(data.get("auth")).get("anonymous_team")
    if isinstance(anonymous, str) and anonymous not in teams:
        found.append((("auth", "anonymous_team"), f"unknown team {anonymous!r}"))
    return found


def _finops_references(data: dict[str, Any]) -> list[tuple[Path_, str]]:
    """Prices name list entries; budgets and rate limits have unique names and match teams
    and models that exist."""
    found: list[tuple[Path_, str]] = []
    for i, deployment in _items(data.get("deployments")):
        price = _mapping(deployment).get("price")
        path: Path_ = ("deployments", i, "price")
        if isinstance(price, dict):
            price, path = price.get("list"), (*path, "list")
        if isinstance(price, str) and price not in PRICE_LIST:
            found.append((path, unknown_list_name(price)))
    teams, models = _mapping(data.get("teams")), _mapping(data.get("models"))
    # A rate limit of a model holds a logical model or a predictive one (named in its config).
    predictive = _mapping(_mapping(data.get("predictive")).get("models"))
    found += _limit_references("budgets", data, {"team": teams})
    known = {"team": teams, "model": {**models, **predictive}}
    return found + _limit_references("rate_limits", data, known)


def _limit_references(
    section: str, data: dict[str, Any], known: dict[str, dict[str, Any]]
) -> list[tuple[Path_, str]]:
    """Each entry of ``section`` has its own name, and its ``match`` names a known team or
    model for the scopes in ``known`` (keys and projects are made at run time: not checked)."""
    found: list[tuple[Path_, str]] = []
    names: set[str] = set()
    for i, spec in _items(data.get(section)):
        name, scope, match = (_mapping(spec).get(k) for k in ("name", "scope", "match"))
        if isinstance(name, str):
            if name in names:
                message = f"duplicate name {name!r}: give each of {section} its own name"
                found.append(((section, i, "name"), message))
            names.add(name)
        targets = known.get(scope) if isinstance(scope, str) else None
        if targets is None or not isinstance(match, str) or match == "*" or match in targets:
            continue
        listed = ", ".join(sorted(targets)) or "none defined"
        message = f'unknown {scope} {match!r} ({scope}s: {listed}); "*" matches each {scope}'
        if scope == "model":
            message += "; a predictive model is matched once it is named under predictive.models"
        found.append(((section, i, "match"), message))
    return found


def _fallback_problems(models: dict[str, Any], names: set[str]) -> list[tuple[Path_, str]]:
    """Each context_fallback names another model, and following them never comes back."""
    fallback = {m: _mapping(spec).get("context_fallback") for m, spec in models.items()}
    serving = {m: _refs(spec) for m, spec in models.items()}
    found: list[tuple[Path_, str]] = []
    for model, target in fallback.items():
        if target is None:
            continue
        path: Path_ = ("models", model, "context_fallback")
        if target not in models:
            found.append((path, not_a_model(str(target), serving, names)))
            continue
        chain = [model]
        while isinstance(target, str) and target in models and target not in chain:
            chain.append(target)
            target = fallback[target]
        if target == model:
            loop = " -> ".join([*chain, model])
            found.append((path, f"context_fallback goes round in a circle: {loop}"))
    return found


def _refs(spec: Any) -> list[str]:
    refs = spec if isinstance(spec, list) else _mapping(spec).get("deployments")
    return [r for r in refs if isinstance(r, str)] if isinstance(refs, list) else []


def _model_references(
    model: str, spec: Any, names: set[str], models: set[str]
) -> list[tuple[Path_, str]]:
    """A model's deployments, weights, rollout and shadow must name deployments that exist."""
    found: list[tuple[Path_, str]] = []
    refs = spec if isinstance(spec, list) else _mapping(spec).get("deployments")
    own = _refs(spec)
    for j, ref in _items(refs):
        if isinstance(ref, str) and ref not in names:
            message = not_a_deployment(ref, names, models)
            found.append((("models", model, "deployments", j), message))
    for ref in _mapping(_mapping(spec).get("weights")):
        if ref not in own:
            found.append((("models", model, "weights", ref), f"{ref!r} is not in deployments"))
    rollout = _mapping(_mapping(spec).get("rollout"))
    canary = rollout.get("canary")
    listed = ", ".join(own) or "none"
    if isinstance(canary, str) and canary not in own:
        message = f"canary {canary!r} is not one of the model's deployments ({listed})"
        found.append((("models", model, "rollout", "canary"), message))
    elif isinstance(canary, str) and not [r for r in own if r != canary]:
        message = f"a canary needs a baseline: add another deployment to models.{model}"
        found.append((("models", model, "rollout", "canary"), message))
    for ref in _mapping(rollout.get("weights")):
        if ref not in own:
            message = f"{ref!r} is not one of the model's deployments ({listed})"
            found.append((("models", model, "rollout", "weights", ref), message))
    shadow = _mapping(_mapping(spec).get("shadow")).get("deployment")
    if isinstance(shadow, str) and shadow not in names:
        known = ", ".join(sorted(names)) or "none defined"
        message = f"unknown deployment {shadow!r} (deployments: {known})"
        found.append((("models", model, "shadow", "deployment"), message))
    return found


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[tuple[int, Any]]:
    return list(enumerate(value)) if isinstance(value, list) else []


def _repeated_keys(node: yaml.Node | None, path: Path_) -> Iterator[tuple[Path_, str]]:
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key, child in node.value:
            here = (*path, key.value)
            if key.value in seen:
                yield here, "repeated key: only the last one would count; merge them into one"
            seen.add(key.value)
            yield from _repeated_keys(child, here)
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            yield from _repeated_keys(child, (*path, i))


def _interpolate(value: Any, path: Path_, problems: list[tuple[Path_, str]]) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, (*path, k), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*path, i), problems) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def env(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        problems.append((path, f"environment variable {name} is not set"))
        return ""

    result = _ENV_REF.sub(env, value)
    secret_field = any(isinstance(p, str) and p in _FILE_FIELDS for p in path)
    if secret_field and result.startswith("file:"):
        file = Path(result.removeprefix("file:")).expanduser()
        try:
            return file.read_text("utf-8").strip()
        except OSError as exc:
            problems.append((path, f"cannot read secret file {file}: {exc.strerror}"))
    return result


def _node_lines(node: yaml.Node, path: Path_) -> Iterator[tuple[Path_, int]]:
    yield path, node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, child in node.value:
            # The key's line is where a person looks for the field.
            here = (*path, key.value)
            yield here, key.start_mark.line + 1
            yield from ((p, n) for p, n in _node_lines(child, here) if p != here)
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            yield from _node_lines(child, (*path, i))


def _line_for(lines: dict[Path_, int], path: Path_) -> int | None:
    # Pydantic locations may name a field the file lacks (missing) or a model-level check;
    # the nearest enclosing node that the file has is the best line to point at.
    path = tuple(p for p in path if not (isinstance(p, str) and p.startswith("function-")))
    for end in range(len(path), -1, -1):
        key = _normalise(path[:end])
        if key in lines:
            return lines[key]
    return None


def _normal(found: list[tuple[Path_, str]]) -> list[tuple[Path_, str]]:
    return [(_normalise(path), message) for path, message in found]


def _normalise(path: Path_) -> Path_:
    return tuple(int(p) if isinstance(p, str) and p.isdigit() else p for p in path)


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
