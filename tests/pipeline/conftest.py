from tests.state.conftest import prefix, state

__all__ = ["prefix", "state"]
