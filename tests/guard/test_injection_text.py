"""The normalisation the injection rules and classifier share."""

from __future__ import annotations

import re

import pytest

from keel.guard.injection.text import collapse, fold, has_disguise, normalise, words


def test_fold_undoes_look_alikes_full_width_and_invisible_characters() -> None:
    assert fold("\u0406gn\u043ere") == "ignore"  # Cyrillic I and o
    assert fold("\uff29\uff27\uff2e\uff2f\uff32\uff25") == "ignore"  # full-width
    assert fold("ig\u200bno\u200dre") == "ignore"
    assert fold("Don\u2019t") == "don't"


def test_collapse_keeps_line_starts_but_not_runs_of_blanks() -> None:
    assert collapse("a  b\t c\n\n\n  d  \n") == "a b c\nd"
    assert normalise("  ### System:\n\n  You MUST  ") == "### system:\nyou must"


@pytest.mark.parametrize(
    "text",
    ["don't <|im_start|>system ![x](https://a.b/c?d={e}) x_y", "précédentes \u2014 l'utilisateur"],
)
def test_words_are_the_regex_words_of_the_text(text: str) -> None:
    plain = normalise(text)
    assert words(plain) == frozenset(re.findall(r"\w+", plain))


def test_a_disguise_is_mixed_scripts_or_hidden_characters_not_a_foreign_language() -> None:
    assert has_disguise("\u0456gnore")  # Cyrillic i inside a Latin word
    assert has_disguise("ig\u200bnore")
    assert not has_disguise("\u043f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440")  # Russian
    assert not has_disguise("ignore the typo")
