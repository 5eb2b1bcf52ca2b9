"""Prometheus metrics, one registry per gateway (so tests can run several side by side).

With ``keel up --workers N`` every worker writes its samples to files in
``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` on any worker reports the sum over all of them.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from keel.call import Call

__all__ = ["Metrics"]

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_CHARS = (10, 100, 300, 1000, 3000, 10_000, 30_000, 100_000)
_TOKENS = (10, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 50_000, 200_000)
_OVERHEAD = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "keel_requests", "Requests by logical model, deployment and HTTP status.",
            ["model", "deployment", "status"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "keel_request_duration_seconds", "Whole request, as the client saw it.",
            ["model"], buckets=_LATENCY, registry=r,
        )  # fmt: skip
        self.upstream = Histogram(
            "keel_upstream_duration_seconds", "Time spent waiting on upstream deployments.",
            ["deployment"], buckets=_LATENCY, registry=r,
        )  # fmt: skip
        self.overhead = Histogram(
            "keel_overhead_seconds", "keel's own time per request (total minus upstream).",
            buckets=_OVERHEAD, registry=r,
        )  # fmt: skip
        self.ttft = Histogram(
            "keel_time_to_first_token_seconds", "Streams: request start to first token.",
            ["model", "deployment"], buckets=_LATENCY, registry=r,
        )  # fmt: skip
        self.tokens = Counter(
            "keel_tokens", "Tokens by deployment and kind (prompt, completion).",
            ["model", "deployment", "kind"], registry=r,
        )  # fmt: skip
        self.cost = Counter(
            "keel_cost_usd", "Cost in US dollars.", ["model", "deployment", "team"], registry=r
        )
        self.attempts = Counter(
            "keel_upstream_attempts", "Upstream attempts by deployment and outcome.",
            ["deployment", "outcome"], registry=r,
        )  # fmt: skip
        self.malformed = Counter(
            "keel_stream_malformed_events", "Stream events that were not JSON: skipped.",
            ["deployment"], registry=r,
        )  # fmt: skip
        self.resumed = Counter(
            "keel_stream_resumed", "Broken streams carried on by another deployment.",
            ["broken", "resumed_on", "mode"], registry=r,
        )  # fmt: skip
        self.rollbacks = Counter(
            "keel_rollout_rollbacks", "Canaries this gateway rolled back automatically.",
            ["model"], registry=r,
        )  # fmt: skip
        self.refused = Counter(
            "keel_limit_refused", "Requests refused by a budget or rate limit (429).",
            ["policy", "kind"], registry=r,
        )  # fmt: skip
        self.state_errors = Counter(
            "keel_state_errors", "State backend operations that failed (unreachable, timeout).",
            ["op"], registry=r,
        )  # fmt: skip
        self.state_unchecked = Counter(
            "keel_state_unchecked", "Requests whose budgets and limits could not be checked, "
            "by what the policy chose: fail_open (admitted) or fail_closed (503).",
            ["outcome"], registry=r,
        )  # fmt: skip
        self.shadow_dropped = Counter(
            "keel_shadow_dropped", "Shadow copies dropped: the deployment was at max_concurrency.",
            ["deployment"], registry=r,
        )  # fmt: skip
        self.shadow_agreement = Counter(
            "keel_shadow_agreement", "Rows a predictive model's shadow version decided like "
            "(outcome same) or unlike (different) its champion.",
            ["model", "champion", "shadow", "outcome"], registry=r,
        )  # fmt: skip
        self.alerts = Counter(
            "keel_alerts", "Alerts by kind (budget, rate_limit) and outcome (delivered, failed, "
            "recorded, deduped, dropped).", ["kind", "outcome"], registry=r,
        )  # fmt: skip
        self.alert_store_errors = Counter(
            "keel_alert_store_errors", "Alerts whose record the store refused (logged).",
            registry=r,
        )  # fmt: skip
        self.batch_size = Histogram(
            "keel_batch_size", "Rows in each batched run of a predictive model.",
            ["model"], buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=r,
        )  # fmt: skip
        self.batch_wait = Histogram(
            "keel_batch_queue_wait_seconds", "How long a batch's first request waited for it.",
            ["model"], buckets=_OVERHEAD, registry=r,
        )  # fmt: skip
        self.model_memory = Gauge(
            "keel_model_memory_bytes", "What loading each predictive model version cost "
            "(best effort).", ["model", "version"], registry=r, multiprocess_mode="liveall",
        )  # fmt: skip
        self.in_flight = Gauge(
            "keel_in_flight_requests", "Requests being served.", registry=r,
            multiprocess_mode="livesum",
        )  # fmt: skip
        # Under --workers N each worker has its own breakers: the deployment counts as up only
        # while every live worker sends it traffic (a dead worker's last value is dropped).
        self.deployment_up = Gauge(
            "keel_deployment_up", "1 while a deployment gets traffic; 0 while its breaker is "
            "open or an active health probe holds it down.", ["deployment"], registry=r,
            multiprocess_mode="livemin",
        )  # fmt: skip

        self._monitors(r)
        self._backends(r)

    def _monitors(self, r: CollectorRegistry) -> None:
        """What the monitors (off the hot path) find: drift, quality, LLM traffic."""
        self.drift_detected = Gauge(
            "keel_drift_detected", "1 while the latest window of a model version's inputs "
            "drifted from its reference (any feature, family-wise controlled), else 0.",
            ["model", "version"], registry=r, multiprocess_mode="max",
        )  # fmt: skip
        self.drift_score = Gauge(
            "keel_drift_score", "Per-feature drift score of the latest window: -log10 of the "
            "adjusted p-value (2 is p = 0.01), comparable across features.",
            ["model", "version", "feature"], registry=r, multiprocess_mode="max",
        )  # fmt: skip
        self.embedding_drift = Gauge(
            "keel_embedding_drift_score", "Prompt embedding drift of a logical model against "
            "its pinned reference: -log10 of the permutation p-value.",
            ["model"], registry=r, multiprocess_mode="max",
        )  # fmt: skip
        self.quality = Gauge(
            "keel_quality", "Quality of a model version over its latest window, by metric "
            "(accuracy, precision, recall, calibration_error, feedback_score).",
            ["model", "version", "metric"], registry=r, multiprocess_mode="max",
        )  # fmt: skip
        self.labels_joined = Counter(
            "keel_quality_labels", "Feedback and delayed labels joined to a recorded call.",
            ["model", "version", "source"], registry=r,
        )  # fmt: skip
        self.prompt_chars = Histogram(
            "keel_prompt_chars", "Characters of prompt text per request.",
            ["model", "deployment", "arm"], buckets=_CHARS, registry=r,
        )  # fmt: skip
        self.answer_chars = Histogram(
            "keel_answer_chars", "Characters of answer text per request.",
            ["model", "deployment", "arm"], buckets=_CHARS, registry=r,
        )  # fmt: skip
        self.tokens_per_request = Histogram(
            "keel_tokens_per_request", "Tokens per request by kind (prompt, completion).",
            ["model", "deployment", "arm", "kind"], buckets=_TOKENS, registry=r,
        )  # fmt: skip
        self.answers = Counter(
            "keel_answers", "Answers by outcome: ok, refusal, tool_call, error, retried.",
            ["model", "deployment", "arm", "outcome"], registry=r,
        )  # fmt: skip
        self.languages = Counter(
            "keel_prompt_language", "Prompts by the script or language they were written in.",
            ["model", "language"], registry=r,
        )  # fmt: skip
        self.monitor_dropped = Counter(
            "keel_monitor_dropped", "Finished calls a monitor did not read: its queue was full.",
            ["monitor"], registry=r,
        )  # fmt: skip

    def _backends(self, r: CollectorRegistry) -> None:
        """Budgets and the backends keel cannot serve without, for the alerts on them."""
        self.budget_limit = Gauge(
            "keel_budget_limit_usd", "Each configured budget's cap in US dollars per period "
            "(set at start from the config).", ["budget", "scope", "period", "mode"],
            registry=r, multiprocess_mode="max",
        )  # fmt: skip
        # The latest settle's word wins (every replica reads the same shared counter).
        self.budget_spent = Gauge(
            "keel_budget_spent_usd", "What a budget's subject (team, project or key) spent so "
            "far this period, as of its latest settled request.", ["budget", "subject"],
            registry=r, multiprocess_mode="mostrecent",
        )  # fmt: skip
        self.store_errors = Counter(
            "keel_store_errors", "Requests whose usage and audit records the store did not "
            "commit (the answer was withheld: 503).", ["op"], registry=r,
        )  # fmt: skip
        self.store_up = Gauge(
            "keel_store_up", "1 if the store answered a ping when /metrics was scraped, else 0; "
            "by backend (sqlite, postgresql).", ["backend"], registry=r,
            multiprocess_mode="mostrecent",
        )  # fmt: skip
        self.state_up = Gauge(
            "keel_state_up", "1 if the state backend (budgets, limits) answered a ping when "
            "/metrics was scraped, else 0; by backend (memory, redis). Absent when no budget or "
            "rate limit is configured: keel then does not use it.", ["backend"], registry=r,
            multiprocess_mode="mostrecent",
        )  # fmt: skip
        # Shown at 0 from the start, so an alert on their increase sees the first failure.
        self.store_errors.labels("record")
        for op in ("admit", "settle"):
            self.state_errors.labels(op)
        for kind in ("budget", "rate_limit"):
            self.alerts.labels(kind, "failed")

    def set_up(self, deployment: str, up: bool) -> None:
        self.deployment_up.labels(deployment).set(1 if up else 0)

    def observe(self, call: Call) -> None:
        model = call.model or "-"
        deployment = call.deployment or "-"
        self.requests.labels(model, deployment, str(call.status)).inc()
        self.latency.labels(model).observe(call.elapsed_s())
        self.overhead.observe(call.overhead_s())
        for attempt in call.attempts:
            self.attempts.labels(attempt.deployment, attempt.error or "ok").inc()
        if call.deployment is None:
            return
        self.upstream.labels(deployment).observe(call.upstream_s)
        if call.ttft_s is not None:
            self.ttft.labels(model, deployment).observe(call.ttft_s)
        if call.usage is not None:
            self.tokens.labels(model, deployment, "prompt").inc(call.usage.prompt_tokens)
            self.tokens.labels(model, deployment, "completion").inc(call.usage.completion_tokens)
        if call.cost_usd:
            team = call.principal.team if call.principal else "-"
            self.cost.labels(model, deployment, team).inc(call.cost_usd)

    def rolled_back(self, model: str) -> None:
        self.rollbacks.labels(model).inc()

    def render(self) -> bytes:
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            merged = CollectorRegistry()
            MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return generate_latest(merged)
        return generate_latest(self.registry)
