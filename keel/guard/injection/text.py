"""The one text normalisation the prompt-injection rules and classifier share.

Attackers dodge literal matching with look-alike letters (Cyrillic "\u0430" for "a"),
full-width forms, invisible characters inside words and odd spacing. Folding these away first
means a pattern or an n-gram weight written for "ignore" also meets "\u0456gn\u043ere" and
"i\u200bgnore". Pure-ASCII text, the common case, skips the Unicode work.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["collapse", "fold", "has_disguise", "normalise", "words"]

# Zero-width and other invisible format characters that render as nothing inside a word.
_INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"
# Cyrillic and Greek letters that look like Latin ones (escaped: the look-alike is the point),
# and the Latin letter each stands for.
_LOOK = (
    "\u0430\u0435\u043e\u0440\u0441\u0445\u0443\u0456\u0458\u0455\u0501\u04bb\u04cf\u051b"
    "\u051d\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425\u0406\u0408"
    "\u0405\u03b1\u03b5\u03b9\u03ba\u03bd\u03bf\u03c1\u03c4\u03c5\u03c7\u0391\u0392\u0395"
    "\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a7"
)
_LATIN = "aeopcxyijsdhlqwabekmhopctxijsaeikvoptuxabeikmnoptx"
_QUOTES = {ord("\u2018"): "'", ord("\u2019"): "'", ord("\u201c"): '"', ord("\u201d"): '"'}
# Unicode tag characters (U+E0000-E007F) render as nothing; they spell ASCII text that some
# models read (views.hidden_tags recovers it), so the plain view drops them like the others.
_TAGS = {code: None for code in range(0xE0000, 0xE0080)}
_FOLD = {ord(c): None for c in _INVISIBLE} | _TAGS | str.maketrans(_LOOK, _LATIN) | _QUOTES
_WORD = re.compile(r"\w+")
# Every ASCII byte that is not a word character, for splitting ASCII text without a regex.
_NOT_WORD = bytes(b for b in range(128) if not (chr(b).isalnum() or b == ord("_")))
_SPLIT = bytes.maketrans(_NOT_WORD, b" " * len(_NOT_WORD))
# A look-alike next to a Latin letter, an invisible or a full-width character: text written to
# dodge filters. Whole words in Cyrillic or Greek are ordinary text in those scripts.
_DISGUISE = re.compile(
    f"[a-zA-Z][{_LOOK}]|[{_LOOK}][a-zA-Z]|[{_INVISIBLE}]|[\uff01-\uff5e]|[\U000e0000-\U000e007f]"
)


def fold(text: str) -> str:
    """Lower case, NFKC, look-alikes to Latin, curly quotes straight, invisible characters
    dropped; spacing kept."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_FOLD)
    return text.lower()


def collapse(folded: str) -> str:
    """Runs of spaces to one space and blank lines to one line break, so patterns can rely on
    single spaces yet still see where lines start."""
    # str.split beats a regex substitution here by ~3x on typical messages.
    if "\n" not in folded:
        return " ".join(folded.split())
    return "\n".join(filter(None, (" ".join(line.split()) for line in folded.splitlines())))


def normalise(text: str) -> str:
    return collapse(fold(text))


def has_disguise(text: str) -> bool:
    """Whether the raw text uses look-alike letters, full-width forms or invisible characters."""
    return not text.isascii() and _DISGUISE.search(text) is not None


def words(plain: str) -> frozenset[str]:
    """The distinct words (runs of word characters, as regex ``\\w+``) of normalised text."""
    if plain.isascii():
        return frozenset(plain.encode("ascii").translate(_SPLIT).decode("ascii").split())
    return frozenset(_WORD.findall(plain))
