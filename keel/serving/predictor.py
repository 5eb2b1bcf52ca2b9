"""The invoker of predictive models: a prediction's ``Call`` runs on the registered version
that its model name resolves to.

A model is named ``name`` (its ``champion`` alias, else its newest version), ``name@alias``,
or with a version; a bare name follows the model's rollout, if it has one
(``keel.serving.split``). What names resolve to is cached per process (``keel.serving.cache``):
no prediction reads the store. A rollout's shadow version gets a copy of what the champion
answers (``keel.serving.shadow``). With ``predictive.models.<name>.max_batch_size`` set,
concurrent requests are merged into batched runs (``keel.serving.batcher``). Each version is
loaded once, when first asked for (or warmed before an alias move takes traffic), after its
artifact's SHA-256 is checked against the registry's: a corrupted artifact is refused, and a
version already loaded keeps serving. ONNX artifacts run on onnxruntime, scikit-learn ones
saved with skops on scikit-learn; a pickle is not loaded (loading one runs its code). Runs go
to each session's own worker thread, so the event loop never waits on a model.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from keel.answer import Answer
from keel.call import Call
from keel.config.schema import PredictiveConfig, PredictiveModelConfig
from keel.errors import BadRequest, KeelError, ModelNotFound, PermissionDenied
from keel.finops.prediction_cost import prediction_cost_usd
from keel.monitor.metrics import Metrics
from keel.pipeline import Stage
from keel.registry.artifacts import ArtifactStore, CorruptArtifact
from keel.registry.formats import detect
from keel.runtime import Session
from keel.serving.batcher import Batcher
from keel.serving.cache import ModelCache, ModelView, ServingStore
from keel.serving.shadow import ShadowPredictions
from keel.serving.split import sticky_key
from keel.store.models import ModelVersion

__all__ = ["ModelUnavailable", "Predictor", "allow", "parse_name"]

log = logging.getLogger("keel.serving")

MAX_NAME = 128 + 1 + 128  # a name (its column holds 128) and an alias
MAX_VERSION = 2**31 - 1


class ModelUnavailable(KeelError):
    """The version asked for cannot be loaded (its artifact is damaged or of a kind keel does
    not load)."""

    status = 503
    type = "api_error"
    code = "model_unavailable"


@dataclass(frozen=True, slots=True)
class Loaded:
    record: ModelVersion
    session: Session
    batcher: Batcher | None = None  # when the model's config turns batching on


def allow(call: Call, record: ModelVersion) -> None:
    """Refuse (403) a caller whose team's models do not name the model."""
    if call.principal is not None and not call.principal.may_use(record.name):
        raise PermissionDenied(
            f"Team {call.principal.team!r} may not use the model {record.name!r}. "
            "Ask your keel admin to add it to the team's models.",
            code="model_not_allowed",
        )


def parse_name(model: str, version: str | None = None) -> tuple[str, str | None, int | None]:
    """``name``, ``name@alias``: (name, alias, version); ``version`` from the path wins."""
    if len(model) > MAX_NAME or not model.isprintable():
        raise BadRequest(
            f"A model name is at most {MAX_NAME} printable characters, as registered "
            "(keel models list)."
        )
    name, _, alias = model.partition("@")
    if len(name) > 128 or len(alias) > 128:
        raise BadRequest("A model name, and an alias, is at most 128 characters each.")
    if version is not None:
        if not version.isdigit() or not 1 <= int(version) <= MAX_VERSION:
            raise BadRequest(f"The model version {version[:32]!r} is not a version number.")
        return name, None, int(version)
    return name, alias or None, None


