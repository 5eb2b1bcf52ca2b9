"""What the prompt-injection guard costs on one core: python scripts/injection_cost.py

Times ``guard.score`` on a typical chat message and on a 4 KB tool result, and ``screen`` on a
five-message conversation (which also scores the joined runs), as the median of repeated runs.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from keel.guard.injection import score, screen

MESSAGE = "Can you summarise the attached meeting notes and list the three action items?"
PARAGRAPH = (
    "The quarterly report shows revenue up four percent, driven by the new subscription "
    "tier. Support tickets fell after the onboarding guide was rewritten in March. "
)
TOOL_RESULT = (PARAGRAPH * 30)[:4096]
CHAT = [{"role": "system", "content": "You are helpful."}] + [
    {"role": "user" if i % 2 else "tool", "content": MESSAGE} for i in range(5)
]


def median_us(call: Callable[[], object], runs: int = 2000) -> float:
    call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    print(f"typical message ({len(MESSAGE)} chars): {median_us(lambda: score(MESSAGE)):.0f} µs")
    print(f"4 KB tool result: {median_us(lambda: score(TOOL_RESULT), 300):.0f} µs")
    print(f"screen, 5 messages: {median_us(lambda: screen(CHAT), 500):.0f} µs")


if __name__ == "__main__":
    main()
