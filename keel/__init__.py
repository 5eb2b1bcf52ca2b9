"""keel: the production foundation for AI services.

The public names load on first use, so ``keel keys …`` and ``keel validate`` start without
importing the web stack, and ``keel up --workers N`` can choose Prometheus' multi-process mode
before the metrics library loads.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.config.loader import load_config
    from keel.config.schema import KeelConfig
    from keel.errors import ConfigError, KeelError
    from keel.gateway.app import Gateway, create_app

__all__ = ["ConfigError", "Gateway", "KeelConfig", "KeelError", "create_app", "load_config"]
__version__ = "0.1.0"

_HOMES = {
    "ConfigError": "keel.errors",
    "Gateway": "keel.gateway.app",
    "KeelConfig": "keel.config.schema",
    "KeelError": "keel.errors",
    "create_app": "keel.gateway.app",
    "load_config": "keel.config.loader",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'keel' has no attribute {name!r}")
