"""The ``keel`` command line: ``main.py`` holds the top-level commands and the app, one
module per command group (``keys``, ``report``, ``rollout``, ``audit``, ``models``), and
``options.py`` what they share."""

from keel.cli.main import app, main

__all__ = ["app", "main"]
