"""Stages 4 and 8, guard in and out: what the request's data class says about secrets, personal
data and prompt injection, applied to the request, its answer and its stream.

Nothing runs for a request without a data class, or for a class whose guards are off, so the
cost is paid only where a class asks for it. What fired is added to ``call.guards`` (and so to
the audit record): kinds and scores, never values or text.
"""

from __future__ import annotations

from keel.call import Call
from keel.config.schema import KeelConfig
from keel.config.security import DataClassConfig
from keel.guard import injection
from keel.pipeline.answer_rules import AnswerRules
from keel.pipeline.pii_rules import PIIRules
from keel.pipeline.secrets_rules import SecretsRules

__all__ = ["Guard"]

# The endpoints whose prompts are conversations: screened for prompt injection.
_SCREENED = frozenset({"chat", "messages", "responses"})


class Guard:
    def __init__(self, config: KeelConfig) -> None:
        self.classes: dict[str, DataClassConfig] = dict(config.data_classes)
        self.pii: dict[str, PIIRules | None] = {
            name: _pii_rules(dc) for name, dc in self.classes.items()
        }
        self.secrets: dict[str, SecretsRules | None] = {
            name: _secrets_rules(dc) for name, dc in self.classes.items()
        }

    async def before(self, call: Call) -> None:
        if call.data_class is None:
            return
        spec = self.classes[call.data_class]
        call.audit_full_text = spec.audit_text
        if spec.injection.action != "off" and call.endpoint in _SCREENED:
            self._screen(call, spec)
        secrets = self.secrets[call.data_class]
        if secrets is not None:  # first: a connection string is not mistaken for an address
            secrets.inbound(call)
        rules = self.pii[call.data_class]
        if rules is not None:
            rules.inbound(call)

    def outbound(self, call: Call) -> AnswerRules | None:
        """The data class's rules on what leaves (DLP, pseudonyms) for this call's answer,
        whole or streamed; None when the answer leaves as it is."""
        if call.data_class is None:
            return None
        secrets, pii = self.secrets[call.data_class], self.pii[call.data_class]
        parts = tuple(
            part
            for rules in (secrets, pii)
            if rules is not None and (part := rules.outbound(call)) is not None
        )
        return AnswerRules(call, parts) if parts else None

    def _screen(self, call: Call, spec: DataClassConfig) -> None:
        found = injection.screen(call.protocol.screened_messages(call.body))
        action: injection.Action = "block" if spec.injection.action == "block" else "flag"
        verdict = injection.decide(found, spec.injection.threshold, action)
        if verdict.outcome != "pass":
            call.guards.append(f"injection:{verdict.outcome}:{found.score:.2f}")
        if verdict.blocked:
            raise verdict.error()


def _pii_rules(spec: DataClassConfig) -> PIIRules | None:
    """The data class's PII rules, or None when personal data passes both ways."""
    if spec.pii.prompts == "allow" and spec.pii.answers == "allow":
        return None
    return PIIRules(spec.pii)


def _secrets_rules(spec: DataClassConfig) -> SecretsRules | None:
    """The data class's secrets rules, or None when credentials pass both ways."""
    if spec.secrets.prompts == "allow" and spec.secrets.answers == "allow":
        return None
    return SecretsRules(spec.secrets)
