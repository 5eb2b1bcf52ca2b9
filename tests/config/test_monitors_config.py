"""The ``monitors.embeddings`` section and a data class's ``monitor_embeddings`` flag."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from keel.config.monitors import EmbeddingDriftConfig
from keel.config.security import DataClassConfig, PIIPolicy


def test_defaults_are_off_and_sample_a_small_share_under_caps() -> None:
    settings = EmbeddingDriftConfig()
    assert not settings.enabled and settings.share == 0.05  # on by choice: the model costs RAM
    assert settings.per_minute <= settings.total_per_minute
    assert settings.alpha * (settings.permutations + 1) >= 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"min_vectors": 600, "window": 500}, "min_vectors must not exceed window"),
     ({"alpha": 0.001, "permutations": 300}, "raise permutations"),
     ({"share": 0}, "greater than 0"),
     ({"share": 1.5}, "less than or equal to 1")],
)  # fmt: skip
def test_settings_that_cannot_work_are_refused(fields: dict[str, float], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        EmbeddingDriftConfig(**fields)


@pytest.mark.parametrize(
    ("prompts", "flag", "allowed"),
    [("allow", None, True), ("redact", None, False), ("pseudonymise", None, False),
     ("block", None, False), ("redact", True, True), ("allow", False, False)],
)  # fmt: skip
def test_a_class_that_keeps_pii_out_of_prompts_opts_in(
    prompts: str, flag: bool | None, allowed: bool
) -> None:
    spec = DataClassConfig(regions=["eu"], pii=PIIPolicy(prompts=prompts), monitor_embeddings=flag)  # type: ignore[arg-type]
    assert spec.allows_prompt_embedding() is allowed
