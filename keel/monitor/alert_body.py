"""What an alert's webhook POST says: keel's own JSON object, a Slack message, or a PagerDuty
Events API v2 event (the formats are described in keel.monitor.alerts and docs/monitoring.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.config.finops import WebhookConfig
    from keel.monitor.alerts import Alert

__all__ = ["body_of", "iso", "json_body", "number", "pagerduty_body", "slack_body"]

_TITLES = {
    "budget": "Budget alert",
    "rate_limit": "Rate limit alert",
    "drift": "Input drift",
    "embedding_drift": "Prompt drift",
    "quality": "Quality drop",
    "latency": "Latency regression",
    "errors": "Error regression",
}
_MONITORS = frozenset(_TITLES) - {"budget", "rate_limit"}
# PagerDuty's severity of each kind: a budget is a warning until it is spent.
_SEVERITY = {"errors": "error", "latency": "warning", "quality": "error", "drift": "warning"}


def body_of(hook: WebhookConfig, alert: Alert, sent_at: float) -> dict[str, Any]:
    if hook.format == "slack":
        return slack_body(alert)
    if hook.format == "pagerduty":
        assert hook.routing_key is not None  # the config requires it
        return pagerduty_body(alert, hook.routing_key, sent_at)
    return json_body(alert, sent_at)


def json_body(alert: Alert, sent_at: float) -> dict[str, Any]:
    """The ``json`` format: every field of the alert, its times also in ISO 8601."""
    return {
        "type": "keel.alert",
        "version": 1,
        "kind": alert.kind,
        "name": alert.name,
        "subject": alert.subject,
        "threshold": alert.threshold,
        "used": alert.used,
        "limit": alert.limit,
        "period_start": alert.period_start,
        "period_start_iso": iso(alert.period_start),
        "resets_at": alert.resets_at,
        "resets_at_iso": iso(alert.resets_at),
        "message": alert.message,
        "dedupe_key": alert.dedupe_key(),
        "sent_at": sent_at,
        "sent_at_iso": iso(sent_at),
    } | (_episode(alert) if alert.kind in _MONITORS else {})


def _episode(alert: Alert) -> dict[str, Any]:
    """A monitor's alert: its state, the episode's times, its numbers and details."""
    ended = alert.state == "resolved"
    return {
        "state": alert.state,
        "incident_key": alert.incident_key(),
        "value": alert.used,
        "started_at_iso": iso(alert.period_start),
        "resolved_at_iso": iso(alert.resets_at) if ended else None,
        "details": alert.details,
    }


def pagerduty_body(alert: Alert, routing_key: str, sent_at: float) -> dict[str, Any]:
    """An Events API v2 event: ``trigger`` when an alert fires, ``resolve`` when its episode
    ends; both carry the same ``dedup_key``, so PagerDuty closes the incident it opened."""
    resolved = alert.state == "resolved"
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "resolve" if resolved else "trigger",
        "dedup_key": alert.incident_key(),
    }
    if resolved:
        return body
    severity = "critical" if alert.kind == "budget" and alert.threshold >= 100 else "warning"
    body["payload"] = {
        "summary": f"keel: {alert.message}"[:1024],
        "source": "keel",
        "severity": _SEVERITY.get(alert.kind, severity),
        "timestamp": iso(sent_at),
        "component": alert.subject,
        "group": alert.name,
        "class": alert.kind,
        "custom_details": {
            "value": alert.used, "threshold": alert.threshold, "limit": alert.limit,
            "since": iso(alert.period_start), **alert.details,
        },
    }  # fmt: skip
    return body


def slack_body(alert: Alert) -> dict[str, Any]:
    """The ``slack`` format: ``text`` for notifications, ``blocks`` for the message itself."""
    title = _TITLES.get(alert.kind, "Alert")
    if alert.state == "resolved":
        title = f"Resolved: {title}"
    if alert.kind in _MONITORS:
        context = f"{alert.name} · {alert.subject} · since {iso(alert.period_start)}"
    else:
        context = (
            f"{alert.name} · {alert.subject} · {number(alert.used)} of {number(alert.limit)}"
            f" · resets {iso(alert.resets_at)}"
        )
    return {
        "text": f"keel: {alert.message}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*: "
                                         f"{_escape(alert.message)}"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _escape(context)}]},
        ],
    }  # fmt: skip


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def number(value: float) -> str:
    """A number as people write it: 80, not 80.0; 0.25 as it is."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _escape(text: str) -> str:
    """Slack's mrkdwn reads &, < and > as markup (links, mentions): send them as text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
