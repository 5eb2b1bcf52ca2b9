"""The PII guard: find personal data in text, then allow, redact, pseudonymise or block it.

Detection (``detect``) is pattern-based with validity checks (Luhn, IBAN mod-97, SSN, NI and
Steuer-ID rules, dates of birth only next to words such as "born"); person names come only
from an optional ``Recogniser`` (no NER model ships with keel). ``RequestGuard`` applies
``PiiActions`` (an action per kind) to one request and its answer, streamed answers included
(``StreamGuard``).
"""

from keel.guard.pii.chat import chat_texts, map_answer_text, map_chat_text
from keel.guard.pii.detectors import detect
from keel.guard.pii.entities import Entity, Kind, Recogniser
from keel.guard.pii.policy import Action, PiiActions, RequestGuard, blocked_message
from keel.guard.pii.rewrite import (
    Labels,
    Pseudonymiser,
    blocked_types,
    blocked_types_chat,
    pseudonymise_chat,
    redact,
    redact_chat,
)
from keel.guard.pii.stream import StreamGuard

__all__ = [
    "Action",
    "Entity",
    "Kind",
    "Labels",
    "PiiActions",
    "Pseudonymiser",
    "Recogniser",
    "RequestGuard",
    "StreamGuard",
    "blocked_message",
    "blocked_types",
    "blocked_types_chat",
    "chat_texts",
    "detect",
    "map_answer_text",
    "map_chat_text",
    "pseudonymise_chat",
    "redact",
    "redact_chat",
]
