"""Prompt embedding drift per logical model (and per rollout arm): a sampled share of prompts
is embedded off the hot path (keel.monitor.prompt_sampler, keel.monitor.embedder) and kept in
the store as float16 vectors with model, deployment, arm and time, never as text. Every
``check_s`` each model with a pinned reference window (``keel monitor pin``) has its latest
vectors after that window tested against a uniform sample of the window's (keel.monitor.mmd):
the gauge keel_embedding_drift_score{model} is set, the check is stored (``keel monitor
report``) and a Finding (kind ``embedding_drift``) reported, active while p < alpha. A model
whose rollout arms each have enough vectors is also checked arm by arm ("model/arm").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import numpy as np

from keel.call import Call
from keel.config.monitors import EmbeddingDriftConfig
from keel.config.security import DataClassConfig
from keel.monitor.embedder import Embedder, Encode, Pending, minilm_encoder
from keel.monitor.findings import Finding, Report
from keel.monitor.metrics import Metrics
from keel.monitor.mmd import MMDResult, Vectors, mmd_test
from keel.monitor.prompt_sampler import PromptSampler
from keel.store.embeddings import EmbeddingCheck, EmbeddingPin, EmbeddingStore, PromptVector

__all__ = ["EmbeddingDriftMonitor", "as_matrix"]

log = logging.getLogger("keel.monitor")
RETENTION_S = 3600.0  # how often old vectors are deleted


class EmbeddingDriftMonitor:
    name = "embeddings"

    def __init__(
        self,
        settings: EmbeddingDriftConfig,
        classes: Mapping[str, DataClassConfig],
        store: EmbeddingStore,
        metrics: Metrics,
        arm_of: Callable[[Call], str],
        report: Report | None = None,
        encoder: Callable[[], Encode] = minilm_encoder,
        sampler: PromptSampler | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.arm_of = arm_of
        self.report = report
        self.sampler = sampler or PromptSampler(settings, classes)
        self.embedder = Embedder(encoder, settings.queue)
        self.rng = rng or np.random.default_rng()
        self._references: dict[int, Vectors] = {}  # by pin seq: a pin's sample, read once
        self._checking: asyncio.Task[list[EmbeddingCheck]] | None = None
        self._last_check = self._last_retention = -math.inf

    def read(self, call: Call) -> None:
        now = time.time()
        text = self.sampler.take(call, now)
        if text is None:
            return
        item = Pending(call.started_at, call.model, call.deployment or "-", self.arm_of(call), text)
        if not self.embedder.submit(item):
            self.metrics.monitor_dropped.labels(self.name).inc()

    async def tick(self, now: float) -> None:
        await self.flush()
        if now - self._last_retention >= RETENTION_S:
            self._last_retention = now
            await self.store.delete_prompt_vectors(now - self.settings.keep_s)
        busy = self._checking is not None and not self._checking.done()
        if now - self._last_check >= self.settings.check_s and not busy:
            self._last_check = now
            # Off the tick: the tap keeps draining calls while windows are read and tested.
            self._checking = asyncio.create_task(self.check_all(now), name="keel-embed-check")

    async def flush(self) -> int:
        """Write the vectors made since the last flush; how many."""
        rows = self.embedder.take()
        if rows:
            try:
                await self.store.add_prompt_vectors(rows)
            except Exception:
                log.exception("embedding drift: %d vectors were not stored", len(rows))
                return 0
        return len(rows)

    async def close(self) -> None:
        if self._checking is not None:
            self._checking.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._checking
        await asyncio.to_thread(self.embedder.close)
        await self.flush()

    async def check_all(self, now: float) -> list[EmbeddingCheck]:
        """Check every pinned model (and its arms); the checks made."""
        checks: list[EmbeddingCheck] = []
        pins = await self.store.embedding_pins()
        live = {pin.seq for pin in pins}
        self._references = {k: v for k, v in self._references.items() if k in live}
        for pin in pins:
            try:
                checks.extend(await self._check_model(pin, now))
            except Exception:
                log.exception("embedding drift: the check of %s failed", pin.model)
        return checks

    async def _check_model(self, pin: EmbeddingPin, now: float) -> list[EmbeddingCheck]:
        reference = await self._reference(pin)
        if len(reference) < self.settings.min_vectors:
            return []
        after = max(pin.until, now - self.settings.window_s)
        current = await self.store.latest_prompt_vectors(pin.model, after, self.settings.window)
        checks = []
        whole = await self._check(pin, "", reference, current, now)
        if whole is not None:
            checks.append(whole)
        arms = Counter(v.arm for v in current)
        if len(arms) > 1:
            for arm in sorted(set(arms) - {"-"}):
                mine = await self.store.latest_prompt_vectors(
                    pin.model, after, self.settings.window, arm=arm
                )
                check = await self._check(pin, arm, reference, mine, now)
                if check is not None:
                    checks.append(check)
        return checks

    async def _reference(self, pin: EmbeddingPin) -> Vectors:
        cached = self._references.get(pin.seq)
        if cached is None:
            rows = await self.store.sample_prompt_vectors(
                pin.model, pin.since, pin.until, self.settings.window, seed=pin.seq
            )
            cached = self._references[pin.seq] = as_matrix(rows)
        return cached

    async def _check(
        self, pin: EmbeddingPin, arm: str, reference: Vectors, rows: list[PromptVector], now: float
    ) -> EmbeddingCheck | None:
        s = self.settings
        if len(rows) < s.min_vectors:
            return None
        result = await asyncio.to_thread(
            mmd_test, reference, as_matrix(rows), s.permutations, self.rng
        )
        check = EmbeddingCheck(
            ts=now, model=pin.model, arm=arm, pin_seq=pin.seq, n_reference=result.n_reference,
            n_current=result.n_current, mmd2=result.mmd2, p_value=result.p_value,
            score=result.score, alpha=s.alpha, drift=result.p_value < s.alpha,
        )  # fmt: skip
        if not arm:
            self.metrics.embedding_drift.labels(pin.model).set(result.score)
        await self.store.add_embedding_check(check)
        if self.report is not None:
            await self.report(_finding(pin, arm, result, s.alpha))
        return check


def as_matrix(rows: list[PromptVector]) -> Vectors:
    """Stored vectors as one float32 matrix, a row each."""
    if not rows:
        return np.zeros((0, 384), dtype=np.float32)
    raw = np.frombuffer(b"".join(r.vector for r in rows), dtype="<f2")
    return raw.reshape(len(rows), -1).astype(np.float32)


def _finding(pin: EmbeddingPin, arm: str, result: MMDResult, alpha: float) -> Finding:
    subject = f"{pin.model}/{arm}" if arm else pin.model
    window = f"{_day(pin.since)} to {_day(pin.until)}"
    counts = f"{result.n_current} recent prompts against {result.n_reference} of the reference"
    drifted = result.p_value < alpha
    if drifted:
        message = (
            f"prompts to {subject} drifted from the reference pinned for {window} "
            f"(MMD permutation p = {result.p_value:.3g} < {alpha}, {counts}): see what callers "
            "now ask (keel_prompt_language, the teams' usage) before trusting its evaluations"
        )
    else:
        message = (
            f"prompts to {subject} match the reference of {window} "
            f"(p = {result.p_value:.3g}, {counts})"
        )
    details = {
        "p_value": result.p_value, "mmd2": result.mmd2, "n_reference": result.n_reference,
        "n_current": result.n_current, "pin_since": pin.since, "pin_until": pin.until,
        "pin_seq": pin.seq, "arm": arm or None,
    }  # fmt: skip
    return Finding(
        "embedding_drift", subject, drifted, message, result.score, -math.log10(alpha), details
    )


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")
