"""Stage 2b, classify: the request's data class, which decides where it may be processed.

The class comes from the caller's key or team. An ``x-keel-data-class`` header may move the
request to a stricter class (allowed regions a subset, guards no looser), never a looser one. A
scoped key or token may use only its classes. Routing then keeps to the class's regions for
every attempt, failover, retry, canary, shadow and resume.
"""

from __future__ import annotations

from keel.call import Call
from keel.config.schema import KeelConfig
from keel.errors import BadRequest, PermissionDenied

__all__ = ["Classify"]


class Classify:
    def __init__(self, config: KeelConfig) -> None:
        self.classes = dict(config.data_classes)

    async def before(self, call: Call) -> None:
        principal = call.principal
        base = principal.data_class if principal is not None else None
        asked = call.asked_class
        if asked is None or asked == base:
            call.data_class = base
        else:
            call.data_class = self._stricter(asked, base)
        scope = principal.classes if principal is not None else None
        if scope is not None and call.data_class not in scope:
            allowed = ", ".join(scope) or "none"
            raise PermissionDenied(
                f"This key may be used only for data of class {allowed}, not "
                f"{call.data_class or 'unclassified'}. Ask your keel admin for a key with "
                "that scope.",
                code="data_class_not_allowed",
            )

    def _stricter(self, asked: str, base: str | None) -> str:
        spec = self.classes.get(asked)
        if spec is None:
            known = ", ".join(sorted(self.classes)) or "none are configured"
            raise BadRequest(
                f"Unknown data class {asked!r} in x-keel-data-class (classes: {known}).",
                param="x-keel-data-class",
            )
        if base is not None and not spec.at_least_as_strict_as(self.classes[base]):
            raise PermissionDenied(
                f"x-keel-data-class may only make a request stricter: {asked!r} allows more "
                f"than your data class {base!r} (regions or guards). Leave the header out, or "
                "name a stricter class.",
                param="x-keel-data-class",
                code="data_class_looser",
            )
        return asked
