"""``POST /v2/models/{model}/feedback``: the true labels of a predictive model's answers, sent
when they are known (a fraud case closed, a claim settled), joined later to the prediction log
(keel.monitor.quality).

One label: ``{"request_id": "...", "label": "fraud", "row": 0}`` (``row``: the row's index in
the call's batch, 0 if left out). Several: ``{"labels": [{...}, ...]}``, at most ``MAX_LABELS``.
The caller authenticates as for an infer call. A label names a call its team made to this model
(the answer's ``x-request-id``); any other id, another team's, another model's or nobody's, is
refused with one message: a 404 for a single label, an entry of ``rejected`` in a bulk one,
whose good labels are kept. A row labelled again counts its latest label. Errors have the Open
Inference Protocol's shape, ``{"error": "..."}``, as on every /v2 route.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from keel.call import Call, Principal
from keel.errors import BadRequest, KeelError, RequestNotFound, StoreUnavailable
from keel.gateway.edge import bearer_token, check_headers, json_object, read_body, request_id
from keel.serving.predictor import parse_name
from keel.store.quality import CallOwner, LabelRecord, check_label

if TYPE_CHECKING:
    from keel.pipeline import Before
    from keel.store.base import Store

__all__ = ["MAX_LABELS", "LabelRoutes"]

log = logging.getLogger("keel.gateway")

MAX_LABELS = 1000
MAX_BODY = 256 * 1024
_SHAPE = (
    '{"request_id": "<the answer\'s x-request-id>", "label": <the true label>, "row": 0} '
    f'or {{"labels": [...]}} (at most {MAX_LABELS})'
)
_NOT_FOUND = (
    "No call of your team to {model!r} has the id {rid!r}. Send the x-request-id of an answer "
    "this model gave your team."
)


class LabelRoutes:
    def __init__(self, store: Store, identify: Before) -> None:
        self.store = store
        self.identify = identify

    async def post(self, request: Request) -> Response:
        try:
            return await self._post(request)
        except KeelError as exc:  # the Open Inference Protocol's shape, as on every /v2 route
            body = orjson.dumps({"error": exc.message})
            return Response(body, exc.status, exc.headers(), "application/json")

    async def _post(self, request: Request) -> Response:
        principal = await self._caller(request)
        model = parse_name(request.path_params["model"])[0]
        items, bulk = _items(await read_body(request, MAX_BODY))
        checked: list[tuple[int, tuple[str, str, int]]] = []
        rejected: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            try:
                checked.append((index, _check(item)))
            except ValueError as exc:
                if not bulk:
                    raise BadRequest(f"{exc}: send {_SHAPE}.") from None
                rejected.append({"index": index, "error": str(exc)})
        owners = await self._owners([rid for _, (rid, _, _) in checked])
        now, records = time.time(), []
        for index, (rid, label, row) in checked:
            if not _made_by(owners.get(rid), principal, model):
                if not bulk:
                    raise RequestNotFound(_NOT_FOUND.format(model=model, rid=rid),
                                          param="request_id")  # fmt: skip
                rejected.append({"index": index, "error": _NOT_FOUND.format(model=model, rid=rid)})
                continue
            records.append(LabelRecord(now, rid, row, label, model, principal.team,
                                       principal.key_id, "api"))  # fmt: skip
        recorded = await self._add(records)
        body: dict[str, Any] = {"recorded": recorded, "model": model}
        if bulk:
            body["rejected"] = sorted(rejected, key=lambda r: int(r["index"]))
        return Response(orjson.dumps(body), 200, media_type="application/json")

    async def _owners(self, request_ids: list[str]) -> dict[str, CallOwner]:
        if not request_ids:
            return {}
        try:
            return await self.store.call_owners(request_ids)
        except Exception as exc:
            log.warning("labels not checked: %s", exc)
            raise _unavailable("look up the requests") from exc

    async def _add(self, records: list[LabelRecord]) -> int:
        try:
            return await self.store.add_labels(records)
        except Exception as exc:
            log.warning("%d labels not recorded: %s", len(records), exc)
            raise _unavailable("record the labels") from exc

    async def _caller(self, request: Request) -> Principal:
        call = Call(id=request_id(request.headers), endpoint="infer", body={}, model="",
                    stream=False)  # fmt: skip
        check_headers(request.headers)
        call.credential = bearer_token(request.headers)
        await self.identify.before(call)
        assert call.principal is not None
        return call.principal


def _made_by(owner: CallOwner | None, principal: Principal, model: str) -> bool:
    if owner is None or owner.team != principal.team or owner.model is None:
        return False
    return owner.model.partition("@")[0] == model


def _unavailable(what: str) -> StoreUnavailable:
    return StoreUnavailable(
        f"keel could not {what}. Retry shortly; if it persists, check the store (GET /readyz)."
    )


def _check(item: Any) -> tuple[str, str, int]:
    if not isinstance(item, dict):
        raise ValueError("each label must be a JSON object")
    return check_label(item.get("request_id"), item.get("label"), item.get("row", 0))


def _items(raw: bytes) -> tuple[list[Any], bool]:
    """The labels sent, and whether they came as a bulk list."""
    body = json_object(raw, _SHAPE)
    if "labels" not in body:
        return [body], False
    items = body["labels"]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_LABELS:
        raise BadRequest(f"'labels' must be a list of 1 to {MAX_LABELS} labels: {_SHAPE}.",
                         param="labels")  # fmt: skip
    return items, True
