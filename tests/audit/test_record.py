"""The audit record of a finished call: who, what, where, the decision, hashes not texts."""

from __future__ import annotations

import hashlib

from keel.audit.canonical import canonical
from keel.audit.record import call_record
from keel.call import Attempt, Call, Principal, Usage

MESSAGES = [{"role": "user", "content": "Mein Name ist Zoë"}]


def finished(**fields: object) -> Call:
    body = {"model": "chat", "messages": MESSAGES, "user": "u-42"}
    call = Call(id="req-1", endpoint="chat", body=body, model="chat", stream=False)
    call.principal = Principal("support", "key_abc", ("*",))
    call.deployment, call.region = "vllm", "onprem-fra"
    call.usage = Usage(12, 30)
    call.cost_usd = 0.002
    call.attempts = [Attempt("openai", "upstream_timeout", 1.0), Attempt("vllm", None, 0.5)]
    call.answer = b'{"choices":[{"message":{"content":"Hallo Zo\\u00eb"}}]}'
    for name, value in fields.items():
        setattr(call, name, value)
    return call


def test_the_record_says_who_what_where_and_what_it_cost() -> None:
    record = call_record(finished(guards=["pii:email"]))
    assert {k: record[k] for k in ("kind", "request_id", "team", "key_id", "user", "model",
                                   "deployment", "region", "endpoint", "stream", "status",
                                   "error", "decision", "guards", "cost_usd")} == {
        "kind": "call", "request_id": "req-1", "team": "support", "key_id": "key_abc",
        "user": "u-42", "model": "chat", "deployment": "vllm", "region": "onprem-fra",
        "endpoint": "chat", "stream": False, "status": 200, "error": None,
        "decision": "allowed", "guards": ["pii:email"], "cost_usd": 0.002,
    }  # fmt: skip
    assert (record["prompt_tokens"], record["completion_tokens"]) == (12, 30)
    assert record["attempts"] == [
        {"deployment": "openai", "error": "upstream_timeout"},
        {"deployment": "vllm", "error": None},
    ]


def test_prompt_and_answer_are_kept_as_hashes_only() -> None:
    call = finished()
    record = call_record(call)
    assert record["prompt_sha256"] == hashlib.sha256(canonical(MESSAGES)).hexdigest()
    assert record["answer_sha256"] == hashlib.sha256(call.answer).hexdigest()  # type: ignore[arg-type]
    assert "prompt" not in record and "answer" not in record
    assert "Zo" not in canonical(record).decode()


def test_a_streamed_answer_is_hashed_as_its_utf8_text() -> None:
    record = call_record(finished(stream=True, answer="Hallo Zoë"))
    assert record["answer_sha256"] == hashlib.sha256("Hallo Zoë".encode()).hexdigest()


def test_the_full_texts_only_when_the_call_says_so() -> None:
    record = call_record(finished(stream=True, answer="Hallo Zoë", audit_full_text=True))
    assert record["prompt"] == MESSAGES and record["answer"] == "Hallo Zoë"


def test_a_refused_call_records_the_error_as_its_decision() -> None:
    call = Call(id="req-2", endpoint="completions", body={"model": "m", "prompt": "x"},
                model="m", stream=False, status=401, error="invalid_api_key")  # fmt: skip
    record = call_record(call)
    assert record["decision"] == "invalid_api_key"
    assert (record["team"], record["user"], record["answer_sha256"]) == (None, None, None)
    assert record["prompt_sha256"] == hashlib.sha256(b'"x"').hexdigest()
    assert record["guards"] == [] and record["attempts"] == []


def test_a_call_that_never_parsed_has_no_prompt_hash() -> None:
    call = Call(id="req-3", endpoint="embeddings", body={}, model="", stream=False,
                status=400, error="invalid_json")  # fmt: skip
    record = call_record(call)
    assert (record["model"], record["prompt_sha256"]) == (None, None)
