"""keel.guard's public face."""

from __future__ import annotations

import keel.guard


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert keel.guard.__all__ == sorted(keel.guard.__all__)
    for name in keel.guard.__all__:
        assert getattr(keel.guard, name) is not None
