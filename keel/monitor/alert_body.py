"""What an alert's webhook POST says: keel's own JSON object, or a Slack message
(the formats are described in keel.monitor.alerts)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.monitor.alerts import Alert

__all__ = ["iso", "json_body", "number", "slack_body"]

_TITLES = {"budget": "Budget alert", "rate_limit": "Rate limit alert"}


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
    }


def slack_body(alert: Alert) -> dict[str, Any]:
    """The ``slack`` format: ``text`` for notifications, ``blocks`` for the message itself."""
    title = _TITLES.get(alert.kind, "Alert")
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
