"""The sections of a deployment that only one cloud's adapter reads: ``azure`` for
``azure-openai``, ``aws`` for ``bedrock``. Re-exported by ``keel.config.schema``."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = ["AwsConfig", "AzureConfig", "aws_section", "azure_section"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AzureConfig(_Section):
    """Azure OpenAI (provider azure-openai): which Azure deployment the URL names, the API
    version, and the Entra ID token used instead of an api_key."""

    deployment: str | None = Field(
        None,
        min_length=1,
        description="The Azure deployment in the URL (/openai/deployments/<this>/chat/"
        "completions); default: the deployment's model.",
    )
    api_version: str = Field(
        "2024-10-21", min_length=1, description="The api-version query parameter of every call."
    )
    ad_token: SecretStr | None = Field(
        None,
        description="An Entra ID bearer token (literal, ${ENV} or file:/path, read once at "
        "start), sent as authorization instead of the api-key header.",
    )
    ad_token_file: str | None = Field(
        None,
        min_length=1,
        description="A file holding an Entra ID access token, read again whenever it changes "
        "(a sidecar or a cron job keeps it fresh; keel does not run the OAuth flow).",
    )

    @model_validator(mode="after")
    def _one_token(self) -> Self:
        if self.ad_token is not None and self.ad_token_file is not None:
            raise ValueError("set one of azure.ad_token and azure.ad_token_file, not both")
        return self


class AwsConfig(_Section):
    """AWS (provider bedrock): the region, and the credentials requests are signed with
    (SigV4). Without keys here, the standard AWS chain is used: AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, then the shared files, then the instance or
    container role."""

    region: str = Field(
        ..., min_length=1, description="AWS region of the Bedrock runtime, e.g. eu-central-1."
    )
    access_key_id: SecretStr | None = Field(
        None, description="Access key id (literal, ${ENV} or file:/path)."
    )
    secret_access_key: SecretStr | None = Field(
        None, description="Secret access key (literal, ${ENV} or file:/path)."
    )
    session_token: SecretStr | None = Field(
        None, description="Session token of temporary credentials (literal, ${ENV} or file:/path)."
    )

    @model_validator(mode="after")
    def _key_pair(self) -> Self:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError(
                "set both aws.access_key_id and aws.secret_access_key, or neither (then the "
                "standard AWS credential chain is used)"
            )
        if self.session_token is not None and self.access_key_id is None:
            raise ValueError("aws.session_token needs aws.access_key_id and aws.secret_access_key")
        return self


def azure_section(azure: AzureConfig | None, deployment: dict[str, Any]) -> AzureConfig | None:
    """A deployment's ``azure``, checked against its other (already validated) fields."""
    if deployment.get("provider") != "azure-openai":
        if azure is not None:
            raise ValueError("azure applies to azure-openai deployments only")
        return None
    azure = azure or AzureConfig()
    keyless = "api_key" in deployment and deployment["api_key"] is None
    if keyless and azure.ad_token is None and azure.ad_token_file is None:
        raise ValueError(
            "an azure-openai deployment needs api_key, or an Entra ID token in "
            "azure.ad_token or azure.ad_token_file"
        )
    return azure


def aws_section(aws: AwsConfig | None, deployment: dict[str, Any]) -> AwsConfig | None:
    """A deployment's ``aws``, checked against its other (already validated) fields."""
    bedrock = deployment.get("provider") == "bedrock"
    if not bedrock:
        if aws is not None:
            raise ValueError("aws applies to bedrock deployments only")
        return None
    if aws is None:
        raise ValueError("a bedrock deployment needs aws.region (e.g. aws: {region: us-east-1})")
    health = deployment.get("health")
    if getattr(health, "probe", False):
        raise ValueError(
            "bedrock has no cheap health probe: set health.probe to false (the circuit "
            "breaker still watches every call)"
        )
    return aws
