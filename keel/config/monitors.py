"""The ``monitors:`` section of ``keel.yaml``: what keel watches in finished calls, off the hot
path (keel.monitor.tap): drift of predictive models' inputs, LLM traffic, quality per version."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "DriftMonitorConfig",
    "EmbeddingDriftConfig",
    "MonitorsConfig",
    "QualityMonitorConfig",
    "RegressionConfig",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DriftMonitorConfig(_Section):
    """Each predictive model version's live inputs, kept in the store as windows of rows and
    compared with the version's registered reference."""

    enabled: bool = Field(True, description="Keep input rows and check them for drift.")
    window_rows: int = Field(
        5000, ge=50, le=100_000, description="A window's rows: the latest this many."
    )
    window_s: float = Field(
        86_400.0, gt=0, description="A window's age: rows older than this are not in it."
    )
    min_rows: int = Field(
        200, ge=20, description="Fewer rows in a window than this: no verdict (too few)."
    )
    rows_per_minute: int = Field(
        60,
        ge=1,
        description="Rows kept per model version and minute; under more traffic a uniform "
        "sample of this many is kept.",
    )
    alpha: float = Field(
        0.05, gt=0, lt=0.5, description="Family-wise false-alarm rate over a model's features."
    )
    check_s: float = Field(60.0, gt=0, description="How often each version's window is checked.")
    keep_s: float = Field(
        3 * 86_400.0, gt=0, description="Rows older than this are deleted from the store."
    )


class RegressionConfig(_Section):
    """Latency and error regressions per logical model: the last ``window_s`` against the
    ``baseline_s`` before it (keel.monitor.regressions)."""

    enabled: bool = Field(True, description="Watch for latency and error regressions.")
    window_s: float = Field(300.0, ge=60, description="The recent window judged.")
    baseline_s: float = Field(3600.0, ge=60, description="The baseline before it.")
    min_requests: int = Field(50, ge=1, description="Calls a window needs to be judged.")
    error_rate: float = Field(
        0.05, gt=0, le=1, description="Server-error share (5xx) at which errors alert."
    )
    error_factor: float = Field(
        3.0, ge=1, description="...and at least this many times the baseline's share."
    )
    latency_factor: float = Field(2.0, gt=1, description="p95 this many times the baseline's.")
    latency_min_ms: float = Field(50.0, ge=0, description="...and at least this much above it.")
    check_s: float = Field(60.0, gt=0, description="How often each model is checked.")


class QualityMonitorConfig(_Section):
    """Each predictive model version's quality from delayed labels joined to its logged
    predictions (accuracy, precision and recall, calibration), and LLM feedback scores per
    deployment. A drop: the latest window's accuracy, over min_labels or more, below the
    version's reference (its registered held-out accuracy, else its own earlier accuracy) by
    more than max_drop."""

    enabled: bool = Field(True, description="Log predictions and check quality.")
    check_s: float = Field(60.0, gt=0, description="How often quality is computed and checked.")
    window_s: float = Field(
        86_400.0, gt=0, description="The latest window: labelled predictions made this recently."
    )
    history_s: float = Field(
        30 * 86_400.0,
        gt=0,
        description="How far back the earlier window (a version's own reference) reaches.",
    )
    min_labels: int = Field(
        100, ge=1, description="Fewer labelled rows in a window than this: no verdict."
    )
    max_drop: float = Field(
        0.05, ge=0, le=1, description="Accuracy below the reference by more than this is a drop."
    )
    max_rows_per_call: int = Field(
        1000, ge=1, description="Rows of one call's batch logged; the rest are not."
    )
    max_pending_rows: int = Field(
        50_000,
        ge=100,
        description="Prediction rows waiting to be written; calls beyond are dropped and "
        'counted (keel_monitor_dropped{monitor="predictions"}).',
    )
    keep_s: float = Field(
        90 * 86_400.0, gt=0, description="Logged predictions older than this are deleted."
    )


class EmbeddingDriftConfig(_Section):
    """A sampled share of each logical model's prompts, embedded off the hot path with the
    offline embedding model (all-MiniLM-L6-v2) and kept as vectors, never as text; each
    model's latest vectors are tested against the reference window pinned with ``keel
    monitor pin`` (MMD, permutation p-value). See docs/monitoring.md."""

    enabled: bool = Field(
        False,
        description="Sample, embed and check prompts (off by default: the embedding model "
        "costs about 190 MiB of memory once loaded).",
    )
    share: float = Field(
        0.05, gt=0, le=1, description="Share of eligible calls whose prompt is embedded."
    )
    per_minute: int = Field(
        10,
        ge=1,
        description="Most prompts embedded per logical model and minute (each vector is "
        "768 bytes in the store: 10 a minute is about 11 MB a day per busy model).",
    )
    total_per_minute: int = Field(
        600,
        ge=1,
        description="Most prompts embedded per minute over every model: the CPU bound "
        "(about 4 ms of one core each).",
    )
    queue: int = Field(
        256, ge=1, description="Prompts waiting for the embedding thread; more are dropped."
    )
    window: int = Field(
        500,
        ge=20,
        le=5000,
        description="The current window: a model's latest this many vectors after its "
        "pinned reference; also the most reference vectors compared (a uniform sample).",
    )
    window_s: float = Field(
        86_400.0, gt=0, description="Vectors older than this are not in the current window."
    )
    min_vectors: int = Field(
        100,
        ge=10,
        description="Fewer vectors than this in the reference or the current window: no "
        "verdict (too few).",
    )
    check_s: float = Field(300.0, gt=0, description="How often each pinned model is checked.")
    permutations: int = Field(
        300,
        ge=50,
        le=5000,
        description="Permutations per check: the smallest p-value is 1/(permutations+1).",
    )
    alpha: float = Field(
        0.01,
        gt=0,
        lt=0.5,
        description="A check finds drift when its p-value is below this: the false-alarm "
        "rate of one check under no drift.",
    )
    keep_s: float = Field(
        14 * 86_400.0,
        gt=0,
        description="Vectors and checks older than this are deleted, except the vectors "
        "inside a model's pinned reference window.",
    )

    @model_validator(mode="after")
    def _enough(self) -> EmbeddingDriftConfig:
        if self.min_vectors > self.window:
            raise ValueError("min_vectors must not exceed window")
        if self.alpha * (self.permutations + 1) < 1:
            raise ValueError(
                "alpha is below the smallest p-value 1/(permutations+1): raise permutations"
            )
        return self


class MonitorsConfig(_Section):
    """Monitors read copies of finished calls; a call never waits for one."""

    enabled: bool = Field(True, description="Run the monitors.")
    queue: int = Field(
        10_000,
        ge=10,
        description="Finished calls waiting for the monitors; more are dropped and counted "
        "(keel_monitor_dropped).",
    )
    resolve_after: int = Field(
        2, ge=1, description="Quiet checks in a row that end an episode and send its resolve."
    )
    drift: DriftMonitorConfig = DriftMonitorConfig()
    regressions: RegressionConfig = RegressionConfig()
    quality: QualityMonitorConfig = QualityMonitorConfig()
    embeddings: EmbeddingDriftConfig = EmbeddingDriftConfig()
