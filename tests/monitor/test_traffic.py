"""The traffic monitor: finished calls in, Prometheus samples out, no text kept."""

from __future__ import annotations

import orjson
import pytest

from keel.call import Attempt, Call, Usage
from keel.monitor.language import language_of
from keel.monitor.metrics import Metrics
from keel.monitor.tap import Tap
from keel.monitor.traffic import TrafficMonitor, is_refusal


def _call(answer: bytes | str | None, status: int = 200, **kw: object) -> Call:
    call = Call(
        id="r1",
        endpoint="chat",
        body={"model": "m", "messages": [{"role": "user", "content": "What is the time in Oslo?"}]},
        model="m",
        stream=isinstance(answer, str),
    )
    call.deployment = "d1"
    call.status = status
    call.answer = answer
    call.usage = Usage(7, 3)
    call.attempts = [Attempt("d1", None, 0.01)]
    for name, value in kw.items():
        setattr(call, name, value)
    return call


def _chat(content: str | None, **message: object) -> bytes:
    body = {"choices": [{"message": {"role": "assistant", "content": content, "refusal": None,
                                     **message}, "finish_reason": "stop"}]}  # fmt: skip
    return orjson.dumps(body)


def _sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def _monitor() -> tuple[Metrics, TrafficMonitor]:
    metrics = Metrics()
    return metrics, TrafficMonitor(metrics, lambda call: "-")


def test_ok_answer_counts_lengths_tokens_and_language() -> None:
    metrics, monitor = _monitor()
    monitor.read(_call(_chat("It is noon.")))
    labels = {"model": "m", "deployment": "d1", "arm": "-"}
    assert _sample(metrics, "keel_answers_total", **labels, outcome="ok") == 1
    assert _sample(metrics, "keel_prompt_chars_sum", **labels) == len("What is the time in Oslo?")
    assert _sample(metrics, "keel_answer_chars_sum", **labels) == len("It is noon.")
    assert _sample(metrics, "keel_tokens_per_request_sum", **labels, kind="completion") == 3
    assert _sample(metrics, "keel_prompt_language_total", model="m", language="en") == 1


def test_refusals_tool_calls_errors_and_retries_are_told_apart() -> None:
    metrics, monitor = _monitor()
    monitor.read(_call(_chat("I'm sorry, but I can't help with that.")))
    monitor.read(_call(_chat(None, tool_calls=[{"id": "t", "type": "function"}])))
    filtered = {"choices": [{"message": {"content": ""}, "finish_reason": "content_filter"}]}
    monitor.read(_call(orjson.dumps(filtered)))
    two = [Attempt("d0", "timeout", 1.0), Attempt("d1", None, 0.1)]
    monitor.read(_call(None, status=502, attempts=two))
    labels = {"model": "m", "deployment": "d1", "arm": "-"}
    assert _sample(metrics, "keel_answers_total", **labels, outcome="refusal") == 2
    assert _sample(metrics, "keel_answers_total", **labels, outcome="tool_call") == 1
    assert _sample(metrics, "keel_answers_total", **labels, outcome="error") == 1
    assert _sample(metrics, "keel_answers_total", **labels, outcome="retried") == 1
    assert _sample(metrics, "keel_answers_total", **labels, outcome="ok") == 0


def test_a_null_refusal_field_is_not_a_refusal() -> None:
    metrics, monitor = _monitor()
    monitor.read(_call(_chat("Fine.")))  # every OpenAI message carries "refusal": null
    labels = {"model": "m", "deployment": "d1", "arm": "-", "outcome": "refusal"}
    assert _sample(metrics, "keel_answers_total", **labels) == 0


def test_streams_are_measured_by_their_text_and_shadows_are_not_read() -> None:
    metrics, monitor = _monitor()
    monitor.read(_call("Streamed answer"))
    monitor.read(_call(_chat("x"), kind="shadow"))
    labels = {"model": "m", "deployment": "d1", "arm": "-"}
    assert _sample(metrics, "keel_answer_chars_sum", **labels) == len("Streamed answer")
    assert _sample(metrics, "keel_answers_total", **labels, outcome="ok") == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I cannot help with that request.", True),
        ("I\u2019m sorry, but I can\u2019t share that.", True),
        ("Lo siento, pero no puedo ayudarte con eso.", True),
        ("Es tut mir leid, aber ich kann das nicht.", True),
        ("I can help with that: here is the plan.", False),
        ("Sorry for the delay, here is your summary.", False),
    ],
)
def test_refusal_phrases(text: str, expected: bool) -> None:
    assert is_refusal(text) is expected


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("How do I reset the password for this account?", "en"),
        ("Wie kann ich das Passwort für die Anmeldung nicht ändern?", "de"),
        ("Comment est-ce que je peux changer le mot de passe pour le compte?", "fr"),
        ("¿Cómo puedo cambiar la contraseña de la cuenta para el usuario?", "es"),
        ("パスワードを変更するにはどうすればいいですか", "ja"),
        ("如何更改我的账户密码", "zh"),
        ("Как изменить пароль для этой учётной записи?", "ru"),
        ("12345 67890", "other"),
    ],
)
def test_language_of(text: str, language: str) -> None:
    assert language_of(text) == language


class _Boom:
    name = "boom"

    def __init__(self) -> None:
        self.ticks = 0

    def read(self, call: Call) -> None:
        raise RuntimeError("broken monitor")

    async def tick(self, now: float) -> None:
        self.ticks += 1
        raise RuntimeError("broken tick")

    async def close(self) -> None:
        return None


async def test_tap_drops_beyond_its_size_and_survives_a_broken_monitor() -> None:
    metrics, traffic = _monitor()
    boom = _Boom()
    tap = Tap([boom, traffic], size=2, metrics=metrics)
    for _ in range(3):
        tap.offer(_call(_chat("ok")))
    assert _sample(metrics, "keel_monitor_dropped_total", monitor="tap") == 1
    await tap.tick()
    await tap.tick()
    labels = {"model": "m", "deployment": "d1", "arm": "-", "outcome": "ok"}
    assert _sample(metrics, "keel_answers_total", **labels) == 2  # the broken one did not stop it
    assert boom.ticks == 2
    assert not tap.queue
