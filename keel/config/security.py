"""The governance sections of ``keel.yaml``: who may call (auth), where data may go (data
classes) and what the guards do, and the limits every request is held to."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

__all__ = [
    "AuditConfig",
    "AuthConfig",
    "DataClassConfig",
    "InjectionPolicy",
    "LimitsConfig",
    "OIDCConfig",
    "PIIPolicy",
    "RecogniserConfig",
    "SecretsPolicy",
    "Trust",
]

Trust = Literal["on-prem", "private-cloud", "public-cloud", "edge"]
# Asymmetric signatures only: an HMAC "signed" with the issuer's public key must never pass.
Algorithm = Literal["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"]
_DEFAULT_ALGORITHMS: tuple[Algorithm, ...] = ("RS256", "ES256")
PromptAction = Literal["allow", "redact", "pseudonymise", "block"]
AnswerAction = Literal["allow", "redact", "block"]

# How strict each action is: a header may move a request to a class only if it is no looser.
PII_RANK: dict[str, int] = {"allow": 0, "pseudonymise": 1, "redact": 2, "block": 3}
INJECTION_RANK: dict[str, int] = {"off": 0, "flag": 1, "block": 2}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OIDCConfig(_Section):
    """JWT bearer tokens from an OIDC issuer, checked against its signing keys (JWKS)."""

    issuer: str = Field(..., min_length=1, description="The token's iss must equal this.")
    audience: str = Field(..., min_length=1, description="The token's aud must contain this.")
    jwks_url: str | None = Field(None, description="Where the issuer publishes its keys.")
    jwks_file: str | None = Field(None, description="Or: a JWKS file on disk.")
    algorithms: list[Algorithm] = Field(
        default_factory=lambda: list(_DEFAULT_ALGORITHMS), description="Signatures accepted."
    )
    team_claim: str = Field("team", description="Claim naming the caller's team.")
    user_claim: str = Field("sub", description="Claim naming the caller.")
    project_claim: str | None = Field(
        None, description="Claim naming the caller's project tag (none: tokens carry no project)."
    )
    scope_claim: str = Field(
        "scope",
        description="Space-separated scopes; keel:model:<name> and keel:data_class:<name> "
        "narrow what the token may do.",
    )
    jwks_cache_s: float = Field(300.0, gt=0, description="How long fetched keys are trusted.")
    leeway_s: float = Field(30.0, ge=0, description="Clock skew allowed on exp and nbf.")

    @model_validator(mode="after")
    def _one_key_source(self) -> OIDCConfig:
        if (self.jwks_url is None) == (self.jwks_file is None):
            raise ValueError("give exactly one of jwks_url and jwks_file")
        return self


class AuthConfig(_Section):
    """How callers prove who they are: API keys always; JWTs when ``oidc`` is set. ``auth:
    none`` lets anyone in as ``anonymous_team``, and only on loopback."""

    none: bool = Field(False, description="No credentials at all (loopback only, warned).")
    anonymous_team: str | None = Field(None, description="With none: the team callers get.")
    oidc: OIDCConfig | None = None
    admin_keys: list[SecretStr] = Field(
        default_factory=list, description="Credentials for /admin (e.g. ${KEEL_ADMIN_KEY})."
    )

    @model_validator(mode="before")
    @classmethod
    def _none_shorthand(cls, value: Any) -> Any:
        return {"none": True} if value == "none" else value


# The check-digit algorithms keel.guard.pii.checksums implements (a test keeps them equal).
Checksum = Literal["elevenproof", "gs1", "luhn", "mod11", "mod11_10", "mod97", "verhoeff"]
# A recogniser's name is its kind: in placeholders (<EMPLOYEE_ID_1>), so capitals and '_'.
_KIND_NAME = re.compile(r"[A-Z][A-Z_]{1,14}")


class RecogniserConfig(_Section):
    """A company's own identifier (employee number, customer id) found by a regex, checked
    by an optional checksum over its letters and digits, and, when context words are
    given, only with one of them within ``window`` characters before or after it."""

    pattern: str = Field(..., min_length=1, description="Python regular expression.")
    checksum: Checksum | None = Field(
        None,
        description="luhn, mod97, verhoeff, mod11, mod11_10, gs1 or elevenproof, over the "
        "match's digits (mod97: letters too).",
    )
    context: list[str] = Field(
        default_factory=list, description="Words one of which must stand nearby (any case)."
    )
    window: int = Field(40, ge=1, le=64, description="How near, in characters.")
    ignore_case: bool = Field(False, description="Match the pattern in any case.")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        if compiled.fullmatch(""):
            raise ValueError("the pattern matches the empty string")
        return pattern


class PIIPolicy(_Section):
    """What the PII guard does with personal data in prompts and in answers."""

    prompts: PromptAction = Field("allow", description="allow, redact, pseudonymise or block.")
    answers: AnswerAction = Field("allow", description="allow, redact or block (DLP).")
    entities: list[str] = Field(
        default_factory=list, description="Entity types to act on (empty: all)."
    )
    ner: bool = Field(
        False,
        description="Also find names, postal addresses and company names (PERSON, ADDRESS, "
        "ORG) with keel's offline NER tagger; about 0.3 ms per message.",
    )
    recognisers: dict[str, RecogniserConfig] = Field(
        default_factory=dict,
        description="This class's own kinds by name (capitals and _, e.g. EMPLOYEE_ID); "
        "always acted on, with the class's actions.",
    )

    @field_validator("recognisers")
    @classmethod
    def _kind_names(cls, recognisers: dict[str, RecogniserConfig]) -> dict[str, RecogniserConfig]:
        for name in recognisers:
            if not _KIND_NAME.fullmatch(name):
                raise ValueError(
                    f"recogniser name {name!r}: use 2-15 capitals and '_' (it is the kind "
                    "in placeholders such as [EMPLOYEE_ID])"
                )
        return recognisers


class SecretsPolicy(_Section):
    """What the secrets guard does with credentials (API keys, tokens, private keys,
    passwords) in prompts and in answers."""

    prompts: Literal["allow", "redact", "block"] = Field(
        "allow", description="allow, redact or block."
    )
    answers: AnswerAction = Field(
        "allow", description="allow, redact or block (a refusal, or a stream stopped)."
    )
    kinds: list[str] = Field(
        default_factory=list, description="Secret kinds to act on (empty: all)."
    )


class InjectionPolicy(_Section):
    """What the prompt-injection screen does with user messages and tool results."""

    action: Literal["off", "flag", "block"] = Field("off", description="flag records the score.")
    threshold: float = Field(
        0.65,
        ge=0,
        le=1,
        description="Score at or above which it acts (see docs/guards.md for P/R).",
    )


class DataClassConfig(_Section):
    """A class of data: the regions that may process it and what the guards do with it."""

    regions: list[str] = Field(..., min_length=1, description="Region names allowed.")
    pii: PIIPolicy = PIIPolicy()
    secrets: SecretsPolicy = SecretsPolicy()
    injection: InjectionPolicy = InjectionPolicy()
    audit_text: bool = Field(False, description="Keep full prompts and answers in the audit.")
    trace_text: bool = Field(
        False,
        description="Put prompts and answers in trace spans (gen_ai.input.messages, "
        "gen_ai.output.messages); off, spans carry no text.",
    )
    monitor_embeddings: bool | None = Field(
        None,
        description="May the embedding drift monitor embed a sample of this class's prompts "
        "(it keeps the vectors, never the text)? Unset: yes if the PII guard lets prompts "
        "through (pii.prompts: allow), no if it redacts, pseudonymises or blocks them.",
    )
    description: str = Field("", description="Free text.")

    def allows_prompt_embedding(self) -> bool:
        """Vectors of prompts can be partly inverted to their text, so a class that keeps
        personal data out of prompts keeps it out of the monitor too unless it opts in."""
        if self.monitor_embeddings is not None:
            return self.monitor_embeddings
        return self.pii.prompts == "allow"

    def at_least_as_strict_as(self, other: DataClassConfig) -> bool:
        """May a request of class ``other`` be moved to this one (never loosening)?"""
        return (
            set(self.regions) <= set(other.regions)
            and PII_RANK[self.pii.prompts] >= PII_RANK[other.pii.prompts]
            and PII_RANK[self.pii.answers] >= PII_RANK[other.pii.answers]
            and PII_RANK[self.secrets.prompts] >= PII_RANK[other.secrets.prompts]
            and PII_RANK[self.secrets.answers] >= PII_RANK[other.secrets.answers]
            and INJECTION_RANK[self.injection.action] >= INJECTION_RANK[other.injection.action]
            and (other.injection.action == "off" or self.injection.threshold
                 <= other.injection.threshold)
            and (other.trace_text or not self.trace_text)
        )  # fmt: skip


class LimitsConfig(_Section):
    """Request hygiene: what a request may hold before keel refuses it (400)."""

    max_messages: int = Field(1024, gt=0, description="Messages in one chat request.")
    max_tokens: int = Field(
        131_072, gt=0, description="Largest max_tokens / max_completion_tokens asked."
    )
    max_depth: int = Field(32, gt=0, description="Deepest nesting of the JSON body.")
    max_response_chain: int = Field(
        100,
        gt=0,
        description="Most stored responses a previous_response_id chain may rebuild "
        "(/v1/responses); a longer one is refused with a 400.",
    )
    max_n: int = Field(16, gt=0, description="Most choices (n) one request may ask for.")


class AuditConfig(_Section):
    """The tamper-evident audit trail: a record of every request in a SHA-256 hash chain per
    gateway process, and that chain's head signed (Ed25519) every ``checkpoint_s``. Prompts
    and answers are kept as hashes. ``keel audit verify`` checks it."""

    enabled: bool = Field(True, description="Keep the audit trail.")
    signing_key: SecretStr | None = Field(
        None,
        description="Ed25519 private key, PEM or base64 of its 32 bytes: literal, ${ENV} or "
        "file:/path. Unset: keel makes one next to the SQLite file (else in .keel/) as "
        "audit-ed25519.pem, mode 0600, and warns.",
    )
    key_id: str | None = Field(
        None,
        min_length=1,
        description="The signing key's name in each checkpoint (default: ed25519: and 16 hex "
        "digits of its public key's SHA-256). A new key gets a new key_id.",
    )
    verify_keys: dict[str, str] = Field(
        default_factory=dict,
        description="Earlier signing keys' public keys (PEM or base64) by key_id, so "
        "checkpoints signed before a rotation still verify.",
    )
    checkpoint_s: float = Field(
        60.0,
        gt=0,
        description="Seconds between signed checkpoints of each chain head; written when idle "
        "too, at start and at shutdown.",
    )
    witness: str | None = Field(
        None,
        min_length=1,
        description="A file outside the store (another disk or machine, an append-only "
        "mount) that every checkpoint is also appended to; keel audit verify then requires "
        "each writer's newest witnessed checkpoint in the store, so a store rolled back or "
        "cut is caught. Gateways may share one file.",
    )

    @field_validator("signing_key")
    @classmethod
    def _private_key(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None:
            from keel.config.ed25519 import load_private  # cryptography loads only for a key given

            load_private(key.get_secret_value())
        return key

    @field_validator("verify_keys")
    @classmethod
    def _public_keys(cls, keys: dict[str, str]) -> dict[str, str]:
        from keel.config.ed25519 import load_public  # cryptography loads only for a key given

        for key_id, text in keys.items():
            try:
                load_public(text)
            except ValueError as exc:
                raise ValueError(f"verify_keys[{key_id!r}]: {exc}") from None
        return keys
