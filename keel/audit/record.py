"""The audit record of a finished call: who asked what of which model, where it ran, what
keel decided and which guards fired, its cost, and hashes of the prompt and the answer.

``prompt_sha256`` is the SHA-256 of the canonical JSON (keel.audit.canonical) of the body's
prompt (``messages``, ``prompt`` or ``input``; Anthropic's ``system`` and ``messages``, see
keel.protocols) as keel sent it on; ``answer_sha256`` is the
SHA-256 of the answer's body bytes as the client got them, or of a stream's text (UTF-8). The
texts themselves are kept only when ``call.audit_full_text`` is set (a data class says so).
"""

from __future__ import annotations

from typing import Any

from keel.audit.canonical import canonical, sha256_hex
from keel.call import Call

__all__ = ["call_record"]


def call_record(call: Call) -> dict[str, Any]:
    """The record of ``call`` (of its kind: call, or shadow for a shadow copy); no I/O."""
    principal, usage = call.principal, call.usage
    prompt = call.protocol.prompt(call.endpoint, call.body)
    user = call.body.get("user")
    if not isinstance(user, str) and principal is not None:
        user = principal.user  # a token's user claim
    answer = call.answer.encode() if isinstance(call.answer, str) else call.answer
    record: dict[str, Any] = {
        "kind": call.kind,
        "request_id": call.id,
        "ts": call.started_at,
        "team": principal.team if principal else None,
        "key_id": principal.key_id if principal else None,
        "user": user if isinstance(user, str) else None,
        "model": call.model or None,
        "endpoint": call.endpoint,
        "stream": call.stream,
        "deployment": call.deployment,
        "region": call.region,
        "data_class": call.data_class,
        "status": call.status,
        "error": call.error,
        "decision": "allowed" if call.error is None else call.error,
        "guards": list(call.guards),
        "cost_usd": call.cost_usd,
        "prompt_tokens": usage.prompt_tokens if usage else 0,
        "completion_tokens": usage.completion_tokens if usage else 0,
        "tokens_estimated": usage.estimated if usage else False,
        "attempts": [{"deployment": a.deployment, "error": a.error} for a in call.attempts],
        "prompt_sha256": None if prompt is None else sha256_hex(canonical(prompt)),
        "answer_sha256": None if answer is None else sha256_hex(answer),
    }
    if call.audit_full_text:
        record["prompt"] = prompt
        record["answer"] = None if answer is None else answer.decode("utf-8", "replace")
    return record
