"""keel: the production foundation for AI services."""

from keel.config.loader import load_config
from keel.config.schema import KeelConfig
from keel.errors import ConfigError, KeelError
from keel.gateway.app import Gateway, create_app

__all__ = ["ConfigError", "Gateway", "KeelConfig", "KeelError", "create_app", "load_config"]
__version__ = "0.1.0"
