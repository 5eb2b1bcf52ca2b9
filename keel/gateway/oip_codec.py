"""The Open Inference Protocol v2 REST wire format (KServe), with Triton's binary tensor extension.

A request body is a JSON object, optionally followed by binary tensor data: the HTTP header
``Inference-Header-Content-Length`` then gives the JSON part's length in bytes, and each input
whose ``parameters`` carry ``binary_data_size`` takes that many bytes of what follows, in input
order. Binary data is little-endian, row-major, unpadded; a BOOL is one byte (0 or 1); a BYTES
element is a 4-byte little-endian length and then the bytes. JSON ``data`` is row-major, flat or
nested; BYTES elements are JSON strings; FP16 has no JSON form and travels as binary only.

A response's output is binary when the client asks (``binary_data`` on a requested output, or
``binary_data_output`` on the request for every output without its own say). FP16 outputs, and
BYTES outputs that are not UTF-8 text, are always binary, since JSON cannot carry them.

Anything malformed is a ``BadRequest`` whose message names the input and what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from keel.errors import BadRequest, InvalidJSON
from keel.runtime.datatypes import DTYPES, datatype_of

__all__ = ["InferRequest", "InputTensor", "RequestedOutput", "decode_request", "encode_response"]


@dataclass(frozen=True, slots=True)
class InputTensor:
    """One named input: ``data`` has the datatype's dtype and the declared shape (BYTES: an
    object array of ``bytes``). Binary inputs are read-only views over the request body."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    data: npt.NDArray[Any]
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RequestedOutput:
    """An output the client asked for; ``binary_data`` is None when it did not say."""

    name: str
    binary_data: bool | None
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class InferRequest:
    id: str | None
    parameters: dict[str, Any]
    inputs: list[InputTensor]
    outputs: list[RequestedOutput]

    def binary_outputs(self) -> set[str] | bool:
        """What ``encode_response`` takes as ``binary`` for this request's answer."""
        default = self.parameters.get("binary_data_output") is True
        if not self.outputs:
            return default
        return {
            o.name for o in self.outputs if o.binary_data or (o.binary_data is None and default)
        }


class _Binary:
    """The binary data after the JSON header, handed out to inputs in order."""

    def __init__(self, data: memoryview, has_header: bool) -> None:
        self.data = data
        self.offset = 0
        self.has_header = has_header

    def take(self, size: int, name: str) -> memoryview:
        if not self.has_header:
            raise BadRequest(
                f"input '{name}' has binary_data_size but the request has no "
                "Inference-Header-Content-Length header: send the JSON part's length in it"
            )
        remaining = len(self.data) - self.offset
        if size > remaining:
            raise BadRequest(
                f"input '{name}': binary_data_size is {size} bytes but only {remaining} bytes "
                "of binary data remain after the JSON header and the inputs before it"
            )
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def finish(self) -> None:
        extra = len(self.data) - self.offset
        if extra:
            raise BadRequest(
                f"the body has {extra} bytes after the inputs' binary data: the inputs' "
                "binary_data_size must add up to the body after the JSON header"
            )


