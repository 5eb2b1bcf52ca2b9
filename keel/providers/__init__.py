"""Provider adapters, one per wire protocol, chosen by a deployment's ``provider`` field."""

from __future__ import annotations

from keel.config.schema import DeploymentConfig
from keel.providers.base import Provider

__all__ = ["build_provider"]


def build_provider(deployment: DeploymentConfig) -> Provider:
    # Imported on demand: the embedding runtime is heavy and most deployments never need it.
    if deployment.provider == "openai":
        from keel.providers.openai import OpenAIProvider

        return OpenAIProvider(deployment)
    if deployment.provider == "anthropic":
        from keel.providers.anthropic import AnthropicProvider

        return AnthropicProvider(deployment)
    if deployment.provider == "sim":
        from keel.providers.sim import SimProvider

        return SimProvider(deployment)
    if deployment.provider == "local-embeddings":
        from keel.providers.local_embeddings import LocalEmbeddingsProvider

        return LocalEmbeddingsProvider(deployment)
    if deployment.provider in _CLOUDS:
        return _cloud(deployment)
    raise ValueError(f"unknown provider {deployment.provider!r}")


_CLOUDS = frozenset({"azure-openai", "gemini", "bedrock"})


def _cloud(deployment: DeploymentConfig) -> Provider:
    if deployment.provider == "azure-openai":
        from keel.providers.azure_openai import AzureOpenAIProvider

        return AzureOpenAIProvider(deployment)
    if deployment.provider == "gemini":
        from keel.providers.gemini import GeminiProvider

        return GeminiProvider(deployment)
    from keel.providers.bedrock import BedrockProvider

    return BedrockProvider(deployment)
