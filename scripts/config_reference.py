"""Regenerate the config reference in docs/config.md: python scripts/config_reference.py"""

from pathlib import Path

from keel.config.reference import markdown_reference

START, END = "<!-- config-reference:start -->\n", "<!-- config-reference:end -->"
page = Path(__file__).parents[1] / "docs" / "config.md"
text = page.read_text()
head, rest = text.split(START, 1)
page.write_text(head + START + markdown_reference() + END + rest.split(END, 1)[1])
