"""The predictive model registry: artifacts stored by their SHA-256 (keel.registry.artifacts),
their format and signature read from them (keel.registry.formats), and the training data's
reference statistics (keel.registry.training). The records live in the store
(keel.store.models)."""
