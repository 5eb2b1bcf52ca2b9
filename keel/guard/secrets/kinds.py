"""What the secrets guard finds: a kind and a character span, never a copy of the value."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Secret", "SecretKind"]


class SecretKind(StrEnum):
    """Stable names: they appear in placeholders (``[OPENAI_KEY]``), config and errors."""

    OPENAI_KEY = "OPENAI_KEY"  # sk-…, sk-proj-…
    ANTHROPIC_KEY = "ANTHROPIC_KEY"  # sk-ant-api03-…
    AWS_ACCESS_KEY = "AWS_ACCESS_KEY"  # AKIA…, ASIA… (key ids)
    AWS_SECRET_KEY = "AWS_SECRET_KEY"  # 40 characters, only next to its name or a key id
    GITHUB_TOKEN = "GITHUB_TOKEN"  # ghp_ gho_ ghu_ ghs_ ghr_ github_pat_
    GITLAB_TOKEN = "GITLAB_TOKEN"  # glpat-
    SLACK_TOKEN = "SLACK_TOKEN"  # xoxb- xoxp- xoxa- xoxr- xoxs-
    SLACK_WEBHOOK = "SLACK_WEBHOOK"  # https://hooks.slack.com/services/…
    STRIPE_KEY = "STRIPE_KEY"  # sk_live_ rk_live_ pk_live_ (and _test_)
    GOOGLE_API_KEY = "GOOGLE_API_KEY"  # AIza…
    JWT = "JWT"  # three base64url parts, the header JSON with "alg"
    PRIVATE_KEY = "PRIVATE_KEY"  # -----BEGIN … PRIVATE KEY----- blocks
    CONNECTION_STRING = "CONNECTION_STRING"  # scheme://user:password@host, JDBC, ODBC Password=
    PASSWORD = "PASSWORD"  # the value of password: / passwd= / pwd=
    GENERIC_SECRET = "GENERIC_SECRET"  # the value of secret= / api_key= / token: / Bearer …


@dataclass(frozen=True, slots=True)
class Secret:
    kind: SecretKind
    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start
