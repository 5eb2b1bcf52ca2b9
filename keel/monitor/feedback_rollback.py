"""An LLM canary rolled back on its callers' feedback (POST /v1/feedback).

Judged on each quality check, for every logical model whose live split is an active canary
with ``auto_rollback.feedback.good_outcomes`` set: the latest feedback on each call answered
since the split's last change (or since this gateway started, for keel.yaml's split), the
canary deployment's share of good outcomes against the baseline's, by the same rule as a
predictive canary's accuracy (keel.monitor.quality_rollback.quality_verdict). A worse canary
is rolled back exactly as an error-judged one is: the split's ``on_verdict``
(keel.routing.rollouts), which routes around it at once and records an ``auto_rollback`` event
by ``keel:auto`` whose reason names quality and the numbers.
"""

from __future__ import annotations

from keel.monitor.quality_rollback import Arm, quality_verdict
from keel.routing.split import Split
from keel.store.quality import FeedbackJoined, QualityStore

__all__ = ["judge_feedback"]


async def judge_feedback(store: QualityStore, split: Split, started: float) -> str | None:
    """Roll the split's canary back if its feedback is worse; the reason if it was."""
    state, rule = split.state, split.rule.feedback
    judged = state.mode == "canary" and state.status == "active" and state.percent > 0
    if not judged or not rule.enabled or not rule.good_outcomes or split.reason is not None:
        return None
    canary, baseline = state.canary, split.baseline
    if canary is None or baseline is None:
        return None
    joined = await store.feedback_joined(state.model, max(state.updated_at, started))
    good = set(rule.good_outcomes)
    measure = f"good feedback ({', '.join(sorted(good))})"
    reason = quality_verdict(_arm(canary, joined, good), _arm(baseline, joined, good), rule,
                             measure, "feedbacks")  # fmt: skip
    if reason is None:
        return None
    split.reason = f"canary {canary} against baseline {baseline}: {reason}"
    if split.on_verdict is not None:
        split.on_verdict(split, split.reason)
    return split.reason


def _arm(deployment: str, joined: list[FeedbackJoined], good: set[str]) -> Arm:
    mine = [f for f in joined if f.deployment == deployment]
    return Arm(deployment, None, sum(1 for f in mine if f.outcome in good), len(mine))
