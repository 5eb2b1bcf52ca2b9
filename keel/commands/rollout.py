"""``keel rollout set|promote|rollback``: a model's split changed in the configured store.

Every change is checked against the config first (the model, its deployments, the numbers),
then written with its event in one transaction that names the version it was decided on: a
change made meanwhile by someone else (or by a gateway's automatic rollback) is never silently
overwritten. Running gateways pick the change up on their next refresh.
"""

from __future__ import annotations

import dataclasses
import getpass
import math
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from keel.config.schema import KeelConfig, ModelConfig
from keel.routing.split import baseline_of, config_state, describe, misfit
from keel.store import opened_store
from keel.store.rollouts import (
    PREDICTIVE,
    RolloutChange,
    RolloutState,
    RolloutStore,
    is_predictive,
)

__all__ = [
    "Effective",
    "Plan",
    "RolloutConflict",
    "actor",
    "change",
    "effective",
    "model_spec",
    "parse_weights",
    "plan_promote",
    "plan_rollback",
    "plan_set",
    "summary",
]

_STICKY = ("user", "key", "team")

# What a command makes of the current split: read inside ``change``, next to the write.
Plan = Callable[[ModelConfig, RolloutState | None], RolloutState]


class RolloutConflict(Exception):
    """The stored split changed between reading it and writing the change."""


@dataclass(frozen=True, slots=True)
class Effective:
    """A model's split as the gateways see it, and where it comes from."""

    state: RolloutState | None
    source: str  # "store", "config" or "none"
    problem: str | None = None  # why gateways ignore a stored split that no longer fits


def actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (some containers)
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"


def model_spec(config: KeelConfig, model: str) -> ModelConfig:
    if is_predictive(model):
        name = model.removeprefix(PREDICTIVE)
        raise ValueError(
            f"{model!r} names a predictive model's split: see keel models show {name}, and "
            f"change it with keel models rollout {name}"
        )
    spec = config.models.get(model)
    if spec is None:
        known = ", ".join(sorted(config.models)) or "none"
        raise ValueError(f"no model {model!r} in the config (models: {known})")
    return spec


async def effective(store: RolloutStore, config: KeelConfig, model: str) -> Effective:
    spec = model_spec(config, model)
    stored = next((s for s in await store.rollouts() if s.model == model), None)
    if stored is not None:
        return Effective(stored, "store", misfit(stored, spec.deployments))
    if spec.rollout is not None:
        return Effective(config_state(model, spec.rollout), "config")
    return Effective(None, "none")


def parse_weights(text: str, spec: ModelConfig, model: str) -> dict[str, float]:
    """``a=70,b=30`` into shares, each a deployment of the model, not all zero."""
    example = ",".join(f"{d}={w}" for d, w in zip(spec.deployments, (70, 30, 0), strict=False))
    shares: dict[str, float] = {}
    for part in text.split(","):
        name, sep, number = part.strip().partition("=")
        name = name.strip()
        try:
            share = float(number) if sep else math.nan
        except ValueError:
            share = math.nan
        if not name or not math.isfinite(share) or share < 0:
            raise ValueError(
                f"cannot read {part.strip()!r} in --weights: write name=share with a number "
                f"of 0 or more, e.g. --weights {example}"
            )
        if name in shares:
            raise ValueError(f"{name!r} is given twice in --weights")
        _check_deployment(spec, model, name)
        shares[name] = share
    if sum(shares.values()) <= 0:
        raise ValueError(f"the weights are all 0: give at least one a share, e.g. {example}")
    return shares


def plan_set(
    spec: ModelConfig,
    model: str,
    current: RolloutState | None,
    *,
    canary: str | None,
    percent: float | None,
    weights: str | None,
    sticky: str | None,
) -> RolloutState:
    """The split ``keel rollout set`` asks for, checked against the model."""
    if sticky is not None and sticky not in _STICKY:
        raise ValueError(f"--sticky must be one of {', '.join(_STICKY)}, not {sticky!r}")
    keep = sticky or (current.sticky if current is not None else "user")
    if weights is not None:
        if canary is not None or percent is not None:
            raise ValueError(
                "give either --weights (an A/B split) or --canary and --percent (a canary)"
            )
        return RolloutState(model, "ab", None, 0.0, parse_weights(weights, spec, model), keep)
    if canary is None:
        if current is None or current.mode != "canary" or current.canary is None:
            raise ValueError(
                f"say which deployment is the canary: keel rollout set {model} "
                "--canary DEPLOYMENT --percent N (or --weights a=70,b=30 for an A/B split)"
            )
        canary = current.canary
    if percent is None:
        raise ValueError(f"say how much traffic {canary} gets: --percent N (0 to 100)")
    if not 0 <= percent <= 100:
        raise ValueError(f"--percent must be between 0 and 100, not {percent:g}")
    _check_deployment(spec, model, canary)
    state = RolloutState(model, "canary", canary, float(percent), {}, keep)
    if baseline_of(state, spec.deployments) is None:
        raise ValueError(
            f"{model} has only {canary}: a canary needs another deployment to compare with. "
            f"Add one to models.{model}.deployments."
        )
    return state


def plan_promote(model: str, current: RolloutState | None) -> RolloutState:
    canary = _canary(model, current, "promote")
    return dataclasses.replace(canary, percent=100.0, status="promoted")


def plan_rollback(model: str, current: RolloutState | None) -> RolloutState:
    canary = _canary(model, current, "roll back")
    return dataclasses.replace(canary, percent=0.0, status="rolled_back")


async def change(
    config: KeelConfig, model: str, action: str, plan: Plan, reason: str, who: str | None = None
) -> tuple[RolloutState | None, Effective]:
    """Check and write one change; return (the stored split, or None if it changed nothing;
    the split it was made from). Raise ValueError for bad input, RolloutConflict on a race."""
    spec = model_spec(config, model)
    async with opened_store(config.store.url) as store:
        before = await effective(store, config, model)
        after = plan(spec, before.state)
        if before.state is not None and _same_split(before.state, after):
            return None, before
        ts = time.time()
        record = RolloutChange(before.state, after, action, who or actor(), reason, ts)
        stored = await store.change_rollout(record)
    if stored is None:
        raise RolloutConflict(
            f"the rollout of {model} changed while this change was being made; "
            f"see keel rollout status {model}, then try again"
        )
    return stored, before


def summary(state: RolloutState, spec: ModelConfig) -> str:
    words = describe(state, spec.deployments)
    return f"{words}, sticky by {state.sticky}, {state.status.replace('_', ' ')}"


def _canary(model: str, current: RolloutState | None, verb: str) -> RolloutState:
    if current is None or current.mode != "canary" or current.canary is None:
        what = "an A/B split" if current is not None else "no rollout"
        raise ValueError(
            f"{model} has {what}, so there is no canary to {verb}. Start one with: "
            f"keel rollout set {model} --canary DEPLOYMENT --percent N"
        )
    return current


def _check_deployment(spec: ModelConfig, model: str, name: str) -> None:
    if name not in spec.deployments:
        listed = ", ".join(spec.deployments)
        raise ValueError(f"{name!r} is not a deployment of {model} (its deployments: {listed})")


def _same_split(a: RolloutState, b: RolloutState) -> bool:
    fields = ("mode", "canary", "percent", "weights", "sticky", "status")
    return all(getattr(a, f) == getattr(b, f) for f in fields)