class Predictor:
    """Resolves a prediction's model name to a version (through the per-process
    ``ModelCache`` and the model's rollout split), loads it once, runs it, and queues its
    shadow copy."""

    def __init__(
        self,
        store: ServingStore,
        artifacts: ArtifactStore,
        config: PredictiveConfig | None = None,
        metrics: Metrics | None = None,
        shadow_stages: Sequence[Stage] = (),
    ) -> None:
        """``shadow_stages``: what a shadow copy runs through (the account stage)."""
        self.store = store
        self.artifacts = artifacts
        self.config = config or PredictiveConfig()
        self.metrics = metrics
        self._loaded: dict[tuple[str, int], Loaded] = {}
        self._loading: dict[tuple[str, int], asyncio.Lock] = {}
        refresh_s, queue = self.config.refresh_s, self.config.shadow_queue
        self.cache = ModelCache(store, self._loaded_version, self._is_loaded, refresh_s)
        self.shadows = ShadowPredictions(self.session, shadow_stages, metrics, queue)

    def _is_loaded(self, name: str, version: int) -> bool:
        return (name, version) in self._loaded

    async def start(self) -> None:
        await self.cache.start()
        await self.shadows.start()

    async def stop(self) -> None:
        await self.shadows.close()
        await self.cache.close()

    async def resolve(
        self, model: str, version: str | None = None, call: Call | None = None
    ) -> ModelVersion:
        """The registered, unarchived version a model name (and version) names; with the
        ``call`` of a prediction, a bare name follows the model's rollout split."""
        return (await self._route(model, version, call))[0]

    async def _route(
        self, model: str, version: str | None, call: Call | None
    ) -> tuple[ModelVersion, ModelView]:
        name, alias, number = parse_name(model, version)
        view = await self.cache.view(name)
        if view is not None and _misses(view, alias, number):
            # Named before this process's next refresh saw it (a version just registered,
            # an alias just made): this request reads the store; the refresh adopts it.
            view = await self.cache.read(name)
        if view is None:
            raise ModelNotFound(f"No model {name!r} is registered (keel models list).")
        if number is None:
            number = _number(view, alias, call)
        record = view.versions.get(number)
        if record is None:
            raise ModelNotFound(f"The model {name!r} has no version {number}.")
        return record, view

    async def session(self, record: ModelVersion) -> Session:
        """The loaded session of a version: loaded (and checked) at its first use."""
        return (await self._loaded_version(record)).session

    async def _loaded_version(self, record: ModelVersion) -> Loaded:
        key = (record.name, record.version)
        loaded = self._loaded.get(key)
        if loaded is not None:
            return loaded
        lock = self._loading.setdefault(key, asyncio.Lock())
        async with lock:
            loaded = self._loaded.get(key)
            if loaded is None:
                session = await asyncio.to_thread(self._load, record)
                loaded = self._loaded[key] = Loaded(record, session, self._batcher(record, session))
                if self.metrics is not None and session.memory_bytes is not None:
                    self.metrics.model_memory.labels(record.name, str(record.version)).set(
                        session.memory_bytes
                    )
        return loaded

    def loaded(self) -> list[Loaded]:
        return list(self._loaded.values())

    async def invoke(self, call: Call) -> Answer:
        """Run the prediction on the version its model resolves to (``call.model`` as the
        client named it; the version answering is set on the call)."""
        prediction = call.prediction
        assert prediction is not None
        record, view = await self._route(call.model, call.body.get("version"), call)
        allow(call, record)
        loaded = await self._loaded_version(record)
        prediction.version = record.version
        call.deployment = f"{record.name}:{record.version}"
        loaded.session.check(prediction.inputs)
        if loaded.batcher is not None:
            outputs = await loaded.batcher.run(prediction.inputs, prediction.outputs)
        else:
            outputs = await loaded.session.run_async(prediction.inputs, prediction.outputs)
        prediction.answered = outputs  # for the prediction log (keel.monitor.predictions)
        # Priced once answered: a run that failed costs nothing.
        call.cost_usd = prediction_cost_usd(self.config.models.get(record.name), prediction.inputs)
        shadow = view.versions.get(view.shadow() or 0)
        if shadow is not None and shadow.version != record.version == view.champion():
            self.shadows.offer(call, record.version, shadow, outputs)
        return Answer(tensors=outputs)

    def _batcher(self, record: ModelVersion, session: Session) -> Batcher | None:
        settings = self.config.models.get(record.name)
        if settings is None or settings.max_batch_size is None:
            return None
        metrics, model = self.metrics, record.name

        def observe(size: int, wait_s: float) -> None:
            if metrics is not None:
                metrics.batch_size.labels(model).observe(size)
                metrics.batch_wait.labels(model).observe(wait_s)

        return Batcher(session, max_batch_size=settings.max_batch_size,
                       max_wait_ms=settings.max_wait_ms, on_batch=observe)  # fmt: skip

    def _load(self, record: ModelVersion) -> Session:
        """Open the version's artifact, then time its runs to choose where they happen."""
        session = self._open(record)
        settings = self.config.models.get(record.name, PredictiveModelConfig())
        rows = settings.max_batch_size or 1
        run_s = session.calibrate(rows, settings.inline_run_ms / 1000)
        log.info(
            "model %s version %d: a run of %d rows takes %.3f ms; runs %s",
            record.name, record.version, rows, run_s * 1000,
            "on the event loop" if session.inline else "on its worker thread",
        )  # fmt: skip
        return session

    def _open(self, record: ModelVersion) -> Session:
        try:
            path = self.artifacts.verify(record.sha256)
        except CorruptArtifact as exc:
            log.error("model %s version %d: %s", record.name, record.version, exc)
            raise ModelUnavailable(
                f"The artifact of {record.name!r} version {record.version} does not match its "
                "registered SHA-256: it is damaged or was changed. Register it again."
            ) from None
        kind = record.format.removeprefix("mlflow+")
        model_file = path / detect(path).model_file if path.is_dir() else path
        settings = self.config.models.get(record.name, PredictiveModelConfig())
        if kind == "onnx":
            from keel.runtime.onnx import OnnxSession

            return OnnxSession(model_file, intra_op_threads=settings.intra_op_threads)
        if kind == "skops":
            import skops.io

            from keel.runtime.sklearn import SklearnSession

            untrusted = skops.io.get_untrusted_types(file=model_file)
            if untrusted:
                raise ModelUnavailable(
                    f"{record.name!r} version {record.version} holds types skops does not know "
                    f"to be safe ({', '.join(untrusted)}); keel does not load them."
                )
            return SklearnSession(skops.io.load(model_file))
        raise ModelUnavailable(
            f"{record.name!r} version {record.version} is a {record.format} artifact, which "
            "keel does not serve: loading a pickle runs its code. Export the model to ONNX "
            "or skops and register that."
        )

    def close(self) -> None:
        for loaded in self._loaded.values():
            loaded.session.close()


def _misses(view: ModelView, alias: str | None, number: int | None) -> bool:
    if number is not None:
        return number not in view.versions
    return alias is not None and alias not in view.aliases


def _number(view: ModelView, alias: str | None, call: Call | None) -> int:
    """The version an alias names, or for a bare name its split's pick, else the champion."""
    if alias is not None:
        number = view.aliases.get(alias)
        if number is None:
            raise ModelNotFound(f"The model {view.name!r} has no alias {alias!r}.")
        return number
    split = view.split
    if split is not None and call is not None:
        picked = view.number(split.pick(sticky_key(call, split.state.sticky)))
        if picked is not None and picked in view.versions:
            return picked
    champion = view.champion()
    assert champion is not None  # a view has live versions
    return champion
