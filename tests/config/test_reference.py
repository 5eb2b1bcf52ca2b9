from pathlib import Path

from keel.config.reference import markdown_reference

README = Path(__file__).parents[2] / "README.md"


def test_readme_config_reference_is_in_step_with_the_schema() -> None:
    text = README.read_text()
    start = text.index("<!-- config-reference:start -->\n") + len(
        "<!-- config-reference:start -->\n"
    )
    end = text.index("<!-- config-reference:end -->")
    assert text[start:end] == markdown_reference(), "run: python scripts/readme_reference.py"
