"""keel's offline NER recogniser: person names, postal addresses and company names.

A linear-chain tagger (BIO tags, max-marginal decoding with a per-kind margin) over
hand-made token features — shape, case, affixes, neighbouring words such as "Mr", "Frau",
"GmbH", "rue", first- and last-name lists — trained by scripts/train_ner.py on generated
sentences in seven languages. Its weights, margins and name lists ship in
``data/model.bin.gz``; nothing is downloaded and no ML runtime is needed (numpy only).
``load()`` gives the shared ``Tagger``, a ``Recogniser`` for ``keel.guard.pii``
(``detect(text, ner=load())``); data classes switch it on with ``pii: {ner: true}``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from keel.guard.ner.loader import MODEL_PATH, read
from keel.guard.ner.model import TAGS, Tagger

__all__ = ["MODEL_PATH", "TAGS", "Tagger", "load"]


@cache
def load(path: Path = MODEL_PATH) -> Tagger:
    """The tagger of the shipped model (read once per process)."""
    return Tagger(read(path))
