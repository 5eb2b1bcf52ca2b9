"""Serving registered predictive models: the invoker that runs a prediction's ``Call`` on the
model version its name, version or alias resolves to (``keel.serving.predictor``)."""
