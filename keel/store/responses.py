"""The response family: stored OpenAI Responses (``/v1/responses`` with ``store`` not false),
per team, so that ``previous_response_id`` continues a conversation on any replica.

A stored response keeps the items it was given (``input_items``: the new input alone, not the
chain's) and the items it answered (``output_items``), as JSON; the rest of the Response
object the client got is ``body``. A team reads, chains and deletes only its own responses:
another team's id is looked up as if it did not exist.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = [
    "ChainTooDeep",
    "ItemPage",
    "ResponseNotFound",
    "ResponseStore",
    "StoredResponse",
    "page_items",
]

Order = Literal["asc", "desc"]


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """One response as stored. ``body`` is the Response object without ``output`` and
    ``usage`` (kept in their own fields); ``as_response()`` puts it back together."""

    id: str
    team: str
    created_at: float
    model: str
    input_items: list[dict[str, Any]]
    output_items: list[dict[str, Any]]
    previous_response_id: str | None = None
    usage: dict[str, Any] | None = None
    body: dict[str, Any] = field(default_factory=dict)

    def as_response(self) -> dict[str, Any]:
        """The Response object, as the client first got it."""
        return {**self.body, "id": self.id, "output": self.output_items, "usage": self.usage}


@dataclass(frozen=True, slots=True)
class ItemPage:
    """One page of a response's input items, in OpenAI's list shape (``as_list()``)."""

    data: list[dict[str, Any]]
    has_more: bool

    def as_list(self) -> dict[str, Any]:
        first = self.data[0].get("id") if self.data else None
        last = self.data[-1].get("id") if self.data else None
        return {
            "object": "list",
            "data": self.data,
            "first_id": first,
            "last_id": last,
            "has_more": self.has_more,
        }


class ResponseNotFound(LookupError):
    """No response of the team's has this id (it never did, was deleted, or is another
    team's): a link of a chain, or the response asked for."""

    def __init__(self, response_id: str) -> None:
        super().__init__(f"No response with id {response_id!r} is stored for your team.")
        self.response_id = response_id


class ChainTooDeep(ValueError):
    """A ``previous_response_id`` chain longer than the store may rebuild."""

    def __init__(self, response_id: str, limit: int) -> None:
        super().__init__(
            f"The conversation that ends at {response_id!r} is more than {limit} responses "
            "long, the most keel rebuilds (limits.max_response_chain). Start a new conversation "
            "with the items you need in 'input', without 'previous_response_id'."
        )
        self.response_id = response_id
        self.limit = limit


def page_items(
    items: list[dict[str, Any]], after: str | None, limit: int, order: Order
) -> ItemPage:
    """``limit`` items in ``order`` that come after the item ``after`` (ValueError if no
    item has that id)."""
    ordered = items if order == "asc" else items[::-1]
    start = 0
    if after is not None:
        ids = [item.get("id") for item in ordered]
        if after not in ids:
            raise ValueError(f"'after' names no input item of this response: {after!r}.")
        start = ids.index(after) + 1
    page = ordered[start : start + limit]
    return ItemPage(page, start + limit < len(ordered))


class ResponseStore(Protocol):
    @abstractmethod
    async def save_response(self, record: StoredResponse) -> None:
        """Store a response (its id is new: keel made it)."""

    @abstractmethod
    async def get_response(self, team: str, response_id: str) -> StoredResponse | None:
        """The team's response of that id, or None (also for another team's)."""

    @abstractmethod
    async def delete_response(self, team: str, response_id: str) -> bool:
        """Delete the team's response; False if the team has none of that id."""

    @abstractmethod
    async def response_chain(self, team: str, response_id: str, limit: int) -> list[dict[str, Any]]:
        """The conversation that ends with the response: each response's input items then its
        output items, the oldest response first. Raises ``ResponseNotFound`` for the first
        link the team does not have, ``ChainTooDeep`` for a chain of more than ``limit``
        responses."""

    @abstractmethod
    async def response_input_items(
        self, team: str, response_id: str, after: str | None, limit: int, order: Order
    ) -> ItemPage | None:
        """A page of the response's input items (``page_items``), or None if the team has no
        response of that id."""
