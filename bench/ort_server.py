"""The least an HTTP server can do to serve an ONNX model on the Open Inference Protocol v2.

    python bench/ort_server.py --port 9200 --onnx model.onnx

Any ``POST`` gets its JSON body parsed (orjson), each input turned into a numpy array of its
datatype and shape, one ``session.run`` on the event loop's thread, and the outputs written back
as v2 JSON. No auth, no records, no routing, no checks: with keel's round trip and the in-process
``session.run`` time it splits keel's added latency into what HTTP and JSON cost and what keel's
own work (auth, accounting, the usage and audit records) costs. A raw asyncio protocol on uvloop,
as bench/mock_upstream.py is.
"""

from __future__ import annotations

import argparse
import asyncio
import typing

import numpy as np
import onnxruntime as ort
import orjson
import uvloop

_DTYPES = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32}
_NAMES = {np.dtype(v).name: k for k, v in _DTYPES.items()}


def predict(session: ort.InferenceSession, names: list[str], body: bytes) -> bytes:
    request = orjson.loads(body)
    feeds = {
        i["name"]: np.asarray(i["data"], dtype=_DTYPES[i["datatype"]]).reshape(i["shape"])
        for i in request["inputs"]
    }
    outputs = [
        {"name": n, "datatype": _NAMES[a.dtype.name], "shape": list(a.shape),
         "data": a.ravel().tolist()}
        for n, a in zip(names, session.run(names, feeds), strict=True)
    ]  # fmt: skip
    return orjson.dumps({"model_name": "m", "outputs": outputs})


def response(status: bytes, body: bytes) -> bytes:
    head = b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\ncontent-length: "
    return head + str(len(body)).encode() + b"\r\n\r\n" + body


class OrtProtocol(asyncio.Protocol):
    """Keep-alive HTTP/1.1 with Content-Length bodies; one prediction per request."""

    def __init__(self, session: ort.InferenceSession, names: list[str]) -> None:
        self.session, self.names = session, names
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            at = head.find(b"content-length:")
            stop = head.find(b"\r\n", at)
            length = int(head[at + 15 : stop if stop > 0 else None]) if at >= 0 else 0
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            body, self.buffer = self.buffer[end + 4 : total], self.buffer[total:]
            try:
                answer = response(b"200 OK", predict(self.session, self.names, body))
            except Exception as exc:  # a bad request is answered, the server stays up
                answer = response(b"400 Bad Request", orjson.dumps({"error": repr(exc)}))
            self.transport.write(answer)


async def serve(port: int, onnx: str) -> None:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # as keel runs a model by default
    session = ort.InferenceSession(onnx, options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: OrtProtocol(session, names), "127.0.0.1", port, backlog=4096
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--onnx", required=True)
    args = parser.parse_args()
    uvloop.run(serve(args.port, args.onnx))


if __name__ == "__main__":
    main()
