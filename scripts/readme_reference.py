"""Regenerate the README's config reference from the schema: python scripts/readme_reference.py"""

from pathlib import Path

from keel.config.reference import markdown_reference

START, END = "<!-- config-reference:start -->\n", "<!-- config-reference:end -->"
readme = Path(__file__).parents[1] / "README.md"
text = readme.read_text()
head, rest = text.split(START, 1)
readme.write_text(head + START + markdown_reference() + END + rest.split(END, 1)[1])
