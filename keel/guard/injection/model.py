"""The prompt-injection classifier: logistic regression over hashed n-grams, in numpy.

Features are the character 3- to 6-grams of the normalised text's UTF-8 bytes (a 6-gram is two
CJK characters), plus its words and word pairs, each hashed into one of 2**18 buckets. The
text is read in windows of ``2 * STEP`` bytes overlapping by half; a window's logit is the sum
of its features' bucket weights over the square root of their count, plus a bias. A text's
logit is its highest window's, over the text and its other readings (decoded base64, ROT13,
...: ``views.readings``), less ``length * log(windows)``: the maximum of many windows of
ordinary prose is higher than one window's by chance alone, and that term, fitted with the
weights, keeps a long benign document from scoring above a short one. An instruction hidden in
a long retrieved document is still judged on its own few sentences, not diluted by the rest.
Training fits the loss of that same maximum (multiple-instance learning), so a document
labelled as an injection teaches the words of its worst window, not of its innocent filler.

The score the guard acts on combines this logit with the rule families that matched
(``combine``): a logistic regression over [logit, one indicator per family], fitted on a
split the classifier did not train on, so it is calibrated (class-balanced) and lets a
confident classifier outvote a rule that fires on text *about* injection.

Nothing loops per character or word in Python: an n-gram's key is its bytes read as one
little-endian integer (an unaligned 8-byte view at every offset, masked to n bytes), a word's
key a polynomial hash from differences of one prefix sum of ``byte * P**-k`` (mod 2**64), and
windows are two sums of per-block ``bincount``s.

The weights file (``data/model.json``) holds int16 weights, zlib-compressed and
base64-encoded, a scale, a bias, the length term and the combiner; ``scripts/train_injection.py``
writes it.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "FEATURES",
    "IDENTITY",
    "MODEL_PATH",
    "STEP",
    "Combiner",
    "InjectionModel",
    "default_model",
    "dump_model",
    "features",
    "sigmoid",
    "window_members",
]

FORMAT = "keel.injection-lr.v2"
BITS = 18
STEP = 64  # bytes; a window is two steps
#: What the weights were trained on; a file made for other features is refused, not misread.
FEATURES: dict[str, Any] = {
    "bits": BITS,
    "char_ngrams": [3, 4, 5, 6],
    "words": [1, 2],
    "window_bytes": 2 * STEP,
}
MODEL_PATH = Path(__file__).parent / "data" / "model.json"

Ints = npt.NDArray[np.intp]
_U64 = np.uint64
_P = _U64(0x100000001B3)  # FNV-1 64-bit prime: odd, so invertible mod 2**64
_P_INV = _U64(pow(0x100000001B3, -1, 1 << 64))
_MIX = _U64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the top bits of key * MIX are well spread
_SHIFT = _U64(64 - BITS)
_GRAMS = tuple((n, _U64((1 << 8 * n) - 1)) for n in (3, 4, 5, 6))
# Bytes of word characters: ASCII letters, digits, "_", and every byte of a UTF-8 multibyte
# character (accented letters), matching what the rules call a word closely enough.
_IS_WORD = np.array([chr(b).isalnum() or b == 95 or b >= 0x80 for b in range(256)], dtype=bool)
_TABLE = 16384  # powers and offsets kept for texts up to this many bytes; longer ones compute


def _powers(base: np.uint64, count: int) -> npt.NDArray[np.uint64]:
    """base**k mod 2**64 for k in 0..count-1 (numpy's unsigned products wrap)."""
    out = np.ones(count, dtype=np.uint64)
    np.cumprod(np.full(count - 1, base, dtype=np.uint64), dtype=np.uint64, out=out[1:])
    return out


_POW, _POW_INV = _powers(_P, _TABLE), _powers(_P_INV, _TABLE)
_OFFSETS = np.arange(_TABLE, dtype=np.intp)


def features(plain: str) -> tuple[npt.NDArray[np.uint64], Ints]:
    """The bucket of every feature of normalised text (repeats kept: a count, not a set), and
    the block (``STEP`` bytes) each starts in."""
    raw = f" {plain} ".encode()
    size = len(raw)
    # Every offset's next 8 bytes as one integer; the 8 padding bytes keep the last in bounds.
    grams = np.ndarray((size,), dtype="<u8", buffer=raw + bytes(8), strides=(1,))
    offsets = _OFFSETS if size <= _TABLE else np.arange(size, dtype=np.intp)
    words, starts = _word_keys(np.frombuffer(raw, dtype=np.uint8))
    spans = [max(size - n + 1, 0) for n, _ in _GRAMS]
    keys = np.concatenate(
        [grams[:span] & mask for span, (_, mask) in zip(spans, _GRAMS, strict=True)]
        + [words, words[:-1] * _P + words[1:]]
    )
    where = np.concatenate([offsets[:span] for span in spans] + [starts, starts[:-1]])
    return (keys * _MIX) >> _SHIFT, where // STEP


def _word_keys(data: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint64], Ints]:
    """sum data[k] * P**(b-1-k) over each word [a, b), position-free, from one prefix sum;
    and each word's start a."""
    size = len(data)
    if size <= _TABLE:
        powers, inverses = _POW, _POW_INV
    else:
        powers, inverses = _powers(_P, size), _powers(_P_INV, size)
    # The text is padded with spaces, so word edges come in (start, end) pairs.
    edges = np.flatnonzero(np.diff(_IS_WORD[data].view(np.int8))) + 1
    starts, ends = edges[0::2], edges[1::2]
    prefix = np.zeros(size + 1, dtype=np.uint64)
    np.cumsum(data * inverses[:size], dtype=np.uint64, out=prefix[1:])
    return (prefix[ends] - prefix[starts]) * powers[ends - 1], starts