def decode_request(body: bytes, header_length: int | None) -> InferRequest:
    """An inference request from its HTTP body and its Inference-Header-Content-Length."""
    if header_length is not None and not 0 <= header_length <= len(body):
        raise BadRequest(
            f"Inference-Header-Content-Length is {header_length} but the body has "
            f"{len(body)} bytes: it must be the length of the JSON part"
        )
    view = memoryview(body)
    split = len(body) if header_length is None else header_length
    try:
        doc = orjson.loads(view[:split])
    except orjson.JSONDecodeError as e:
        raise InvalidJSON(f"the inference request is not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise BadRequest('the inference request must be a JSON object with an "inputs" list')
    request_id = doc.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise BadRequest('the request\'s "id" must be a string')
    items = doc.get("inputs")
    if not isinstance(items, list) or not items:
        raise BadRequest('the inference request needs "inputs": a non-empty list of tensors')
    binary = _Binary(view[split:], header_length is not None)
    inputs = [_input(item, i, binary) for i, item in enumerate(items)]
    binary.finish()
    _refuse_duplicates(t.name for t in inputs)
    outputs = doc.get("outputs", [])
    if not isinstance(outputs, list):
        raise BadRequest('the request\'s "outputs" must be a list of {"name": ...} objects')
    return InferRequest(
        id=request_id,
        parameters=_parameters(doc.get("parameters"), "the request"),
        inputs=inputs,
        outputs=[_requested_output(item, i) for i, item in enumerate(outputs)],
    )


def _refuse_duplicates(names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise BadRequest(f"input '{name}' is given twice: each input name appears once")
        seen.add(name)


def _parameters(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f'{where}: "parameters" must be a JSON object')
    return value


def _name(item: Any, where: str) -> str:
    if not isinstance(item, dict):
        raise BadRequest(f"{where} must be a JSON object")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest(f'{where} has no name: it needs a "name" string')
    return name


def _input(item: Any, index: int, binary: _Binary) -> InputTensor:
    name = _name(item, f"inputs[{index}]")
    datatype = item.get("datatype")
    if datatype not in DTYPES:
        raise BadRequest(
            f"input '{name}': unknown datatype {datatype!r}; expected one of {', '.join(DTYPES)}"
        )
    shape = item.get("shape")
    if not isinstance(shape, list) or not all(_is_dim(d) for d in shape):
        raise BadRequest(
            f"input '{name}': \"shape\" must be a list of non-negative integers, got {shape!r}"
        )
    parameters = _parameters(item.get("parameters"), f"input '{name}'")
    size = parameters.get("binary_data_size")
    if size is not None:
        if "data" in item:
            raise BadRequest(f"input '{name}' has both \"data\" and binary_data_size: give one")
        if not _is_dim(size):
            raise BadRequest(f"input '{name}': binary_data_size must be a non-negative integer")
        data = _from_binary(binary.take(size, name), name, datatype, shape)
    elif "data" not in item:
        raise BadRequest(
            f"input '{name}' has no data: give \"data\", or binary data with binary_data_size"
        )
    elif datatype == "FP16":
        raise BadRequest(
            f"input '{name}': FP16 has no JSON form; send it as binary data (binary_data_size)"
        )
    else:
        data = _from_json(item["data"], name, datatype, shape)
    return InputTensor(name, datatype, tuple(shape), data, parameters)


def _is_dim(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _from_binary(raw: memoryview, name: str, datatype: str, shape: list[int]) -> npt.NDArray[Any]:
    count = math.prod(shape)
    if datatype == "BYTES":
        return _object_array(_bytes_elements(raw, name, count), shape)
    dtype = DTYPES[datatype]
    if len(raw) != count * dtype.itemsize:
        raise BadRequest(
            f"input '{name}': shape {shape} of {datatype} ({dtype.itemsize} bytes each) is "
            f"{count * dtype.itemsize} bytes, but binary_data_size is {len(raw)}"
        )
    if datatype == "BOOL" and count and np.frombuffer(raw, np.uint8).max() > 1:
        raise BadRequest(f"input '{name}': a binary BOOL element is one byte, 0 or 1")
    return np.frombuffer(raw, dtype).reshape(shape)


def _bytes_elements(raw: memoryview, name: str, count: int) -> list[bytes]:
    elements: list[bytes] = []
    offset = 0
    while offset < len(raw):
        if len(raw) - offset < 4:
            raise BadRequest(
                f"input '{name}': BYTES element {len(elements)} has a cut length prefix: "
                "each element is a 4-byte little-endian length, then the bytes"
            )
        length = int.from_bytes(raw[offset : offset + 4], "little")
        offset += 4
        if length > len(raw) - offset:
            raise BadRequest(
                f"input '{name}': BYTES element {len(elements)} claims {length} bytes but "
                f"only {len(raw) - offset} remain in its binary_data_size"
            )
        elements.append(bytes(raw[offset : offset + length]))
        offset += length
    if len(elements) != count:
        raise BadRequest(
            f"input '{name}': shape needs {count} BYTES elements, the binary data holds "
            f"{len(elements)}"
        )
    return elements


def _object_array(elements: list[bytes], shape: list[int]) -> npt.NDArray[Any]:
    array = np.empty(len(elements), dtype=np.object_)
    array[:] = elements
    return array.reshape(shape)


def _from_json(data: Any, name: str, datatype: str, shape: list[int]) -> npt.NDArray[Any]:
    count = math.prod(shape)
    if not isinstance(data, list):
        raise BadRequest(f"input '{name}': \"data\" must be a list (row-major, flat or nested)")
    if datatype == "BYTES":
        elements = [_utf8(e, name) for e in _flatten(data)]
        _check_count(len(elements), count, name, shape)
        return _object_array(elements, shape)
    try:
        array = np.asarray(data)
    except ValueError:
        raise BadRequest(
            f"input '{name}': nested \"data\" must be a regular array (rows of equal length)"
        ) from None
    _check_count(array.size, count, name, shape)
    kinds, what = _json_kinds(datatype)
    dtype = DTYPES[datatype]
    if array.size == 0 or array.dtype.kind in kinds:
        if dtype.kind in "iu" and array.size:
            info = np.iinfo(dtype)
            if int(array.min()) < info.min or int(array.max()) > info.max:
                raise _out_of_range(name, datatype)
        return array.astype(dtype).reshape(shape)
    # Integers past int64 (UINT64's upper half) make numpy guess float64 or object.
    if dtype.kind in "iu" and all(type(e) is int for e in _flatten(data)):
        try:
            return np.asarray(data, dtype=dtype).reshape(shape)
        except OverflowError:
            raise _out_of_range(name, datatype) from None
    raise BadRequest(f"input '{name}': {datatype} data must be {what}")


def _out_of_range(name: str, datatype: str) -> BadRequest:
    info = np.iinfo(DTYPES[datatype])
    return BadRequest(
        f"input '{name}': a value is out of {datatype}'s range [{info.min}, {info.max}]"
    )


def _json_kinds(datatype: str) -> tuple[str, str]:
    """The numpy kinds JSON numbers of a datatype may parse to, and their name for an error."""
    if datatype == "BOOL":
        return "b", "true or false"
    if datatype.startswith("FP"):
        return "iuf", "numbers"
    return "iu", "integers"


def _check_count(found: int, count: int, name: str, shape: list[int]) -> None:
    if found != count:
        raise BadRequest(
            f"input '{name}': shape {shape} needs {count} elements, \"data\" has {found}"
        )


def _flatten(data: list[Any]) -> Iterable[Any]:
    for element in data:
        if isinstance(element, list):
            yield from _flatten(element)
        else:
            yield element


def _utf8(element: Any, name: str) -> bytes:
    if not isinstance(element, str):
        raise BadRequest(f"input '{name}': BYTES data must be strings, got {element!r}")
    return element.encode()


def _requested_output(item: Any, index: int) -> RequestedOutput:
    name = _name(item, f"outputs[{index}]")
    parameters = _parameters(item.get("parameters"), f"output '{name}'")
    binary_data = parameters.get("binary_data")
    if binary_data is not None and not isinstance(binary_data, bool):
        raise BadRequest(f"output '{name}': binary_data must be true or false")
    return RequestedOutput(name, binary_data, parameters)


def encode_response(
    model_name: str,
    model_version: str | None,
    request_id: str | None,
    outputs: dict[str, npt.NDArray[Any]],
    binary: set[str] | bool,
) -> tuple[bytes, int | None]:
    """The response body and, when some output is binary, the JSON part's length (for the
    Inference-Header-Content-Length header). ``binary`` names the outputs to send as binary
    data, or says all (True) or none (False)."""
    entries: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for name, array in outputs.items():
        datatype = datatype_of(array.dtype)
        entry: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
        wanted = binary if isinstance(binary, bool) else name in binary
        data = None if wanted or datatype == "FP16" else _to_json(array, datatype)
        if data is None:
            raw = _to_binary(array, datatype)
            entry["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            entry["data"] = data
        entries.append(entry)
    doc: dict[str, Any] = {"model_name": model_name}
    if model_version is not None:
        doc["model_version"] = model_version
    if request_id is not None:
        doc["id"] = request_id
    doc["outputs"] = entries
    header = orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)
    if not chunks:
        return header, None
    return header + b"".join(chunks), len(header)


def _to_json(array: npt.NDArray[Any], datatype: str) -> npt.NDArray[Any] | list[str] | None:
    """Row-major JSON data; None for BYTES that are not UTF-8 text (sent as binary instead)."""
    if datatype != "BYTES":
        return np.ascontiguousarray(array, dtype=DTYPES[datatype]).reshape(-1)
    try:
        return [e.decode() if isinstance(e, bytes) else str(e) for e in array.reshape(-1)]
    except UnicodeDecodeError:
        return None


def _to_binary(array: npt.NDArray[Any], datatype: str) -> bytes:
    if datatype != "BYTES":
        return np.ascontiguousarray(array, dtype=DTYPES[datatype]).tobytes()
    parts: list[bytes] = []
    for element in array.reshape(-1):
        raw = element if isinstance(element, bytes) else str(element).encode()
        parts += (len(raw).to_bytes(4, "little"), raw)
    return b"".join(parts)
