"""One operation of keel's OpenAPI document (keel.gateway.openapi): what a route takes,
answers and needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

__all__ = ["Operation"]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    tag: str
    security: str | None  # a scheme in _SECURITY, or None: public
    body: type[BaseModel] | None = None
    answer: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    keel_headers: bool = False  # answers carry x-request-id and the x-keel-* headers
    stream: bool = False  # may answer as server-sent events
    params: tuple[dict[str, Any], ...] = field(default=())
    raw: dict[str, Any] | None = None  # a non-JSON answer: {media type: schema}
    error_schema: str = "Error"  # the schema of its errors' bodies
    raw_body: dict[str, Any] | None = None  # a non-JSON body: {media type: schema}
