"""What a record family's SQL mixin needs of ``SQLStore``: its engine, and ``_transaction``
for writes (on SQLite a thread of its own with a plain connection, never through the event
loop, which an inline usage commit may hold while it waits for the write lock)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["Transactional"]

T = TypeVar("T")


class Transactional:
    engine: AsyncEngine

    @abstractmethod
    async def _transaction(self, write: Callable[..., T], *args: Any) -> T:
        """Run ``write(conn, *args)`` in one transaction."""
