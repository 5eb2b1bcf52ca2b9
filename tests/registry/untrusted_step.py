"""A function of our own in a scikit-learn pipeline: skops does not know it to be safe."""

from __future__ import annotations

from typing import Any


def doubled(x: Any) -> Any:
    return x * 2
