"""A rollout's split: which deployment of a model goes first for a caller.

A canary gets ``percent`` of a model's callers; an A/B split shares them by weight. A caller is
hashed with the model into one of ``BUCKETS`` buckets, so it stays on one side while the split
holds, and raising a canary's percent only adds callers to it. The chosen deployment goes first;
the model's other candidates follow in their order as the failover order.

The split of one version of a rollout is a ``Split``: built once (never per request), it orders
candidates and tallies the canary's and the baseline's attempts for the automatic rollback
(judged in ``keel.routing.rollback``). The live set of splits, fed by the store, is
``keel.routing.rollouts.Rollouts``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from keel.call import Attempt, Call
from keel.config.schema import AutoRollbackConfig, ModelConfig, RolloutConfig
from keel.routing.rollback import AttemptTally, verdict
from keel.store.rollouts import RolloutState

if TYPE_CHECKING:
    from keel.routing.router import Target

__all__ = ["BUCKETS", "Split", "baseline_of", "bucket", "config_state", "describe", "misfit"]

BUCKETS = 10_000  # a percent is percent * 100 buckets: 0.01% steps
# Entries the router records without trying the deployment: no outcome to judge.
_NOT_TRIED = frozenset({"overloaded", "circuit_open"})


def bucket(model: str, key: str) -> int:
    """A stable bucket for a caller of a model: the same on every gateway and every run."""
    data = f"{model}\x00{key}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") % BUCKETS


def sticky_key(call: Call, sticky: str) -> str:
    """Who the caller is, for stickiness: the body's ``user``, the API key or the team."""
    if sticky == "user":
        user = call.body.get("user")
        if isinstance(user, str) and user:
            return user
    principal = call.principal
    if principal is None:
        return call.id  # nobody to stick to: spread by request
    return principal.team if sticky == "team" else principal.key_id


def config_state(model: str, rollout: RolloutConfig) -> RolloutState:
    """The split as keel.yaml starts it: version 0, before any change is stored."""
    return RolloutState(
        model=model, mode=rollout.mode, canary=rollout.canary, percent=rollout.percent,
        weights=dict(rollout.weights), sticky=rollout.sticky,
    )  # fmt: skip


def baseline_of(state: RolloutState, deployments: Sequence[str]) -> str | None:
    """The deployment a canary is compared with: the model's first that is not the canary."""
    return next((d for d in deployments if d != state.canary), None)


def misfit(state: RolloutState, deployments: Sequence[str]) -> str | None:
    """What makes a split unusable with a model's deployments, or None if it fits."""
    listed = ", ".join(deployments)
    if state.mode == "canary":
        if state.canary not in deployments:
            return f"canary {state.canary!r} is not one of the model's deployments ({listed})"
        if baseline_of(state, deployments) is None:
            return "a canary needs a baseline: the model has no other deployment"
        return None
    unknown = [name for name in state.weights if name not in deployments]
    if unknown:
        return f"weights for {', '.join(unknown)}, not among the model's deployments ({listed})"
    if sum(state.weights.values()) <= 0:
        return "an A/B split needs a weight above 0"
    return None


def describe(state: RolloutState, deployments: Sequence[str]) -> str:
    """The split in a few words, e.g. ``canary v2 at 20% (baseline v1)``."""
    if state.mode == "canary":
        return (
            f"canary {state.canary} at {state.percent:g}% "
            f"(baseline {baseline_of(state, deployments)})"
        )
    total = sum(state.weights.values())
    shares = ", ".join(f"{n} {w / total:.0%}" for n, w in state.weights.items())
    return f"A/B {shares}"


class Split:
    """One version of a model's rollout, as the router uses it."""

    def __init__(
        self,
        state: RolloutState,
        spec: ModelConfig,
        source: str,
        on_verdict: Callable[[Split, str], None] | None = None,
    ) -> None:
        self.state = state
        self.source = source  # "config" or "store"
        self.deployments = tuple(spec.deployments)
        self.baseline = baseline_of(state, self.deployments) if state.mode == "canary" else None
        self.rule = spec.rollout.auto_rollback if spec.rollout else AutoRollbackConfig()
        self.lines = _lines(state, self.deployments, self.baseline)
        self.on_verdict = on_verdict
        self.tallies: dict[str, AttemptTally] = {}
        self.reason: str | None = None
        judged = state.mode == "canary" and state.status == "active" and state.percent > 0
        if judged and self.rule.enabled and self.baseline is not None and state.canary:
            self.tallies = {state.canary: AttemptTally(), self.baseline: AttemptTally()}

    def pick(self, key: str) -> str:
        """The deployment that goes first for this caller."""
        slot = bucket(self.state.model, key)
        for upper, name in self.lines:
            if slot < upper:
                return name
        return self.lines[-1][1]

    def order(self, call: Call, candidates: Sequence[Target]) -> Sequence[Target]:
        first = self.pick(sticky_key(call, self.state.sticky))
        for i, target in enumerate(candidates):
            if target.deployment.name == first:
                return candidates if i == 0 else [target, *candidates[:i], *candidates[i + 1 :]]
        return candidates  # the chosen one cannot serve this call: the usual order

    def observe(self, deployment: str, attempts: Sequence[Attempt]) -> None:
        """Count a call's attempts on ``deployment`` (the router calls this once per deployment
        tried, so each attempt is counted once); judge the canary when they tell enough."""
        tally = self.tallies.get(deployment)
        if tally is None or self.reason is not None:
            return
        for attempt in attempts:
            if attempt.deployment == deployment and attempt.error not in _NOT_TRIED:
                tally.add(attempt.error is None, attempt.duration_s)
        canary, baseline = self.state.canary, self.baseline
        assert canary is not None and baseline is not None  # tallies exist only for a canary
        reason = verdict(self.tallies[canary], self.tallies[baseline], self.rule)
        if reason is not None:
            self.reason = f"canary {canary} against baseline {baseline}: {reason}"
            if self.on_verdict is not None:
                self.on_verdict(self, self.reason)


def _lines(
    state: RolloutState, deployments: Sequence[str], baseline: str | None
) -> tuple[tuple[int, str], ...]:
    """(first bucket past the deployment's range, deployment), in bucket order."""
    if state.mode == "canary":
        assert state.canary is not None and baseline is not None  # see misfit()
        return ((round(state.percent * BUCKETS / 100), state.canary), (BUCKETS, baseline))
    shares = [(d, state.weights[d]) for d in deployments if state.weights.get(d, 0) > 0]
    total = sum(w for _, w in shares)
    lines, running = [], 0.0
    for name, weight in shares:
        running += weight
        lines.append((round(running / total * BUCKETS), name))
    return tuple(lines)
