"""Azure OpenAI: the OpenAI wire format at deployment-name URLs.

``{endpoint}/openai/deployments/{azure.deployment}/chat/completions?api-version=…``, with the
``api-key`` header, or an Entra ID bearer token (configured, or read from a file that something
else keeps fresh). Bodies, streams and errors are OpenAI's, so the openai adapter's machinery
serves it as it is; Azure's content filter answers a 400 with code ``content_filter``, which
keel reads as a content-policy refusal.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import quote

from keel.config.clouds import AzureConfig
from keel.config.schema import DeploymentConfig
from keel.errors import UpstreamUnavailable
from keel.providers.base import UpstreamRequest
from keel.providers.openai import OpenAIProvider

__all__ = ["AzureOpenAIProvider"]

_PATHS = {"chat": "chat/completions", "completions": "completions", "embeddings": "embeddings"}
# How often the token file is looked at: it changes about hourly, requests come many a second.
_TOKEN_CHECK_S = 5.0


class AzureOpenAIProvider(OpenAIProvider):
    """One Azure OpenAI deployment (chat, completions and embeddings)."""

    def __init__(self, deployment: DeploymentConfig) -> None:
        super().__init__(deployment)
        self._azure = deployment.azure or AzureConfig()
        name = quote(self._azure.deployment or deployment.model, safe="")
        self._query = f"?api-version={quote(self._azure.api_version, safe='')}"
        self._prefix = f"/openai/deployments/{name}/"
        token_file = self._azure.ad_token_file
        self._token = _TokenFile(Path(token_file), deployment.name) if token_file else None

    def _auth_headers(self) -> dict[str, str]:
        if self._azure.ad_token is not None:
            return {"authorization": f"Bearer {self._azure.ad_token.get_secret_value()}"}
        if self._token is not None:
            return {}  # read per request: the file changes under a running keel
        key = self.deployment.api_key
        return {} if key is None else {"api-key": key.get_secret_value()}

    async def _request_headers(
        self, request: UpstreamRequest, url: str, data: bytes
    ) -> dict[str, str]:
        headers = await super()._request_headers(request, url, data)
        if self._token is not None:
            headers["authorization"] = f"Bearer {self._token.read()}"
        return headers

    def _url(self, request: UpstreamRequest) -> str:
        return self._base + self._prefix + _PATHS[request.endpoint] + self._query

    def _probe_url(self) -> str:
        """Azure's model list: free, and answers only with working credentials."""
        return f"{self._base}/openai/models{self._query}"

    async def probe(self) -> str | None:
        if self._token is not None and self._session is not None:
            self._session.headers["authorization"] = f"Bearer {self._token.read()}"
        return await super().probe()


class _TokenFile:
    """An Entra ID access token kept in a file: read again when its modification time moves."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self._token = ""
        self._mtime = -1.0
        self._checked = -_TOKEN_CHECK_S

    def read(self) -> str:
        now = time.monotonic()
        if now - self._checked >= _TOKEN_CHECK_S or not self._token:
            self._checked = now
            self._refresh()
        return self._token

    def _refresh(self) -> None:
        try:
            mtime = os.stat(self.path).st_mtime
            if mtime != self._mtime:
                token = self.path.read_text("utf-8").strip()
                if token:
                    self._token, self._mtime = token, mtime
        except OSError as exc:
            if not self._token:
                raise UpstreamUnavailable(
                    f"deployment {self.name} has no Entra ID token: cannot read "
                    f"{self.path} ({exc.strerror}). Check azure.ad_token_file."
                ) from exc
        if not self._token:
            raise UpstreamUnavailable(
                f"deployment {self.name} has no Entra ID token: {self.path} is empty. "
                "Check azure.ad_token_file."
            )
