"""Tabular drift for predictive models: a window of live inputs against a version's
registered reference, per feature, with family-wise error control across features.

``Reference.from_columns(columns)`` or ``Reference.from_stored(version.training)`` (which
raises ``NoReferenceSample`` for a version registered without one), then
``detect(reference, window_columns, alpha=0.05) -> DriftReport``. The design and its
measured false-alarm rate and power are in docs/monitoring.md.
"""

from keel.monitor.drift.detect import DriftReport, FeatureDrift, detect
from keel.monitor.drift.reference import NoReferenceSample, Reference

__all__ = ["DriftReport", "FeatureDrift", "NoReferenceSample", "Reference", "detect"]
