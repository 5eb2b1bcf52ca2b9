"""A predictive model's split: which version answers a caller who names the bare model.

A rollout of model ``fraud`` is a ``RolloutState`` stored under ``predictive:fraud`` (see
``keel.store.rollouts``): a canary gives ``percent`` of the model's callers to one alias or
version (``challenger``, ``3``) and leaves the rest on ``champion``; an A/B split shares them by
weight. It reuses the LLM rollouts' store rows (versioned, every change recorded with who and
why, a change that raced another refused) and their hashing (``keel.routing.split.bucket``),
so one caller is on one side on every replica, and raising a canary's percent only adds
callers to it. A caller is the API key (``key``), the OIP request's ``parameters.user``
(``user``) or the first element of a named input (``input:NAME``); a request without the one
asked for is placed by its key. A request naming ``fraud@alias`` or a version skips the split.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from keel.call import Call
from keel.routing.split import BUCKETS, bucket
from keel.store.rollouts import RolloutState

__all__ = ["CHAMPION", "INPUT", "ModelSplit", "check_sticky", "describe", "sticky_key"]

CHAMPION = "champion"
INPUT = "input:"
_STICKY = ("key", "user")


def check_sticky(text: str) -> str:
    """``key``, ``user`` or ``input:NAME``, else ValueError saying what to give."""
    if text in _STICKY or (text.startswith(INPUT) and 0 < len(text) - len(INPUT) <= 128):
        return text
    raise ValueError(f"--sticky must be key, user or input:NAME (an input's name), not {text!r}")


def sticky_key(call: Call, sticky: str) -> str:
    """Who the caller is, for stickiness; the API key when the request lacks what is asked."""
    if sticky == "user":
        user = call.body.get("user")
        if isinstance(user, str) and user:
            return user
    elif sticky.startswith(INPUT) and call.prediction is not None:
        value = _first(call.prediction.inputs.get(sticky[len(INPUT) :]))
        if value is not None:
            return value
    principal = call.principal
    return principal.key_id if principal is not None else call.id


def _first(tensor: npt.NDArray[Any] | None) -> str | None:
    if tensor is None or tensor.size == 0:
        return None
    value = tensor.flat[0]
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value.item()) if isinstance(value, np.generic) else str(value)


class ModelSplit:
    """One model's active split, built once per stored version: ``pick`` is a hash and a scan
    of at most a few lines."""

    def __init__(self, state: RolloutState) -> None:
        self.state = state
        self.lines = _lines(state)

    @classmethod
    def of(cls, state: RolloutState | None) -> ModelSplit | None:
        """The split callers follow, or None (no rollout, ended, or a shadow alone)."""
        if state is None or state.status != "active" or state.mode not in ("canary", "ab"):
            return None
        return cls(state) if _lines(state) else None

    def pick(self, key: str) -> str:
        """The alias or version this caller goes to."""
        slot = bucket(self.state.model, key)
        for upper, ref in self.lines:
            if slot < upper:
                return ref
        return self.lines[-1][1]

    def refs(self) -> list[str]:
        return [ref for _, ref in self.lines]


def describe(state: RolloutState) -> str:
    """The rollout in a few words, e.g. ``canary challenger at 10% (the rest on champion)``."""
    if state.mode == "canary":
        words = f"canary {state.canary} at {state.percent:g}% (the rest on {CHAMPION})"
    elif state.mode == "ab":
        total = sum(state.weights.values()) or 1.0
        words = "A/B " + ", ".join(f"{r} {w / total:.0%}" for r, w in state.weights.items())
    else:
        words = f"every caller on {CHAMPION}"
    if state.shadow is not None:
        words += f", shadowed to {state.shadow}"
    return f"{words}, sticky by {state.sticky}, {state.status.replace('_', ' ')}"


def _lines(state: RolloutState) -> tuple[tuple[int, str], ...]:
    """(first bucket past the ref's range, ref), in bucket order."""
    if state.mode == "canary":
        if state.canary is None:
            return ()
        return ((round(state.percent * BUCKETS / 100), state.canary), (BUCKETS, CHAMPION))
    shares = [(ref, w) for ref, w in state.weights.items() if w > 0]
    total = sum(w for _, w in shares)
    lines, running = [], 0.0
    for ref, weight in shares:
        running += weight
        lines.append((round(running / total * BUCKETS), ref))
    return tuple(lines)
