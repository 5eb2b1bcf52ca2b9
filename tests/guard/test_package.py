"""keel.guard.pii's public face."""

from __future__ import annotations

import keel.guard.pii


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert keel.guard.pii.__all__ == sorted(keel.guard.pii.__all__)
    for name in keel.guard.pii.__all__:
        assert getattr(keel.guard.pii, name) is not None
