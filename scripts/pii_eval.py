"""PII detection measured on the labelled corpus: python -m scripts.pii_eval [--errors N]

Prints precision and recall per entity type (span-level: kind and exact span must match) and
overall, then microseconds per call of ``detect`` on typical chat messages and per chunk of
the stream guard (timeit, best of 5).
Run it with ``-m`` from the checkout, so this checkout's ``keel`` is the one measured.
"""

from __future__ import annotations

import argparse
import timeit
from pathlib import Path

from keel.guard.pii import Kind, Pseudonymiser, StreamGuard, detect
from keel.guard.pii.evaluation import evaluate, load_corpus, score_table

CORPUS = Path(__file__).parents[1] / "tests" / "guard" / "data" / "pii_corpus.jsonl"

MESSAGES = {
    "short, no digits (pre-check only)": "Can you summarise the attached report for the team?",
    "typical, digits, no PII": (
        "We shipped 3 boxes and 12 pallets last week; version 2.4.1 of the report is attached. "
        "Can you compare Q3 with Q2 and list the top 5 risks, with about 200 words each?"
    ),
    "typical, with PII": (
        "Hi, I'm Anna (anna.schmidt@example.com, +49 151 23456789). My IBAN is DE89 3704 0044 "
        "0532 0130 00 and I was born on 12 March 1980. Please draft a letter to my bank."
    ),
    "long answer (~2 KB prose)": (
        "The quarterly review showed steady growth across all regions, with 14 new customers "
        "and a retention rate of 93 percent. "
    )
    * 16,
}


def timing() -> list[tuple[str, int, float]]:
    rows = []
    for name, text in MESSAGES.items():
        timer = timeit.Timer(lambda text=text: detect(text))
        loops, _ = timer.autorange()
        best = min(timer.repeat(5, loops)) / loops
        rows.append((name, len(text), best * 1e6))
    return rows


def stream_timing(chunk: int = 4) -> list[tuple[str, int, float]]:
    """µs per ``feed`` when an answer arrives ``chunk`` characters at a time (about a token)."""
    kinds = frozenset(Kind) - {Kind.PERSON}
    pseudonymiser = Pseudonymiser()
    pseudonymiser.pseudonymise(MESSAGES["typical, with PII"])
    rows = []
    for name, text in MESSAGES.items():
        pieces = [text[i : i + chunk] for i in range(0, len(text), chunk)]

        def run(pieces: list[str] = pieces) -> None:
            guard = StreamGuard(kinds, pseudonymiser)
            for piece in pieces:
                guard.feed(piece)
            guard.flush()

        timer = timeit.Timer(run)
        loops, _ = timer.autorange()
        best = min(timer.repeat(5, loops)) / loops
        rows.append((name, len(pieces), best * 1e6 / len(pieces)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument(
        "--errors", type=int, default=0, help="print N misses/false alarms per kind"
    )
    parser.add_argument("--no-timing", action="store_true")
    args = parser.parse_args()
    records = load_corpus(args.corpus)
    scores = evaluate(records, keep=args.errors)
    print(f"{len(records)} texts, {args.corpus.name}\n")
    print(score_table(scores))
    for kind, s in scores.items():
        for label, examples in (("missed", s.misses), ("false alarm", s.false_alarms)):
            for example in examples:
                print(f"  {kind} {label}: {example}")
    if not args.no_timing:
        print("\ndetect(), µs per message (best of 5):")
        for name, size, us in timing():
            print(f"  {name:36} {size:5} chars {us:8.1f} µs")
        print("\nStreamGuard (every kind redacted, placeholders restored), 4-char chunks:")
        for name, chunks, us in stream_timing():
            print(f"  {name:36} {chunks:5} chunks {us:7.1f} µs per chunk")


if __name__ == "__main__":
    main()
