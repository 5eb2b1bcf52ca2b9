"""Signs that a text is *about* prompt injection rather than one: quoting, code, reporting.

A security write-up, a test file or a block list quotes attack phrases, and the rules match
them as readily as the attacks. What sets such a text apart is around the phrase: quotation
marks or a code fence holding it, code that lists strings, and words that report or study an
attack ("the attacker wrote", "example of a jailbreak", "test suite"). Each sign is one input
of the combiner (``model.Combiner``), fitted with the rest, so how much a sign discounts a
rule hit is learnt, not set by hand, and no sign on its own clears a text.

The words are a short list per language (the corpus's 30), matched on folded text (lower
case, accents kept): enough to say "this text reports", not a vocabulary of security.
"""

from __future__ import annotations

import re

from keel.guard.injection.text import fold, words

__all__ = ["CUES", "about_cues"]

# A sentence in quotation marks inside prose: the opening mark follows a word and a space
# ('wrote "...', 'such as "...'), so a JSON string value (after ": ") is not one, and the
# span is sentence-long, so a quoted token ('ACCESS GRANTED') is not one either.
_QUOTE_SPAN = r"(?<=\w )[\"'«„`「『][^\"'«»„`」』\n]{25,}[\"'»`」』]"
# Words that report or study an attack, "|" between them; a trailing "*" takes any ending.
_REPORT_WORDS = """
attacker* | attack | attacks | jailbreak* | injection* | payload* | red-team | red team |
example | e.g. | such as | for instance | quote* | phrase* | string* | malicious |
detect* | filter* | blocklist | block list | test suite | test set | test case |
test file | regression | security | researcher* | incident | advisory | wrote |
angreifer* | angriff* | beispiel* | sicherheit* | attaquant* | pirate* | exemple* |
sécurité | atacante* | ejemplo* | seguridad | attaccant* | esempi* | sicurezza | exemplo* |
segurança | aanvaller* | voorbeeld* | beveiliging* | atakując* | przykład* | angripare* |
exempel | angriber* | eksempel* | hyökkääj* | esimerk* | útočník* | příklad* | príklad* |
napadalc* | napadač* | primjer* | atacator* | támadó* | példa* | užpuolik* | pavyzd* |
uzbrucēj* | piemēr* | ründaja* | näide* | näite* | ionsaitheoir* | attakkant* |
επιτιθέμεν* | παράδειγμα* | ασφάλει* | нападател* | пример* | сигурност* | saldırgan* |
örne* | güvenlik* | हमलावर | उदाहरण | सुरक्षा |
المهاجم* | مثال | أمن | مهاجم* | امنیت
"""  # noqa: RUF001 (Greek and Turkish letters: they are the point)
# Chinese and Japanese write no spaces between words: these match anywhere.
_CJK_WORDS = "攻击者|例如|安全|注入|越狱|攻撃者|例えば|セキュリティ|インジェクション|脱獄"
# Code that lists or tests strings: literal markers (found with ``in``, cheap), and an
# assignment of a list or dict to a name at a line's start.
_CODE_MARKS = ("```", "assert ", "def ", "expect(", "const ", "pytest", '"input":', "input: ")
_ASSIGN = re.compile(r"[ \t]*[a-z_]{3,} ?= ?[\[{(]")


_PHRASES = re.compile(
    r"such as|for instance|test (?:suite|set|case|file)|block list|red.team|e\.g\."
)


def _listed(listing: str) -> tuple[frozenset[str], re.Pattern[str]]:
    """The listed single words (whole) and stems (a trailing "*"), folded as the text is:
    Greek and Cyrillic look-alike letters become Latin there, and a capital folds unlike its
    small letter, so both spellings. Phrases of several words are ``_PHRASES``'."""
    whole: set[str] = set()
    stems: set[str] = set()
    for phrase in filter(None, (p.strip() for p in listing.split("|"))):
        if " " in phrase or "." in phrase:
            continue
        bare = phrase.rstrip("*")
        for spelling in (bare, bare.capitalize()):
            (stems if phrase.endswith("*") else whole).add(fold(spelling))
    ordered = sorted(stems, key=lambda stem: (-len(stem), stem))
    return frozenset(whole), re.compile("|".join(map(re.escape, ordered)))


_WHOLE, _STEMS = _listed(_REPORT_WORDS)
_CJK = re.compile(_CJK_WORDS)
_QUOTED = re.compile(_QUOTE_SPAN)
#: The cues, in the order ``about_cues`` reports them. Names are prefixed so they never
#: collide with a rule family's name in the combiner.
CUES: tuple[str, ...] = ("about:quoted", "about:report", "about:code")


def _codes(plain: str) -> bool:
    if any(mark in plain for mark in _CODE_MARKS):
        return True
    return "=" in plain and any(_ASSIGN.match(line) for line in plain.split("\n") if "=" in line)


def _reports(plain: str, present: frozenset[str]) -> bool:
    """Whether a reporting word is in the text: its distinct words looked up (a set, and one
    prefix match each for the stems), not one long alternation tried at every offset."""
    if not _WHOLE.isdisjoint(present) or any(_STEMS.match(w) for w in present):
        return True
    if _PHRASES.search(plain):
        return True
    return not plain.isascii() and _CJK.search(plain) is not None


def about_cues(text: str, present: frozenset[str] | None = None) -> tuple[str, ...]:
    """The cues present in ``text`` (folded and collapsed, as the rules read it), whose
    distinct words are ``present`` (``text.words``) when the caller has them."""
    present = words(text) if present is None else present
    found = (_QUOTED.search(text) is not None, _reports(text, present), _codes(text))
    return tuple(name for name, hit in zip(CUES, found, strict=True) if hit)
