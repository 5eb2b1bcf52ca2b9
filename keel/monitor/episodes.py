"""Monitor findings as alert episodes: one alert when a condition starts, one resolve message
when it ends, over every replica.

Every check of every monitor reports a ``Finding`` (keel.monitor.findings), active or not.
An active finding opens an episode in the store (keel.store.episodes: one open episode per kind
and subject over every replica); the replica whose insert opened it sends the alert. The
episode ends after ``resolve_after`` consecutive inactive checks on one replica (so one quiet
check in a flapping series does not close and reopen it); the replica whose update closed it
sends the resolve message. Alerts go through the ``Alerter`` (webhooks in json, slack or
pagerduty format, retries, the ``alerts`` records); episodes are kept in the store
(``keel monitor episodes``). A store that cannot be reached is logged, and the finding is tried
again on the next check: a monitor never raises because of an alert.
"""

from __future__ import annotations

import logging
import time

from keel.monitor.alerts import Alert, Alerter
from keel.monitor.findings import Finding
from keel.store.episodes import EpisodeRecord, EpisodeStore

__all__ = ["Episodes", "episode_alert"]

log = logging.getLogger("keel.monitor")


class Episodes:
    def __init__(self, store: EpisodeStore, alerter: Alerter, resolve_after: int = 2) -> None:
        self.store = store
        self.alerter = alerter
        self.resolve_after = resolve_after
        self.open: dict[str, float] = {}  # key -> started_at, as this replica last knew it
        self._quiet: dict[str, int] = {}  # key -> consecutive inactive checks seen here
        self._loaded = False

    async def report(self, finding: Finding) -> None:
        try:
            await self._load()
            if finding.active:
                await self._active(finding)
            else:
                await self._inactive(finding)
        except Exception as exc:
            log.warning("%s %s: episode not updated (%s); next check tries again",
                        finding.kind, finding.subject, exc)  # fmt: skip

    async def _load(self) -> None:
        """The episodes open in the store when this replica started (it may have restarted)."""
        if not self._loaded:
            for record in await self.store.episodes(open_only=True):
                self.open[record.key] = record.started_at
            self._loaded = True

    async def _active(self, finding: Finding) -> None:
        key = f"{finding.kind}:{finding.subject}"
        self._quiet.pop(key, None)
        if key in self.open:
            return
        record = EpisodeRecord(
            finding.kind, finding.subject, time.time(), finding.message, finding.value,
            finding.threshold, finding.details,
        )  # fmt: skip
        opened, created = await self.store.open_episode(record)
        self.open[key] = opened.started_at
        if created:
            self.alerter.notify(episode_alert(opened, "firing"))

    async def _inactive(self, finding: Finding) -> None:
        key = f"{finding.kind}:{finding.subject}"
        if key not in self.open:
            return
        quiet = self._quiet.get(key, 0) + 1
        if quiet < self.resolve_after:
            self._quiet[key] = quiet
            return
        closed = await self.store.close_episode(finding.kind, finding.subject, time.time())
        self.open.pop(key, None)
        self._quiet.pop(key, None)
        if closed is not None:
            self.alerter.notify(episode_alert(closed, "resolved", finding.message))


def episode_alert(record: EpisodeRecord, state: str, now_message: str | None = None) -> Alert:
    """The alert for an episode that started (``firing``) or ended (``resolved``)."""
    if state == "resolved":
        took = (record.resolved_at or record.started_at) - record.started_at
        message = f"resolved after {_duration(took)}: {now_message or record.message}"
    else:
        message = record.message
    return Alert(
        kind=record.kind, name=record.kind, subject=record.subject, threshold=record.threshold,
        used=record.value, limit=record.threshold, period_start=record.started_at,
        resets_at=record.resolved_at or 0.0, message=message, state=state,
        details=record.details,
    )  # fmt: skip


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
