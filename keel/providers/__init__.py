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
    raise ValueError(f"unknown provider {deployment.provider!r}")
