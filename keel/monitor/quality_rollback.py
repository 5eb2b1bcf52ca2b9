"""A predictive canary rolled back on its labelled accuracy.

Judged on each quality check, for every active canary split of a predictive model (``keel
models rollout NAME --canary REF --percent P``): the labelled rows of real calls (not shadow
copies) made since the split's last change, the canary's version against the champion's. The
canary is rolled back when both have ``min_labels`` labelled rows, its accuracy is below the
champion's by more than ``min_drop``, and a one-sided pooled two-proportion z-test rejects
"the canary is no worse" at ``alpha`` (``predictive.models.NAME.auto_rollback``). The rollback is
the one an error-judged canary gets: the split written ``rolled_back`` with an
``auto_rollback`` event by ``keel:auto``, its reason naming quality and the numbers, decided on
the split's stored version (of two gateways deciding at once, one writes); the gateways'
model caches follow within ``predictive.refresh_s``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from keel.config.schema import PredictiveConfig, QualityRollbackConfig
from keel.monitor.quality_metrics import proportions_test
from keel.routing.rollouts import AUTO_ACTOR
from keel.store.models import ModelStore
from keel.store.quality import Labelled
from keel.store.rollouts import RolloutChange, RolloutState, RolloutStore, predictive_key

__all__ = ["Arm", "judge_canary", "quality_verdict"]

log = logging.getLogger("keel.rollout")

CHAMPION = "champion"


@dataclasses.dataclass(frozen=True, slots=True)
class Arm:
    name: str  # the ref (challenger, champion, 3) or an LLM deployment
    version: int | None  # a predictive model's version; None for a deployment
    correct: int  # right (or good feedback)
    labelled: int

    def described(self, unit: str) -> str:
        version = f"version {self.version}, " if self.version is not None else ""
        return f"{self.name} ({version}{self.labelled} {unit})"

    @property
    def accuracy(self) -> float:
        return self.correct / self.labelled if self.labelled else 0.0


def quality_verdict(
    canary: Arm,
    champion: Arm,
    rule: QualityRollbackConfig,
    measure: str = "labelled accuracy",
    unit: str = "labels",
) -> str | None:
    """Why the canary should be rolled back on quality, with the numbers; None while it may
    stay (too few labels, a small difference, or not significant)."""
    if min(canary.labelled, champion.labelled) < rule.min_labels:
        return None
    drop = champion.accuracy - canary.accuracy
    if drop <= rule.min_drop:
        return None
    p = proportions_test(canary.correct, canary.labelled, champion.correct, champion.labelled)
    if p >= rule.alpha:
        return None
    return (
        f"quality: {measure} {canary.accuracy:.1%} on canary {canary.described(unit)} against "
        f"{champion.accuracy:.1%} on {champion.described(unit)}, -{drop * 100:.1f} points "
        f"(allowed -{rule.min_drop * 100:.1f}); one-sided two-proportion z-test p={p:.2g} "
        f"< alpha {rule.alpha:g}"
    )


async def judge_canary(
    store: RolloutStore,
    models: ModelStore,
    config: PredictiveConfig,
    name: str,
    state: RolloutState,
    rows: Sequence[Labelled],
    now: float,
) -> RolloutState | None:
    """Roll NAME's active canary back if its labels say it is worse; the stored split if so."""
    if state.model != predictive_key(name) or not _judged(state):
        return None
    rule = config.models[name].auto_rollback if name in config.models else None
    rule = rule or QualityRollbackConfig()
    if not rule.enabled:
        return None
    aliases = {a.alias: a.version for a in await models.model_aliases(name)}
    assert state.canary is not None
    canary_version = int(state.canary) if state.canary.isdigit() else aliases.get(state.canary)
    champion_version = aliases.get(CHAMPION)
    if canary_version is None or champion_version is None or canary_version == champion_version:
        return None
    since = [r for r in rows if r.kind == "call" and r.ts >= state.updated_at]
    canary = _arm(state.canary, canary_version, since)
    champion = _arm(CHAMPION, champion_version, since)
    reason = quality_verdict(canary, champion, rule)
    if reason is None:
        return None
    rolled_back = dataclasses.replace(state, percent=0.0, status="rolled_back")
    change = RolloutChange(state, rolled_back, "auto_rollback", AUTO_ACTOR, reason, now)
    stored = await store.change_rollout(change)
    if stored is None:
        log.info("the rollout of %s changed before its quality rollback was written", name)
        return None
    log.warning("rolled back the canary of %s: %s", name, reason)
    return stored


def _judged(state: RolloutState) -> bool:
    return (
        state.mode == "canary" and state.status == "active" and state.percent > 0
        and state.canary is not None
    )  # fmt: skip


def _arm(ref: str, version: int, rows: Sequence[Labelled]) -> Arm:
    mine = [r for r in rows if r.version == version]
    return Arm(ref, version, sum(1 for r in mine if r.predicted == r.label), len(mine))
