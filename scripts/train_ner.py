"""Train keel's NER tagger: python -m scripts.train_ner [--per-template N] [--out PATH]

Makes the training sentences (scripts/ner_corpus.py: templates in seven languages filled
by faker, and look-alike sentences from scripts/ner_negatives.py), builds the name lists
from faker's training locales, calibrates each kind's margin on a dev split (a tagger
trained without a fifth of the template families and look-alike words, scored on that
fifth), trains the averaged perceptron on everything (keel.guard.ner.training) and writes
keel/guard/ner/data/model.bin.gz. Every
step is seeded and the file has no timestamp, so a re-run writes the same bytes (the
SHA-256 it prints says so). Evaluation is apart: python -m scripts.ner_eval.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

from keel.guard.ner import Tagger
from keel.guard.ner.loader import MODEL_PATH, dump
from keel.guard.ner.training import calibrate, train
from scripts.ner_corpus import gazetteer, training_set


def main() -> None:
    if os.environ.get("PYTHONHASHSEED") != "0":
        # faker draws from sets in places, whose order follows the string hash seed: pin it,
        # or two runs write different sentences and so different weights.
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        os.execve(sys.executable, [sys.executable, "-m", "scripts.train_ner", *sys.argv[1:]], env)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-template", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--hide", type=float, default=0.5, help="share of names hidden")
    parser.add_argument("--beta", type=float, default=1.0, help="F-beta the margins aim at")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args()
    t0 = time.perf_counter()
    first, last = gazetteer()
    margins = dev_margins(args, first, last)
    print(f"margins (calibrated on held-out families): {margins}")
    examples = training_set(args.per_template)
    print(f"{len(examples)} sentences, {len(first)} first names, {len(last)} last names")
    weights = train(
        [(e.text, e.spans) for e in examples], first, last, epochs=args.epochs, hide=args.hide
    )
    weights.margins.update(margins)
    dump(weights, args.out)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    size = args.out.stat().st_size
    print(f"{len(weights.features)} features, {size / 1e6:.2f} MB -> {args.out}")
    print(f"sha256 {digest}  ({time.perf_counter() - t0:.0f} s)")


def dev_margins(args: argparse.Namespace, first: list[str], last: list[str]) -> dict[str, float]:
    """Margins from a tagger trained without a fifth of the template families and
    look-alike words, measured on that fifth."""
    part = training_set(args.per_template, part="train")
    weights = train(
        [(e.text, e.spans) for e in part], first, last, epochs=args.epochs, hide=args.hide
    )
    dev = training_set(args.per_template, part="dev")
    print(f"dev: {len(part)} sentences to train, {len(dev)} to calibrate on")
    return calibrate(Tagger(weights), [(e.text, e.spans) for e in dev], beta=args.beta)


if __name__ == "__main__":
    main()
