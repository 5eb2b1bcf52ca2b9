"""Open prompt-injection detectors on the evaluation texts, for scripts/injection_eval.py.

Run under bench/.injection-venv's Python (bench/injection_detectors_setup.sh): reads one JSON
string per line on stdin, prints {detector: [flagged, ...]} as JSON. Both detectors are
regex/heuristic and run offline; each is used at its own default threshold.
"""

from __future__ import annotations

import json
import sys

import injectionshield
from prompt_shield import PromptScanner


def main() -> None:
    texts = [json.loads(line) for line in sys.stdin.read().splitlines()]
    scanner = PromptScanner()
    out = {
        "injectionshield": [not injectionshield.scan(t).safe for t in texts],
        "ai-injection-guard": [not scanner.scan(t).is_safe for t in texts],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
