"""A data class's secrets rules applied to one call (``keel.guard.secrets``).

``prompts``: ``redact`` sends ``[OPENAI_KEY]`` upstream in place of the key, ``block`` refuses
the request (a 400 ``secrets_blocked`` naming the kinds, never a value). There is no
pseudonymising: a model never needs a credential's value to answer, and restoring one into
the answer would put it back on the wire the class guards. ``answers``: ``redact`` or
``block`` (``keel.pipeline.answer_rules``). The same channels as the PII rules are walked.
"""

from __future__ import annotations

from keel.call import Call
from keel.config.security import SecretsPolicy
from keel.errors import BadRequest
from keel.guard.secrets import SecretGuard, SecretKind
from keel.guard.secrets.detect import detect
from keel.guard.secrets.stream import redact_found
from keel.pipeline.answer_rules import Part
from keel.protocols.base import TextGuard

__all__ = ["SecretsRules", "secrets_blocked"]


class SecretsRules:
    def __init__(self, policy: SecretsPolicy) -> None:
        unknown = [k for k in policy.kinds if k not in SecretKind.__members__]
        if unknown:  # the config schema does not know the guard's kinds; say so at start
            raise ValueError(f"unknown secret kinds {unknown}; use {', '.join(SecretKind)}")
        self.kinds = frozenset(SecretKind(k) for k in policy.kinds) or frozenset(SecretKind)
        self.prompts = policy.prompts
        self.answers = policy.answers

    def inbound(self, call: Call) -> None:
        if self.prompts == "allow":
            return
        found: set[str] = set()

        def one(text: str) -> str:
            secrets = detect(text, self.kinds)
            if not secrets:
                return text
            found.update(s.kind.value for s in secrets)
            return redact_found(text, secrets)

        body = call.protocol.map_prompt_text(call.body, one)
        if not found:
            return
        kinds = sorted(found)
        if self.prompts == "block":
            call.guards.append("secrets:block:" + ",".join(kinds))
            raise secrets_blocked(kinds)
        call.guards.append("secrets:redact:" + ",".join(kinds))
        call.body = body
        call.raw = None  # the client's bytes hold what the rules took out

    def outbound(self, call: Call) -> Part | None:
        if self.answers == "allow":
            return None
        kinds, blocks = self.kinds, self.answers == "block"

        def new() -> tuple[TextGuard, set[str] | None]:
            guard = SecretGuard(kinds, stop=blocks)
            return guard, guard.found if blocks else None

        return Part("secrets", new, blocks=blocks, stops=True)


def secrets_blocked(kinds: list[str]) -> BadRequest:
    """The 400's message: it names the kinds found, never a value."""
    return BadRequest(
        f"The request contains secrets of a kind its data class blocks: {', '.join(kinds)}. "
        "Remove them (rotate any that were shared) and retry, or ask an administrator for a "
        "data class that allows them.",
        code="secrets_blocked",
    )
