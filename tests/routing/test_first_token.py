"""What counts as the start of an answer in a stream."""

from __future__ import annotations

from typing import Any

import pytest

from keel.answer import starts_answer


@pytest.mark.parametrize(
    ("event", "starts"),
    [
        ({"choices": [{"delta": {"role": "assistant", "content": ""}}]}, False),
        ({"choices": [{"delta": {"content": "Hi"}}]}, True),
        ({"choices": [{"delta": {"tool_calls": [{"index": 0}]}}]}, True),
        ({"choices": [{"delta": {}, "finish_reason": "stop"}]}, True),
        ({"choices": [{"text": "Hi", "finish_reason": None}]}, True),  # completions
        ({"choices": [], "usage": {"prompt_tokens": 1}}, False),
        ({"choices": "nonsense"}, False),
        ({}, False),
    ],
)
def test_starts_answer(event: dict[str, Any], starts: bool) -> None:
    assert starts_answer(event) is starts
