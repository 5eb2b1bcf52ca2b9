"""The Open Inference Protocol v2 (KServe's REST API): predictive models behind keel.

This module only translates: an infer request becomes a ``Call`` (endpoint ``infer``, its
tensors on ``call.prediction``), the pipeline's ``Answer`` becomes the response, JSON or with
Triton's binary tensor extension. The call goes through the same stages as every other
(identify, admit, classify, account: the usage and audit records name the version that
answered); the invoker is ``keel.serving.predictor.Predictor``. Budgets and rate limits hold
predictions too (``keel.pipeline.admit_predictions``): a refusal is 429 with retry-after.
Errors are ``{"error": "..."}`` with the status and headers of keel's error; every answer
carries ``x-keel-cost-usd`` and its limits' ``x-ratelimit-*`` headers.
"""

from __future__ import annotations

import logging

import numpy as np
import orjson
from starlette.requests import Request
from starlette.responses import Response

import keel
from keel.answer import Answer
from keel.audit.canonical import sha256_hex
from keel.call import Call
from keel.config.schema import KeelConfig
from keel.errors import BadRequest, KeelError
from keel.gateway.edge import (
    bearer_token,
    check_headers,
    read_body,
    request_id,
    take_headers,
)
from keel.gateway.oip_codec import InferRequest, decode_request, encode_response
from keel.pipeline import Before, Pipeline
from keel.runtime import Prediction
from keel.serving.predictor import Predictor, allow, parse_name
from keel.store.models import ModelVersion

__all__ = ["OIPRoutes"]

log = logging.getLogger("keel.gateway")

_JSON = "application/json"
_HEADER_LENGTH = "inference-header-content-length"
_PLATFORMS = {"onnx": "onnxruntime_onnx", "skops": "sklearn"}


class OIPRoutes:
    def __init__(
        self, config: KeelConfig, pipeline: Pipeline, identify: Before, predictor: Predictor
    ) -> None:
        self.pipeline = pipeline
        self.identify = identify
        self.predictor = predictor
        self.max_body = config.server.max_body_bytes
        self.deadline_s = config.server.deadline_s

    async def server(self, request: Request) -> Response:
        body = {"name": "keel", "version": keel.__version__, "extensions": ["binary_tensor_data"]}
        return _json(body)

    async def live(self, request: Request) -> Response:
        return _json({"live": True})

    async def ready(self, request: Request) -> Response:
        return _json({"ready": True})

    async def model(self, request: Request) -> Response:
        try:
            record = await self._allowed(request)
        except KeelError as exc:
            return _error(exc)
        versions = [str(v.version) for v in await self.predictor.store.model_versions(record.name)
                    if v.archived_at is None]  # fmt: skip
        signature = record.signature
        return _json({
            "name": record.name,
            "versions": versions,
            "platform": _PLATFORMS.get(record.format.removeprefix("mlflow+"), record.format),
            "inputs": [_tensor(t) for t in signature.get("inputs", [])],
            "outputs": [_tensor(t) for t in signature.get("outputs", [])],
        })  # fmt: skip

    async def model_ready(self, request: Request) -> Response:
        """Ready once the version is loaded (this loads it); 503 if it cannot be."""
        try:
            record = await self._allowed(request)
            await self.predictor.session(record)
        except KeelError as exc:
            return _error(exc)
        return _json({"name": record.name, "version": str(record.version), "ready": True})

    async def infer(self, request: Request) -> Response:
        name = request.path_params["model"]
        version = request.path_params.get("version")
        call = Call(id=request_id(request.headers), endpoint="infer", body={}, model=name,
                    stream=False)  # fmt: skip
        refused: KeelError | None = None
        infer: InferRequest | None = None
        try:
            take_headers(call, request.headers, self.deadline_s)
            infer = decode_request(await read_body(request, self.max_body), _header_length(request))
            call.body = {"model": name, "version": version, "inputs": _described(infer)}
            user = infer.parameters.get("user")
            if isinstance(user, str):  # who the caller is, for a rollout sticky by user
                call.body["user"] = user
            call.prediction = Prediction(
                {t.name: t.data for t in infer.inputs}, [o.name for o in infer.outputs] or None
            )
        except KeelError as exc:  # recorded like any refusal
            refused = exc
        except Exception as exc:
            log.exception("request %s failed inside keel", call.id)
            refused = KeelError(f"Internal error in keel ({type(exc).__name__}); it is logged.")
        answer = await self.pipeline.run(call, refused)
        return _respond(call, answer, infer)

    async def _allowed(self, request: Request) -> ModelVersion:
        """The version a metadata request names, for a caller who may use it."""
        call = Call(id=request_id(request.headers), endpoint="infer", body={}, model="",
                    stream=False)  # fmt: skip
        check_headers(request.headers)
        call.credential = bearer_token(request.headers)
        await self.identify.before(call)
        record = await self.predictor.resolve(
            request.path_params["model"], request.path_params.get("version")
        )
        allow(call, record)
        return record


def _respond(call: Call, answer: Answer, infer: InferRequest | None) -> Response:
    headers = {"x-request-id": call.id, "x-keel-cost-usd": f"{call.cost_usd:.8f}"}
    if call.deployment is not None:
        headers["x-keel-deployment"] = call.deployment
    if call.limit_headers:
        headers.update(call.limit_headers)
    if answer.error is not None or answer.tensors is None or infer is None:
        error = answer.error or KeelError("The model gave no outputs.")
        return _error(error, {**headers, **error.headers()})
    prediction = call.prediction
    name = parse_name(call.model)[0]
    version = str(prediction.version) if prediction and prediction.version else None
    body, header_length = encode_response(
        name, version, infer.id, answer.tensors, infer.binary_outputs()
    )
    if header_length is None:
        return Response(body, 200, headers, _JSON)
    headers[_HEADER_LENGTH] = str(header_length)
    return Response(body, 200, headers, "application/octet-stream")


def _header_length(request: Request) -> int | None:
    value = request.headers.get(_HEADER_LENGTH)
    if value is None:
        return None
    if not value.isdigit():
        raise BadRequest(f"The {_HEADER_LENGTH} header must be a number of bytes, not {value!r}.")
    return int(value)


def _described(infer: InferRequest) -> list[dict[str, object]]:
    """The inputs as the audit record keeps them: name, type, shape and a hash of the data."""
    return [
        {"name": t.name, "datatype": t.datatype, "shape": list(t.shape),
         "sha256": sha256_hex(np.ascontiguousarray(t.data).tobytes()
                              if t.datatype != "BYTES" else b"".join(t.data.ravel()))}
        for t in infer.inputs
    ]  # fmt: skip


def _tensor(spec: dict[str, object]) -> dict[str, object]:
    return {"name": spec.get("name"), "datatype": spec.get("datatype"), "shape": spec.get("shape")}


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type=_JSON)


def _error(exc: KeelError, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps({"error": exc.message}), exc.status, headers or exc.headers(),
                    _JSON)  # fmt: skip
