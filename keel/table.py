"""Plain-text tables for the command line."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["render_table"]


def render_table(rows: Sequence[Sequence[str]], numeric_from: int | None = None) -> str:
    """Columns padded to fit; columns from ``numeric_from`` on are right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    right = len(widths) if numeric_from is None else numeric_from

    def cell(i: int, text: str) -> str:
        return text.rjust(widths[i]) if i >= right else text.ljust(widths[i])

    return "\n".join("  ".join(cell(i, c) for i, c in enumerate(row)).rstrip() for row in rows)
