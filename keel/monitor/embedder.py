"""The embedding drift monitor's worker: one thread that embeds sampled prompt texts with the
offline embedding model (keel.providers.local_embeddings' MiniLM) and lets each text go as soon
as its vector is made.

The event loop only appends to a bounded queue (``submit``); a full queue drops the text and
says so, which the monitor counts (keel_monitor_dropped{monitor="embeddings"}). The model is
loaded on the thread at the first text, so a gateway whose monitor never samples never pays for
it; if its files are missing the thread logs why once and drops what it is given.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from keel.store.embeddings import PromptVector

__all__ = ["Embedder", "Encode", "Pending", "minilm_encoder"]

log = logging.getLogger("keel.monitor")

Encode = Callable[[list[str]], npt.NDArray[np.float32]]
BATCH = 16  # texts per model run: what is queued when the thread wakes, up to this many


@dataclass(slots=True)
class Pending:
    """A sampled prompt waiting for its vector; its text is gone once embedded."""

    ts: float
    model: str
    deployment: str
    arm: str
    text: str


def minilm_encoder() -> Encode:
    """all-MiniLM-L6-v2 on one onnxruntime thread: unit vectors, 384 dims."""
    from keel.providers.local_embeddings import MODEL_FILE, TOKENIZER_FILE, MiniLM

    model = MiniLM(MODEL_FILE.path(), TOKENIZER_FILE.path())

    def encode(texts: list[str]) -> npt.NDArray[np.float32]:
        return model.embed(texts)[0]

    return encode


class Embedder:
    def __init__(self, load: Callable[[], Encode], size: int) -> None:
        self._load = load
        self._queue: queue.Queue[Pending | None] = queue.Queue(size)
        self._lock = threading.Lock()
        self._done: list[PromptVector] = []
        self._thread: threading.Thread | None = None
        self.embedded = 0  # texts embedded so far (read by tests and the bench)
        self.failed = False  # the model could not be loaded: nothing will be embedded

    def submit(self, item: Pending) -> bool:
        """Queue a text for its vector; False (dropped) if the queue is full or the model
        could not be loaded."""
        if self.failed:
            return False
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="keel-embed", daemon=True)
            self._thread.start()
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            return False
        return True

    def take(self) -> list[PromptVector]:
        """The vectors made since the last call."""
        with self._lock:
            done, self._done = self._done, []
        return done

    def pending(self) -> int:
        return self._queue.qsize()

    def close(self, timeout_s: float = 10.0) -> None:
        """Embed what is queued, then stop the thread (blocking: call it off the loop)."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout_s)
        self._thread = None

    def _run(self) -> None:
        try:
            encode = self._load()
        except Exception:
            log.exception("embedding drift: the embedding model could not be loaded")
            self.failed = True
            self._drain()
            return
        while (batch := self._next_batch()) is not None:
            self._embed(encode, batch)

    def _next_batch(self) -> list[Pending] | None:
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
        while len(batch) < BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:  # closing: embed this batch, then stop
                self._queue.put(None)
                break
            batch.append(item)
        return batch

    def _embed(self, encode: Encode, batch: list[Pending]) -> None:
        try:
            vectors = encode([p.text for p in batch])
        except Exception:
            log.exception("embedding drift: %d prompts could not be embedded", len(batch))
            return
        rows = [
            PromptVector(p.ts, p.model, p.deployment, p.arm, v.astype("<f2").tobytes())
            for p, v in zip(batch, vectors, strict=True)
        ]
        for p in batch:
            p.text = ""  # no text outlives its vector
        with self._lock:
            self._done.extend(rows)
            self.embedded += len(rows)

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return
