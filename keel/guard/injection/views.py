"""Other readings of a text, for instructions hidden from a literal read.

Obfuscated views undo leetspeak ("1gn0re"), letter spacing ("i g n o r e", "i-g-n-o-r-e"),
ROT13 and reversed text. Decoded texts are base64, base32, hex and binary runs that decode to
readable text, and the ASCII that Unicode tag characters (invisible) spell. Each view is only
built when a cheap trigger says the text might need it, so ordinary prose costs one or two
failed searches. ``readings`` gathers them once for both judges.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass

from keel.guard.injection.text import normalise, words

__all__ = ["Readings", "decoded_texts", "hidden_tags", "obfuscated_views", "readings"]

# A leet digit next to a letter. Written to start with the digit class, so the engine scans
# for those few characters instead of trying at every letter: ~7x faster on prose.
_LEET_HINT = re.compile(r"[013457@$](?:(?<=[a-z].)|(?=[a-z]))")
_LEET = str.maketrans("013457@$", "oieastas")
# One letter, a separator, one letter, ... with the same separator throughout: a spaced word.
# Two letters are enough with punctuation ("d-o"); spaces need three ("y o u"), as "a b" is
# common in ordinary text.
_SPACED = re.compile(r"\b\w([.\-_*])(?:\w\1)*\w\b|\b\w (?:\w )+\w\b")
_SEPARATORS = re.compile(r"[ .\-_*]")
# ROT13 is read when the text says so, or holds the ROT13 of a word every English sentence has.
_ROT13_HINT = frozenset(
    ["rot13", "rot", "gur", "lbh", "naq", "lbhe", "nyy", "vtaber", "cerivbhf", "vafgehpgvbaf"]
)
# Reversed text holds a reversed common word ("the" -> "eht"), which prose in no language has.
_REVERSED_HINT = frozenset(
    [
        "eht",
        "uoy",
        "ruoy",
        "dna",
        "lla",
        "erongi",
        "suoiverp",
        "snoitcurtsni",
        "tpmorp",
        "metsys",
        "drowssap",
        "laever",
    ]
)
_BASE32 = re.compile(r"[A-Z2-7]{16,}=*")
_BINARY = re.compile(r"(?:[01]{8}[ ,]?){4,}")
_TAG = re.compile("[\U000e0000-\U000e007f]")

_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX = re.compile(r"[0-9a-f]{2}(?:[ :,]?[0-9a-f]{2}){11,}")
_HEX_NOISE = re.compile(r"[^0-9a-f]")
_MAX_RUNS = 4  # decode at most this many runs per text: a bound on work for hostile input
_MAX_RUN = 8192
_LAYOUT = str.maketrans("", "", "\n\r\t")
# Triggers read off the text's word set, so ordinary prose pays no regex scan for them.
_LONG_WORD = 16  # a base64 or contiguous hex run is at least one word this long
_SPLIT_RUN = 4  # this many distinct letters standing alone ("g n o r"), or hex bytes ("69 67")
# Letters that stand alone in ordinary prose ("a", "I", "don't", "I'm", "I'd") do not count.
_LONE_LETTERS = frozenset("bcefghjklnopqruvwxyz")
_HEX_BYTE = frozenset(f"{b:02x}" for b in range(0x20, 0x7F))  # printable ASCII, in hex


def obfuscated_views(folded: str, plain: str, present: frozenset[str]) -> Iterator[str]:
    """``plain`` read as leetspeak, with spaced-out letters joined, and ROT13-decoded, for the
    views whose trigger fires. ``folded`` is the text before spacing was collapsed and
    ``present`` the words of ``plain``."""
    if _LEET_HINT.search(plain) is not None:
        yield plain.translate(_LEET)
    if len(_LONE_LETTERS & present) >= _SPLIT_RUN and _SPACED.search(folded) is not None:
        joined = _SPACED.sub(lambda m: _SEPARATORS.sub("", m.group(0)), folded)
        yield " ".join(joined.split())
    if not _ROT13_HINT.isdisjoint(present):
        yield codecs.encode(plain, "rot13")
    if not _REVERSED_HINT.isdisjoint(present):
        yield plain[::-1]


def decoded_texts(text: str, plain: str, present: frozenset[str]) -> Iterator[str]:
    """Readable text decoded from base64 runs in ``text`` (raw, case kept) and hex runs in
    ``plain`` (its normalised form, whose words are ``present``)."""
    longest = max(map(len, present), default=0)
    if longest >= _LONG_WORD:
        for match in _take(_BASE64.finditer(text)):
            run = match.group(0).rstrip("=").replace("-", "+").replace("_", "/")
            decoded = _readable(_unbase64(run + "=" * (-len(run) % 4)))
            if decoded is None and _BASE32.fullmatch(run):
                decoded = _readable(_unbase32(run))
            if decoded is not None:
                yield decoded
    escaped = "\\x" in plain or "0x" in plain
    if escaped or longest >= _LONG_WORD or len(_HEX_BYTE & present) >= _SPLIT_RUN:
        hexed = plain.replace("\\x", " ").replace("0x", " ") if escaped else plain
        for match in _take(_HEX.finditer(hexed)):
            decoded = _readable(bytes.fromhex(_HEX_NOISE.sub("", match.group(0))))
            if decoded is not None:
                yield decoded
    if "01" in plain and any(map(_is_bits, present)):
        for match in _take(_BINARY.finditer(plain)):
            bits = match.group(0).replace(" ", "").replace(",", "")
            decoded = _readable(int(bits, 2).to_bytes(len(bits) // 8, "big"))
            if decoded is not None:
                yield decoded
    tags = hidden_tags(text)
    if tags:
        yield tags


def hidden_tags(text: str) -> str:
    """The ASCII that Unicode tag characters in ``text`` spell (invisible when rendered), or
    "" when it has none."""
    if text.isascii() or _TAG.search(text) is None:
        return ""
    return "".join(chr(ord(c) - 0xE0000) for c in text if 0xE0000 <= ord(c) <= 0xE007F)


@dataclass(frozen=True, slots=True)
class Readings:
    """A text's words and its other readings, normalised: what both judges read."""

    present: frozenset[str]
    obfuscated: tuple[str, ...]
    decoded: tuple[str, ...]

    @property
    def views(self) -> tuple[str, ...]:
        return self.obfuscated + self.decoded


