"""What the shipped PromQL (alert rules, dashboard queries) reads: the metric names in an
expression, and the names a real keel exports.

There is no PromQL parser for Python, and Debian's promtool (2.42) cannot print a query's
parts, so names are found by elimination: strings, label matchers, ranges and the label lists
of ``by``/``on``/... go first; what is left is functions and aggregations (followed by ``(``),
keywords, numbers and metric names. promtool still parses each query (tests/deploy), so a
query this reads wrongly is not also one Prometheus would refuse.
"""

from __future__ import annotations

import re

from prometheus_client.metrics_core import Metric

from keel.monitor.metrics import Metrics

__all__ = ["SCRAPE_SERIES", "exported_names", "metric_names"]

# Series Prometheus makes itself for every scrape, and those its rule evaluation makes.
SCRAPE_SERIES = frozenset({"up", "scrape_duration_seconds", "ALERTS", "ALERTS_FOR_STATE"})

_KEYWORDS = frozenset({
    "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
    "and", "or", "unless", "inf", "nan", "atan2",
})  # fmt: skip
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_LABEL_LIST = re.compile(
    r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", re.IGNORECASE
)
_NAME = re.compile(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")
_VARIABLE = re.compile(r"\$\{[^}]*\}|\$[a-zA-Z_]\w*")
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "gauge": ("",),
    "info": ("_info",),
}


def metric_names(expr: str) -> set[str]:
    """The metric names ``expr`` reads (Grafana's ``$variables`` are not names)."""
    text = _VARIABLE.sub(" ", _STRING.sub('""', expr))
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = _LABEL_LIST.sub(" ", text)
    text = re.sub(r"\b\d+(\.\d+)?(e[+-]?\d+)?([smhdwy]|ms)?\b", " ", text)  # numbers, durations
    names = set()
    for match in _NAME.finditer(text):
        name, call = match.group(1), match.group(2)
        if call is None and name.lower() not in _KEYWORDS:
            names.add(name)
    return names


def exported_names() -> set[str]:
    """Every sample name a keel gateway's /metrics can carry, from its registry's families."""
    names: set[str] = set()
    family: Metric
    for family in Metrics().registry.collect():
        names.update(family.name + suffix for suffix in _SUFFIXES[family.type])
    return names
