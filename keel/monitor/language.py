"""The language a prompt is written in, roughly, for the traffic monitor's language mix.

By script first (Han, kana, Hangul, Cyrillic, Arabic, Devanagari, Greek, Hebrew, Thai), then,
for Latin script, by which language's commonest words the text uses most. Good enough to see
a mix move (a new market, a broken client sending another locale), not a language identifier:
short or mixed texts come out ``other``. Reads at most the first 2,000 characters.
"""

from __future__ import annotations

import re

__all__ = ["LANGUAGES", "language_of"]

_SAMPLE = 2000
_WORD = re.compile(r"[^\W\d_]+")

# The commonest short words of each language, few shared between them.
_COMMON = {
    "en": "the and is are of to in that it for with you this what how",
    "de": "der die das und ist nicht ich sie mit auf für ein eine zu den wie",
    "fr": "le la les et est une des du que pour dans pas vous je ce qui",
    "es": "el la los las y es una que en por para con no lo del se cómo",
    "it": "il lo la gli le e è che di per con non una sono come del della",
    "pt": "o a os as e é um uma que de para com não do da em como você",
    "nl": "de het een en is van dat niet ik je met voor op zijn wat hoe",
    "pl": "i w na nie jest to że się z do jak co czy dla mi ale",
    "sv": "och är att det en som på för med jag inte av har till hur vad",
    "tr": "ve bir bu için ile da de ne mi değil çok ben sen nas\u0131l gibi",
}
_WORDS = {name: frozenset(words.split()) for name, words in _COMMON.items()}

# (first, last) code points of each script, in the order they are tested.
_SCRIPTS: tuple[tuple[str, int, int], ...] = (
    ("ja", 0x3040, 0x30FF),  # kana: before Han, which Japanese also uses
    ("ko", 0xAC00, 0xD7AF),
    ("zh", 0x4E00, 0x9FFF),
    ("ru", 0x0400, 0x04FF),
    ("ar", 0x0600, 0x06FF),
    ("hi", 0x0900, 0x097F),
    ("el", 0x0370, 0x03FF),
    ("he", 0x0590, 0x05FF),
    ("th", 0x0E00, 0x0E7F),
)

LANGUAGES = (*_WORDS, *(name for name, _, _ in _SCRIPTS), "other")


def language_of(text: str) -> str:
    sample = text[:_SAMPLE]
    script = _script(sample)
    if script is not None:
        return script
    words = [w.lower() for w in _WORD.findall(sample)]
    if len(words) < 3:
        return "other"
    best, hits = "other", 1  # one common word is chance
    for name, common in _WORDS.items():
        count = sum(1 for w in words if w in common)
        if count > hits:
            best, hits = name, count
    return best


def _script(sample: str) -> str | None:
    """The non-Latin script of most of the text's letters, if one has a fifth of them."""
    counts: dict[str, int] = {}
    letters = 0
    for ch in sample:
        if not ch.isalpha():
            continue
        letters += 1
        code = ord(ch)
        if code < 0x0370:
            continue
        for name, first, last in _SCRIPTS:
            if first <= code <= last:
                counts[name] = counts.get(name, 0) + 1
                break
    if not counts or letters == 0:
        return None
    if counts.get("ja", 0) * 10 >= letters:  # kana beside Han: Japanese
        return "ja"
    name, count = max(counts.items(), key=lambda item: item[1])
    return name if count * 5 >= letters else None
