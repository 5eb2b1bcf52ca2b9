"""The ``keel`` command line: ``main.py`` holds the top-level commands and the app, one
module per command group (``keys``, ``report``, ``rollout``, ``audit``, ``models``,
``drift``), and ``options.py`` what they share.

``main`` sends ``keel drift detect`` straight to its back end before typer, rich and the
config schema are imported (they take most of a second): that command is called per window
and must start fast.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["app", "main"]


def main() -> None:
    argv = sys.argv[1:]
    if argv[:2] == ["drift", "detect"]:
        from keel.commands.drift import main as detect

        try:
            sys.exit(detect(argv[2:]))
        except BrokenPipeError:
            sys.exit(0)
    from keel.cli.main import main as everything

    everything()


def __getattr__(name: str) -> Any:
    if name == "app":
        from keel.cli.main import app

        return app
    raise AttributeError(f"module 'keel.cli' has no attribute {name!r}")
