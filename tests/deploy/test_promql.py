"""The metric names the deploy tests find in PromQL, and the names keel exports."""

from __future__ import annotations

from tests.deploy.promql import exported_names, metric_names


def test_names_are_found_past_functions_matchers_ranges_and_label_lists() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (le, instance) (rate(keel_overhead_seconds_bucket"
        '{job="keel", model=~"$model"}[$__rate_interval])))'
        " / on (instance) group_left (mode) max without (pid) (keel_budget_limit_usd offset 1d)"
        ' > 0.5 and up{job="keel"} == 1 or vector(0)'
    )
    assert metric_names(expr) == {"keel_overhead_seconds_bucket", "keel_budget_limit_usd", "up"}


def test_a_name_keel_does_not_export_is_found_and_not_among_the_exported() -> None:
    assert metric_names("sum(rate(keel_requests_count[5m]))") == {"keel_requests_count"}
    assert "keel_requests_count" not in exported_names()


def test_exported_names_carry_the_suffixes_of_each_type() -> None:
    names = exported_names()
    assert {"keel_requests_total", "keel_requests_created"} <= names  # a counter
    assert "keel_requests" not in names
    assert {"keel_overhead_seconds_bucket", "keel_overhead_seconds_count",
            "keel_overhead_seconds_sum"} <= names  # fmt: skip
    assert {"keel_deployment_up", "keel_budget_spent_usd", "keel_drift_score"} <= names
