"""A Chat Completions message's content as adapters that translate it read it: text and image
parts, and turns of one role merged (Gemini and Bedrock's Converse both want turns to
alternate)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keel.providers.refusals import Untranslatable

__all__ = ["add_turn", "parts_of"]

# An image part in the upstream's shape, from its URL and where it stands (message, part).
ImagePart = Callable[[str, int, int], dict[str, Any]]


def parts_of(content: Any, i: int, image: ImagePart) -> list[dict[str, Any]]:
    """Message ``i``'s content as ``{"text": ...}`` parts and ``image`` parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts = []
    for j, block in enumerate(content):
        kind = block.get("type")
        if kind == "text":
            parts.append({"text": block.get("text", "")})
        elif kind == "image_url":
            parts.append(image((block.get("image_url") or {}).get("url", ""), i, j))
        else:
            raise Untranslatable(f"messages[{i}].content[{j}].type", f"{kind!r} is not translated")
    return parts


def add_turn(turns: list[dict[str, Any]], role: str, items: list[dict[str, Any]], key: str) -> None:
    """Append ``items`` under ``key`` as a turn of ``role``, to the last turn if it is one."""
    if not items:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1][key] += items
    else:
        turns.append({"role": role, key: items})
