"""Stage 3, admit, for predictions (OIP v2): the budgets and rate limits of every call,
counted the way a prediction spends.

- each ``rpm`` limit counts a prediction as one request, each ``concurrency`` limit holds a
  slot until it is answered, as for any call;
- ``tpm`` limits do not apply: a prediction uses no tokens (a limit with only ``tpm`` lets it
  through uncounted);
- each hard budget reserves the prediction's cost, known before the run from the rows asked
  (keel.finops.prediction_cost), and is settled to the cost set once it is answered (nothing,
  if the run failed); soft budgets count that cost.

A rate limit of scope ``model`` matches the predictive model's name (without an alias). The
holds, the state, the refusals and the settles are those of the one ``Admit`` stage, so a
team's budget holds its LLM calls and its predictions together.
"""

from __future__ import annotations

import math

from keel.call import Call
from keel.config.schema import PredictiveConfig
from keel.finops.prediction_cost import prediction_cost_usd
from keel.pipeline.admit import Admit
from keel.pipeline.holds import NANO, applying, limit_holds

__all__ = ["AdmitPredictions"]


class AdmitPredictions:
    """The admit stage of the predictions pipeline: a view of the gateway's ``Admit``."""

    def __init__(self, admit: Admit, config: PredictiveConfig) -> None:
        self.admit = admit
        self.models = config.models

    async def before(self, call: Call) -> None:
        admit = self.admit
        if not admit.active or call.principal is None:
            return
        model = call.model.partition("@")[0]  # name@alias: the model's name
        budgets = applying(admit.budgets, call.principal, model)
        limits = [
            (limit, subject)
            for limit, subject in applying(admit.limits, call.principal, model)
            if limit.rpm is not None or limit.concurrency is not None
        ]
        if not budgets and not limits:
            return
        now = admit.clock()
        hard = any(b.mode == "hard" for b, _ in budgets)
        worst = self.worst_case(call, model) if hard else 0
        taken = admit.budget_holds(budgets, now, worst)
        for limit, subject in limits:
            held = limit_holds(limit, subject, admit.prefix, 0, admit.lease_ms)
            taken.extend((hold, check) for hold, check in held if check.kind != "tpm")
        await admit.take(call, taken, now, worst, rows=True)

    def worst_case(self, call: Call, model: str) -> int:
        """The prediction's cost in nano-dollars: what it will cost if it is answered."""
        inputs = call.prediction.inputs if call.prediction is not None else {}
        return math.ceil(prediction_cost_usd(self.models.get(model), inputs) * NANO)

    async def after(self, call: Call) -> None:
        await self.admit.after(call)
