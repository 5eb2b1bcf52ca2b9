"""The secrets guard: API keys and tokens of the common providers, JWTs, private keys,
connection strings with passwords, and values named ``password``, ``secret``, ``api_key``…

Detection (``detect``) is pattern-based, each shape with a check that turns away its
look-alikes (placeholders, low-variety values, variables, git SHAs, UUIDs, base64 blobs).
``SecretGuard`` redacts one text, whole or streamed, holding back what may still become a
secret. A data class names what to do with each kind (``keel.pipeline.secrets_rules``).
"""

from keel.guard.secrets.detect import detect
from keel.guard.secrets.kinds import Secret, SecretKind
from keel.guard.secrets.stream import SecretGuard, redact

__all__ = ["Secret", "SecretGuard", "SecretKind", "detect", "redact"]
