"""The registry's model fixtures (tests/registry/conftest.py), for serving tests."""

from tests.registry.conftest import fitted, models_dir

__all__ = ["fitted", "models_dir"]
