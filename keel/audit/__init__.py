"""The tamper-evident audit trail.

Every request leaves an audit record (record.py) in a SHA-256 hash chain of the process that
wrote it (chain.py), over canonical JSON (canonical.py). The ledger (keel.store.ledger) commits
records with their usage rows through this process's trail (trail.py), which links them and
signs the chain's head with Ed25519 (checkpoint.py, keys.py) at start, every
``audit.checkpoint_s`` and at close. ``keel audit verify`` (verify.py) checks every link and
signature; ``keel audit export`` (export.py) writes the records as JSON lines for a SIEM.
"""
