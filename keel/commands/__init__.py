"""The control plane: what the ``keel`` command does besides serving (keys, rollouts, the
audit trail, prices, reports). The CLI calls these; the data plane never imports them."""
