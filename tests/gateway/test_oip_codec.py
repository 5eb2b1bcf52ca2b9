"""The OIP v2 codec against hand-written KServe bodies and the real ``tritonclient.http``."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pytest
import tritonclient.http as triton

from keel.errors import BadRequest, InvalidJSON
from keel.gateway.oip_codec import decode_request, encode_response
from keel.runtime.datatypes import DTYPES, datatype_of


def _sample(datatype: str) -> npt.NDArray[Any]:
    """A [2, 3] tensor of the datatype, with its extremes where it has them."""
    if datatype == "BOOL":
        return np.array([[True, False, True], [False, False, True]])
    if datatype == "BYTES":
        rows = [[b"a", b"", "été".encode()], [b"x" * 5, b"y", b"zz"]]
        return np.array(rows, dtype=np.object_)
    dtype = DTYPES[datatype]
    array = np.array([[0.5, -1.25, 3.0], [100.0, -0.0, 2.5]]).astype(dtype)
    if dtype.kind in "iu":
        array = np.arange(6).reshape(2, 3).astype(dtype)
        array[0, 0], array[1, 2] = np.iinfo(dtype).min, np.iinfo(dtype).max
    return array


ALL = list(DTYPES)
JSON_ABLE = [d for d in ALL if d != "FP16"]


def _equal(got: npt.NDArray[Any], want: npt.NDArray[Any]) -> None:
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    assert got.tolist() == want.tolist()


def _triton_body(
    array: npt.NDArray[Any], binary: bool, name: str = "x"
) -> tuple[bytes, int | None]:
    tensor = triton.InferInput(name, list(array.shape), datatype_of(array.dtype))
    tensor.set_data_from_numpy(array, binary_data=binary)
    outputs = [triton.InferRequestedOutput("y", binary_data=True)]
    body, length = triton.InferenceServerClient.generate_request_body(
        [tensor], outputs=outputs, request_id="r-1"
    )
    return bytes(body), length


@pytest.mark.parametrize("datatype", ALL)
def test_tritonclient_binary_inputs_decode_to_the_same_array(datatype: str) -> None:
    array = _sample(datatype)
    body, length = _triton_body(array, binary=True)
    assert length is not None
    request = decode_request(body, length)
    (tensor,) = request.inputs
    assert (tensor.name, tensor.datatype, tensor.shape) == ("x", datatype, (2, 3))
    _equal(tensor.data, array)
    assert request.id == "r-1"
    assert request.binary_outputs() == {"y"}


@pytest.mark.parametrize("datatype", JSON_ABLE)
def test_tritonclient_json_inputs_decode_to_the_same_array(datatype: str) -> None:
    array = _sample(datatype)
    body, length = _triton_body(array, binary=False)
    assert length is None
    _equal(decode_request(body, None).inputs[0].data, array)


@pytest.mark.parametrize("datatype", JSON_ABLE)
def test_nested_json_data_is_read_row_major(datatype: str) -> None:
    array = _sample(datatype)
    data = (
        [[e.decode() for e in row] for row in array.tolist()]
        if datatype == "BYTES"
        else array.tolist()
    )
    doc = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": datatype, "data": data}]}
    _equal(decode_request(orjson.dumps(doc), None).inputs[0].data, array)


@pytest.mark.parametrize("datatype", ALL)
def test_binary_outputs_parse_with_tritonclient(datatype: str) -> None:
    array = _sample(datatype)
    body, length = encode_response("m", "1", "r-1", {"y": array, "z": array[:1]}, True)
    assert length is not None and orjson.loads(body[:length])["id"] == "r-1"
    result = triton.InferenceServerClient.parse_response_body(body, header_length=length)
    _equal(result.as_numpy("y"), array)
    _equal(result.as_numpy("z"), array[:1])


@pytest.mark.parametrize("datatype", ALL)
def test_outputs_round_trip_through_json_and_back_through_decode(datatype: str) -> None:
    array = _sample(datatype)
    body, length = encode_response("m", None, None, {"y": array}, binary=False)
    doc = orjson.loads(body if length is None else body[:length])
    assert doc["model_name"] == "m" and "id" not in doc and "model_version" not in doc
    (output,) = doc["outputs"]
    if datatype == "FP16":  # no JSON form: binary whatever was asked
        assert length is not None and output["parameters"]["binary_data_size"] == 12
        result = triton.InferenceServerClient.parse_response_body(body, header_length=length)
        _equal(result.as_numpy("y"), array)
        return
    assert length is None and output["shape"] == [2, 3]
    # The answer's JSON, as a request: what we send decodes back to the same tensor.
    request = {"inputs": [{**output, "name": "y"}]}
    _equal(decode_request(orjson.dumps(request), None).inputs[0].data, array)


def test_only_the_named_outputs_are_binary_and_non_utf8_bytes_always_are() -> None:
    raw = np.array([b"\xff\xfe"], dtype=np.object_)
    outputs = {"a": np.arange(3), "b": np.arange(2.0), "c": raw}
    body, length = encode_response("m", "1", None, outputs, {"b"})
    assert length is not None
    doc = orjson.loads(body[:length])
    assert [("data" in o, "parameters" in o) for o in doc["outputs"]] == [
        (True, False),
        (False, True),
        (False, True),
    ]
    result = triton.InferenceServerClient.parse_response_body(body, header_length=length)
    _equal(result.as_numpy("a"), np.arange(3))
    _equal(result.as_numpy("b"), np.arange(2.0))
    _equal(result.as_numpy("c"), raw)


def test_str_labels_are_bytes_outputs() -> None:
    body, length = encode_response("m", "1", None, {"y": np.array(["yes", "no"])}, False)
    assert length is None
    assert orjson.loads(body)["outputs"][0] == {
        "name": "y",
        "datatype": "BYTES",
        "shape": [2],
        "data": ["yes", "no"],
    }


def test_request_fields_and_which_outputs_are_binary() -> None:
    doc = {
        "id": "42",
        "parameters": {"binary_data_output": True, "custom": 1},
        "inputs": [{"name": "x", "shape": [1], "datatype": "INT32", "data": [7]}],
        "outputs": [
            {"name": "a"},
            {"name": "b", "parameters": {"binary_data": False}},
            {"name": "c", "parameters": {"binary_data": True}},
        ],
    }
    request = decode_request(orjson.dumps(doc), None)
    assert request.id == "42" and request.parameters["custom"] == 1
    assert [(o.name, o.binary_data) for o in request.outputs] == [
        ("a", None),
        ("b", False),
        ("c", True),
    ]
    assert request.binary_outputs() == {"a", "c"}
    del doc["outputs"]
    assert decode_request(orjson.dumps(doc), None).binary_outputs() is True
    doc["parameters"] = {}
    assert decode_request(orjson.dumps(doc), None).binary_outputs() is False


def test_binary_and_json_inputs_mix_in_one_request() -> None:
    first = triton.InferInput("a", [2], "FP32").set_data_from_numpy(
        np.array([1, 2], np.float32), binary_data=True
    )
    second = triton.InferInput("b", [1], "INT64").set_data_from_numpy(
        np.array([5]), binary_data=False
    )
    third = triton.InferInput("c", [1], "BYTES").set_data_from_numpy(
        np.array([b"\x00\xff"], dtype=np.object_), binary_data=True
    )
    body, length = triton.InferenceServerClient.generate_request_body([first, second, third])
    request = decode_request(bytes(body), length)
    assert [t.data.tolist() for t in request.inputs] == [[1.0, 2.0], [5], [b"\x00\xff"]]
    assert request.binary_outputs() is True  # tritonclient asks so when no output is named


def _doc(**tensor: Any) -> bytes:
    base = {"name": "x", "shape": [2, 3], "datatype": "INT32", "data": [1, 2, 3, 4, 5, 6]}
    return orjson.dumps({"inputs": [{**base, **tensor}]})


def _binary(size: int, payload: bytes, **tensor: Any) -> tuple[bytes, int]:
    base = {"name": "x", "shape": [2, 3], "datatype": "FP32"}
    header = orjson.dumps(
        {"inputs": [{**base, **tensor, "parameters": {"binary_data_size": size}}]}
    )
    return header + payload, len(header)


MALFORMED: list[tuple[str, bytes, int | None, str]] = [
    ("not an object", b"[1]", None, "must be a JSON object"),
    ("no inputs", b"{}", None, 'needs "inputs"'),
    ("no name", orjson.dumps({"inputs": [{"shape": [1]}]}), None, "inputs[0] has no name"),
    ("unknown datatype", _doc(datatype="FP8"), None, "input 'x': unknown datatype 'FP8'"),
    ("bad shape", _doc(shape=[2, -3]), None, "input 'x': \"shape\" must be a list"),
    ("no data", orjson.dumps({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32"}]}),
     None, "input 'x' has no data"),
    ("count", _doc(data=[1, 2, 3, 4, 5]), None, "shape [2, 3] needs 6 elements, \"data\" has 5"),
    ("ragged", _doc(data=[[1, 2, 3], [4, 5]]), None, "nested \"data\" must be a regular"),
    ("floats for ints", _doc(data=[1.5] * 6), None, "input 'x': INT32 data must be integers"),
    ("strings for ints", _doc(data=["1"] * 6), None, "input 'x': INT32 data must be integers"),
    ("out of range", _doc(datatype="INT8", data=[300] * 6), None, "out of INT8's range"),
    ("negative uint64", _doc(datatype="UINT64", data=[-1, 2**63, 0, 0, 0, 0]), None,
     "out of UINT64's range"),
    ("numbers for bool", _doc(datatype="BOOL", data=[1] * 6), None, "BOOL data must be true or"),
    ("bytes not strings", _doc(datatype="BYTES", data=[1] * 6), None,
     "input 'x': BYTES data must be strings"),
    ("fp16 json", _doc(datatype="FP16"), None, "input 'x': FP16 has no JSON form"),
    ("duplicate", orjson.dumps({"inputs": [orjson.loads(_doc())["inputs"][0]] * 2}), None,
     "input 'x' is given twice"),
    ("size vs shape", *_binary(20, b"\0" * 20), "[2, 3] of FP32 (4 bytes each) is 24 bytes, "
     "but binary_data_size is 20"),
    ("size past the body", *_binary(24, b"\0" * 8), "binary_data_size is 24 bytes but only 8"),
    ("bytes after the inputs", *_binary(24, b"\0" * 30), "6 bytes after the inputs' binary data"),
    ("no header length", _binary(24, b"")[0], None,
     "input 'x' has binary_data_size but the request has no Inference-Header-Content-Length"),
    ("bool byte", *_binary(6, b"\x02" * 6, datatype="BOOL"), "BOOL element is one byte, 0 or 1"),
    ("bytes cut", *_binary(6, b"\x05\0\0\0ab", datatype="BYTES", shape=[1]),
     "BYTES element 0 claims 5 bytes but only 2 remain"),
    ("bytes count", *_binary(5, b"\x01\0\0\0a", datatype="BYTES"),
     "shape needs 6 BYTES elements, the binary data holds 1"),
    ("header past the body", b"{}", 10, "Inference-Header-Content-Length is 10"),
    ("bad binary_data", orjson.dumps({"inputs": [orjson.loads(_doc())["inputs"][0]],
     "outputs": [{"name": "y", "parameters": {"binary_data": "yes"}}]}), None,
     "output 'y': binary_data must be true or false"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "length", "message"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_a_malformed_request_is_a_400_that_says_what_was_expected(
    body: bytes, length: int | None, message: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_request(body, length)
    assert caught.value.status == 400
    assert message in caught.value.message


def test_broken_json_is_invalid_json() -> None:
    with pytest.raises(InvalidJSON, match="not valid JSON"):
        decode_request(b'{"inputs": [', None)
