"""Prompt sources for scripts/embedding_drift_eval.py: topic families of prompts in four
languages, from the templates and slot values in embedding_drift_corpus.toml.

Seeded and reproducible: ``prompts(source, n, seed)`` gives the same list for the same
arguments. The base traffic is a mixture of three families (customer support 40%, code 35%,
HR 25%) in English (55%), German, French and Spanish (15% each); the drift sources are
families it never contains: ``finance`` (expense questions), ``legal`` (contract questions)
and ``devops`` (deployment and infrastructure questions: near ``code``, the subtle one). Each
family's templates come in two halves (``half`` 0 and 1): the same topics in other words, for
the rephrased-traffic row of the evaluation.
"""

from __future__ import annotations

import random
import tomllib
from pathlib import Path
from typing import Any

__all__ = ["BASE", "DRIFTS", "prompts"]

DATA: dict[str, Any] = tomllib.loads((Path(__file__).with_suffix(".toml")).read_text("utf-8"))
BASE = {"support": 0.4, "code": 0.35, "hr": 0.25}
DRIFTS = ("finance", "legal", "devops")
LANGUAGES = {"en": 0.55, "de": 0.15, "fr": 0.15, "es": 0.15}


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _fill(template: str, rng: random.Random) -> str:
    values = {name: rng.choice(options) for name, options in DATA["slots"].items()}
    text: str = template.format(**values)
    return text[0].upper() + text[1:]


def prompts(source: str, n: int, seed: int, half: int | None = None) -> list[str]:
    """``n`` prompts of ``source`` ("base" or a family name); ``half`` 0 or 1 keeps to one half
    of each family's templates (None: both)."""
    rng = random.Random(f"{source}:{seed}:{half}")
    out = []
    for _ in range(n):
        family = _pick(rng, BASE) if source == "base" else source
        halves = DATA["templates"][family][_pick(rng, LANGUAGES)]
        templates = [*halves["a"], *halves["b"]] if half is None else halves["ab"[half]]
        out.append(_fill(rng.choice(templates), rng))
    return out
