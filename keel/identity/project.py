"""Project tags: the use case a key (or a token) works for. Budgets per project and ROI per
use case key off the tag, so a tag must be one clear name, never free text."""

from __future__ import annotations

import re

__all__ = ["MAX_PROJECT", "check_project"]

MAX_PROJECT = 128  # the width of the project columns in the store
_PROJECT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def check_project(tag: str) -> str:
    """The tag, if it is a valid project name; else ValueError saying what one looks like."""
    if not tag:
        raise ValueError("a project tag may not be empty; give a name such as support-bot")
    if len(tag) > MAX_PROJECT:
        raise ValueError(
            f"project tag {tag[:20]!r}… is {len(tag)} characters; use at most {MAX_PROJECT}"
        )
    if _PROJECT.fullmatch(tag) is None:
        raise ValueError(
            f"project tag {tag!r} is not a valid name: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit (e.g. support-bot)"
        )
    return tag
