"""``keel report``: usage, alerts, costs and ROI from the store's records, and what they
share (the period asked for, totals of usage rows, budget use, self-hosted hours)."""
