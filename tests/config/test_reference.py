from pathlib import Path

from keel.config.reference import markdown_reference

PAGE = Path(__file__).parents[2] / "docs" / "config.md"


def test_config_reference_page_is_in_step_with_the_schema() -> None:
    text = PAGE.read_text()
    start = text.index("<!-- config-reference:start -->\n") + len(
        "<!-- config-reference:start -->\n"
    )
    end = text.index("<!-- config-reference:end -->")
    assert text[start:end] == markdown_reference(), "run: python scripts/config_reference.py"