def readings(text: str, folded: str, plain: str) -> Readings:
    """``text`` (raw), ``folded`` (``fold(text)``) and ``plain`` (``collapse(folded)``) read
    every way whose trigger fires."""
    present = words(plain)
    obfuscated = tuple(dict.fromkeys(obfuscated_views(folded, plain, present)))
    decoded = tuple(dict.fromkeys(normalise(d) for d in decoded_texts(text, plain, present)))
    return Readings(present, obfuscated, decoded)


def _take(matches: Iterator[re.Match[str]]) -> Iterator[re.Match[str]]:
    for count, match in enumerate(matches):
        if count == _MAX_RUNS:
            return
        if len(match.group(0)) <= _MAX_RUN:
            yield match


def _unbase64(run: str) -> bytes:
    try:
        return binascii.a2b_base64(run, strict_mode=True)
    except binascii.Error:
        return b""


def _unbase32(run: str) -> bytes:
    try:
        return base64.b32decode(run + "=" * (-len(run) % 8))
    except binascii.Error:
        return b""


def _is_bits(word: str) -> bool:
    """A word of binary digits: one byte, or many written without spaces."""
    return (len(word) == 8 or len(word) >= 32) and not word.strip("01")


def _readable(data: bytes) -> str | None:
    """The bytes as text if they look like words, not a hash, key or image."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.count(" ") < 2 or not text.translate(_LAYOUT).isprintable():
        return None
    return text
