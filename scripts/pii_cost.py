"""What ``detect`` costs per text, best of N: python -m scripts.pii_cost [--repeat N] [--tree DIR]

The three texts of the PII goal (a typical message with PII, one with digits and no PII,
2 KB of prose) and a short one without digits. ``--tree`` times another checkout's keel
(``git worktree add /tmp/pii-base <commit>``) in a child process, alternating with this
one, so both see the same load on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

TEXTS = {
    "short, no digits": "Can you summarise the attached report for the team?",
    "typical, digits, no PII": (
        "We shipped 3 boxes and 12 pallets last week; version 2.4.1 of the report is attached. "
        "Can you compare Q3 with Q2 and list the top 5 risks, with about 200 words each?"
    ),
    "typical, with PII": (
        "Hi, I'm Anna (anna.schmidt@example.com, +49 151 23456789). My IBAN is DE89 3704 0044 "
        "0532 0130 00 and I was born on 12 March 1980. Please draft a letter to my bank."
    ),
    "2 KB prose": (
        "The quarterly review showed steady growth across all regions, with 14 new customers "
        "and a retention rate of 93 percent. "
    )
    * 16,
}
_CHILD = """
import json, sys, timeit
from keel.guard.pii import detect
texts, repeat = json.loads(sys.argv[1]), int(sys.argv[2])
out = {}
for name, text in texts.items():
    timer = timeit.Timer(lambda text=text: detect(text))
    loops, _ = timer.autorange()
    out[name] = min(timer.repeat(repeat, loops)) / loops * 1e6
print(json.dumps(out))
"""


def measure(tree: Path, repeat: int) -> dict[str, float]:
    """µs per text, best of ``repeat``, with ``tree``'s keel imported in a fresh process."""
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(TEXTS), str(repeat)],
        env={"PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"},
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(result.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="best of N runs per text")
    parser.add_argument("--rounds", type=int, default=3, help="alternations with --tree")
    parser.add_argument("--tree", type=Path, help="another checkout to time alongside")
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    trees = [here, *([args.tree.resolve()] if args.tree else [])]
    best: dict[Path, dict[str, float]] = {}
    for _ in range(args.rounds):
        for tree in trees:
            got = measure(tree, args.repeat)
            old = best.setdefault(tree, got)
            best[tree] = {k: min(v, old[k]) for k, v in got.items()}
    print(f"{'text':26} {'chars':>6} " + " ".join(f"{t.name[:14]:>14}" for t in trees))
    for name, text in TEXTS.items():
        cells = " ".join(f"{best[t][name]:12.1f}µs" for t in trees)
        print(f"{name:26} {len(text):6} {cells}")


if __name__ == "__main__":
    main()
