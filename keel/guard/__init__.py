"""Guards on what goes in and out of a model, pure functions over text: ``keel.guard.pii``
finds personal data and allows, redacts, pseudonymises or blocks it; ``keel.guard.injection``
screens a request for prompt injection."""
