"""The shipped model file: one gzip (no timestamp, so a re-run writes the same bytes).

Layout after decompression: a JSON header line, then the sections it names, in order:
feature names and the two name lists (UTF-8, one per line), then the weights as
little-endian int16 (feature rows, then the transition rows), which ``scale`` turns back
into floats; the header also holds each kind's least score margin. Quantised weights keep
the file at about a megabyte; the tagger's decisions
move by less than the gap between its scores (checked by the training script).
"""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["MODEL_PATH", "Weights", "dump", "read"]

MODEL_PATH = Path(__file__).with_name("data") / "model.bin.gz"
_MAGIC = "keel-ner 2"
Floats = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Weights:
    tags: list[str]
    features: list[str]
    first: list[str]
    last: list[str]
    emit: Floats  # (len(features), len(tags))
    trans: Floats  # (len(tags) + 1, len(tags)); the last row is the start
    # Kind -> the least score margin an entity of that kind needs (keel.guard.ner.model).
    margins: dict[str, float] = field(default_factory=dict)


def _quantise(w: Floats) -> tuple[npt.NDArray[np.int16], float]:
    top = float(np.abs(w).max()) or 1.0
    scale = top / 32000.0
    return np.round(w / scale).astype("<i2"), scale


def dump(weights: Weights, path: Path) -> None:
    both = np.concatenate([weights.emit, weights.trans]).astype(np.float32)
    ints, scale = _quantise(both)
    texts = ["\n".join(x).encode() for x in (weights.features, weights.first, weights.last)]
    header = {
        "magic": _MAGIC,
        "margins": {k: round(v, 4) for k, v in sorted(weights.margins.items())},
        "tags": weights.tags,
        "scale": scale,
        "rows": len(weights.features),
        "sections": [len(t) for t in texts],
    }
    raw = io.BytesIO()
    raw.write(json.dumps(header, sort_keys=True).encode() + b"\n")
    for t in texts:
        raw.write(t)
    raw.write(ints.tobytes())
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out, gzip.GzipFile("", "wb", fileobj=out, mtime=0) as z:
        z.write(raw.getvalue())


def read(path: Path = MODEL_PATH) -> Weights:
    data = gzip.decompress(path.read_bytes())
    end = data.index(b"\n")
    header = json.loads(data[:end])
    if header.get("magic") != _MAGIC:
        raise ValueError(f"{path} is not a keel NER model (magic {header.get('magic')!r})")
    at = end + 1
    texts: list[list[str]] = []
    for size in header["sections"]:
        chunk = data[at : at + size].decode()
        texts.append(chunk.split("\n") if chunk else [])
        at += size
    tags: list[str] = header["tags"]
    ints = np.frombuffer(data[at:], dtype="<i2").reshape(-1, len(tags))
    floats = (ints.astype(np.float32) * np.float32(header["scale"])).astype(np.float32)
    rows = int(header["rows"])
    margins = {str(k): float(v) for k, v in header.get("margins", {}).items()}
    return Weights(tags, texts[0], texts[1], texts[2], floats[:rows], floats[rows:], margins)
