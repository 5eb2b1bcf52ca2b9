"""``POST /v1/feedback``: a caller says how an answer turned out, for ``keel report roi``.

The body is ``{"request_id": "...", "outcome": "resolved"}``. The caller authenticates as for
a chat completion; the team, project and key recorded are the caller's. When the caller's
project is a use case that declares its outcomes (``value_per_outcome_usd`` or
``minutes_saved``), any other outcome is refused, so a typo cannot silently be worth nothing.
Feedback names a call the caller's team made (its answer's ``x-request-id``); any other id,
another team's or nobody's, is a 404 with one message, so no team learns of another's requests.
The check reads the call's record by the unique request-id index: one lookup per feedback, off
the path of chat calls. A request may get several feedbacks; the report counts each team's
latest.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response

from keel.call import Call, Principal
from keel.errors import BadRequest, RequestNotFound, StoreUnavailable
from keel.gateway.edge import bearer_token, check_headers, json_object, read_body, request_id
from keel.store.feedback import FeedbackRecord

if TYPE_CHECKING:
    from keel.config.schema import KeelConfig
    from keel.pipeline import Before
    from keel.store.base import Store

__all__ = ["FeedbackRoutes", "allowed_outcomes"]

log = logging.getLogger("keel.gateway")

MAX_BODY = 4096
_LIMITS = {"request_id": 128, "outcome": 64}
_SHAPE = '{"request_id": "<the answer\'s x-request-id>", "outcome": "<label>"}'


def allowed_outcomes(config: KeelConfig, project: str | None) -> list[str]:
    """The outcomes the project's use case declares, sorted; empty: any outcome goes."""
    use_case = config.use_cases.get(project) if project is not None else None
    if use_case is None:
        return []
    return sorted({*use_case.value_per_outcome_usd, *use_case.minutes_saved})


class FeedbackRoutes:
    def __init__(self, config: KeelConfig, store: Store, identify: Before) -> None:
        self.config = config
        self.store = store
        self.identify = identify

    async def post(self, request: Request) -> Response:
        principal = await self._caller(request)
        fields = _fields(await read_body(request, MAX_BODY))
        allowed = allowed_outcomes(self.config, principal.project)
        if allowed and fields["outcome"] not in allowed:
            raise BadRequest(
                f"The outcome {fields['outcome']!r} is not one use case {principal.project!r} "
                f"values; send one of: {', '.join(allowed)}.",
                param="outcome",
                code="unknown_outcome",
            )
        await self._check_made_by(principal, fields["request_id"])
        record = FeedbackRecord(
            time.time(), fields["request_id"], fields["outcome"], principal.team,
            principal.project, principal.key_id,
        )  # fmt: skip
        try:
            seq = await self.store.add_feedback(record)
        except Exception as exc:
            log.warning("feedback on %s not recorded: %s", record.request_id, exc)
            raise StoreUnavailable(
                "keel could not record the feedback. Retry shortly; if it persists, check "
                "the store (GET /readyz)."
            ) from exc
        body = {
            "recorded": True, "seq": seq, "request_id": record.request_id,
            "outcome": record.outcome, "team": record.team, "project": record.project,
        }  # fmt: skip
        return Response(orjson.dumps(body), 200, media_type="application/json")

    async def _check_made_by(self, principal: Principal, request_id: str) -> None:
        try:
            team = await self.store.call_team(request_id)
        except Exception as exc:
            log.warning("feedback on %s not checked: %s", request_id, exc)
            raise StoreUnavailable(
                "keel could not look up the request. Retry shortly; if it persists, check "
                "the store (GET /readyz)."
            ) from exc
        if team is None or team != principal.team:
            raise RequestNotFound(
                f"No request of your team has the id {request_id!r}. Send the x-request-id "
                "of an answer given to your team (the id keel answered with, if it replaced "
                "yours).",
                param="request_id",
            )

    async def _caller(self, request: Request) -> Principal:
        call = Call(
            id=request_id(request.headers), endpoint="chat", body={}, model="", stream=False
        )
        check_headers(request.headers)
        call.credential = bearer_token(request.headers)
        await self.identify.before(call)
        assert call.principal is not None
        return call.principal


def _fields(raw: bytes) -> dict[str, str]:
    body = json_object(raw, _SHAPE)
    fields: dict[str, str] = {}
    for name, limit in _LIMITS.items():
        value = body.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise BadRequest(
                f"{name!r} must be a non-empty string of at most {limit} characters: "
                f"send {_SHAPE}.",
                param=name,
            )
        if "\x00" in value:  # PostgreSQL cannot store it; refuse it before the store sees it
            raise BadRequest(
                f"{name!r} contains a NUL character (\\u0000); remove it.",
                param=name,
                code="invalid_characters",
            )
        fields[name] = value.strip()
    return fields
