"""Messages for a failover target that names nothing, or a thing of the other kind.

A model's ``deployments`` (and its weights, canary, shadow) name deployments; its
``context_fallback`` names a logical model. The two name spaces are kept apart, and a name of
the wrong kind is told as such, with the closest name of the right kind.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection

__all__ = ["not_a_deployment", "not_a_model"]


def not_a_deployment(ref: str, deployments: Collection[str], models: Collection[str]) -> str:
    if ref in models:
        return (
            f"{ref!r} is a logical model, not a deployment: a model's deployments list names "
            "deployments (deployments[].name); to send long prompts to another model, use "
            f"context_fallback: {ref}" + _closest(ref, deployments, "deployment")
        )
    return f"unknown deployment {ref!r}" + _closest(ref, deployments, "deployment")


def not_a_model(ref: str, models: dict[str, list[str]], deployments: Collection[str]) -> str:
    """``models`` maps each model to its deployments, to name the models that use ``ref``."""
    if ref in deployments:
        users = sorted(m for m, refs in models.items() if ref in refs)
        hint = f"; the models it serves: {', '.join(users)}" if users else ""
        return (
            f"{ref!r} is a deployment, not a logical model: context_fallback names a model"
            f"{hint} (or make one of it: models: {{{ref}-long: [{ref}]}})"
        )
    return f"unknown model {ref!r}" + _closest(ref, models, "model")


def _closest(ref: str, known: Collection[str], kind: str) -> str:
    near = difflib.get_close_matches(ref, list(known), n=1)
    if near:
        return f"; did you mean the {kind} {near[0]!r}?"
    listed = ", ".join(sorted(known)) or "none defined"
    return f" ({kind}s: {listed})"