def window_members(blocks: Ints) -> tuple[Ints, Ints, int]:
    """Which windows each feature is in, as (window, feature) index pairs, and the window
    count. Window k is blocks k and k+1; a text of one block is one window."""
    count = max(1, int(blocks.max(initial=0)))
    first = np.flatnonzero(blocks < count)  # in the window starting at its block
    second = np.flatnonzero(blocks >= 1)  # in the window starting one block earlier
    windows = np.concatenate([blocks[first], blocks[second] - 1])
    return windows, np.concatenate([first, second]), count


@dataclass(frozen=True, slots=True)
class Combiner:
    """The guard's score from the classifier's logit and the rule families that matched."""

    classifier: float
    bias: float
    families: dict[str, float]

    def score(self, logit: float, families: Sequence[str]) -> float:
        z = self.classifier * logit + self.bias
        return sigmoid(z + sum(self.families.get(name, 0.0) for name in families))


#: Until a combiner is fitted: the classifier's own probability, whatever the rules say.
IDENTITY = Combiner(1.0, 0.0, {})


@dataclass(frozen=True, slots=True)
class InjectionModel:
    """Weights per feature bucket, a bias and the length term; ``probability`` is the
    classifier's P(injection), ``combiner`` what the guard makes of it with the rules."""

    weights: npt.NDArray[np.float32]
    bias: float
    meta: dict[str, Any]
    length: float = 0.0
    combiner: Combiner = IDENTITY

    def probability(self, plain: str) -> float:
        """P(injection) of normalised text read only as written."""
        return sigmoid(self.logit((plain,)))

    def logit(self, views: Sequence[str]) -> float:
        """The highest window's logit over the views (the text first, then its other
        readings), less the length term for the text's own number of windows."""
        first = self.window_logits(views[0])
        top = float(first.max())
        for view in views[1:]:
            top = max(top, float(self.window_logits(view).max()))
        return top - self.length * math.log(len(first))

    def window_logits(self, plain: str) -> npt.NDArray[np.float64]:
        ids, blocks = features(plain)
        if not len(ids):
            return np.array([self.bias])
        # Per-block sums and counts; a window is two neighbouring blocks (see window_members).
        sums = np.bincount(blocks, weights=self.weights[ids])
        counts = np.bincount(blocks)
        if len(sums) > 1:
            sums, counts = sums[:-1] + sums[1:], counts[:-1] + counts[1:]
        return sums / np.sqrt(np.maximum(counts, 1)) + self.bias

    @classmethod
    def load(cls, path: Path) -> InjectionModel:
        return cls.from_json(path.read_text(), str(path))

    @classmethod
    def from_json(cls, text: str, origin: str = "model") -> InjectionModel:
        """A model from a weights file's text (see ``dump_model``)."""
        doc = json.loads(text)
        if doc.get("format") != FORMAT or doc.get("features") != FEATURES:
            raise ValueError(
                f"{origin} is not a {FORMAT} model for features {FEATURES}: retrain it with "
                "scripts/train_injection.py"
            )
        raw = zlib.decompress(base64.b64decode(doc["weights"]))
        weights = np.frombuffer(raw, dtype="<i2").astype(np.float32) * np.float32(doc["scale"])
        if len(weights) != 1 << BITS:
            raise ValueError(f"{origin} has {len(weights)} weights, not {1 << BITS}")
        combiner = doc.get("combiner")
        return cls(
            weights,
            float(doc["bias"]),
            dict(doc.get("training", {})),
            float(doc.get("length", 0.0)),
            IDENTITY if combiner is None else Combiner(**combiner),
        )


def dump_model(
    weights: npt.NDArray[np.float64],
    bias: float,
    training: dict[str, Any],
    length: float = 0.0,
    combiner: Combiner | None = None,
) -> str:
    """The weights file's text: int16 weights scaled to the largest, so it stays small."""
    peak = float(np.abs(weights).max()) or 1.0
    scale = peak / 32767
    quantised = np.round(weights / scale).astype("<i2")
    doc = {
        "format": FORMAT,
        "features": FEATURES,
        "bias": round(bias, 9),
        "length": round(length, 9),
        "scale": scale,
        "training": training,
        "weights": base64.b64encode(zlib.compress(quantised.tobytes(), 9)).decode("ascii"),
    }
    if combiner is not None:
        doc["combiner"] = {
            "classifier": round(combiner.classifier, 9),
            "bias": round(combiner.bias, 9),
            "families": {k: round(v, 9) for k, v in sorted(combiner.families.items())},
        }
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


@functools.cache
def default_model() -> InjectionModel:
    """The shipped model, loaded on first use and kept."""
    return InjectionModel.load(MODEL_PATH)


def sigmoid(x: float) -> float:
    """The logistic function, without overflow at either end."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
