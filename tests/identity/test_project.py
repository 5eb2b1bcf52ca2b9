"""Project tags: one clear name, refused with a message that shows what a good one looks like."""

from __future__ import annotations

import pytest

from keel.identity.project import MAX_PROJECT, check_project


@pytest.mark.parametrize("tag", ["support-bot", "cv_parser.v2", "A1", "x" * MAX_PROJECT])
def test_good_tags_pass_unchanged(tag: str) -> None:
    assert check_project(tag) == tag


@pytest.mark.parametrize(
    ("tag", "words"),
    [
        ("", "may not be empty"),
        ("x" * (MAX_PROJECT + 1), f"at most {MAX_PROJECT}"),
        ("support bot", "not a valid name"),
        ("-leading-dash", "starting with a letter or digit"),
        ("team/project", "not a valid name"),
        ("naïve", "not a valid name"),
        ("line\nbreak", "not a valid name"),
    ],
)
def test_bad_tags_are_refused_saying_what_to_use(tag: str, words: str) -> None:
    with pytest.raises(ValueError, match=words) as caught:
        check_project(tag)
    assert "support-bot" in str(caught.value) or "at most" in str(caught.value)
