"""The tables keel keeps. SQLAlchemy Core only: no ORM objects on the hot path."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)

__all__ = [
    "alert_episodes",
    "alerts",
    "api_keys",
    "audit",
    "audit_checkpoints",
    "drift_rows",
    "embedding_checks",
    "embedding_pins",
    "feedback",
    "labels",
    "metadata",
    "model_alias_events",
    "model_aliases",
    "model_versions",
    "predictions",
    "prompt_vectors",
    "responses",
    "rollout_events",
    "rollouts",
    "usage",
]

metadata = MetaData()

# Each index is one more page written per commit on the hot path: ``ts`` (reports select by
# time) and the unique request id. Add one with the feature that needs it.

# A token principal's key_id is ``jwt:`` and its JWT `sub`, which OIDC allows up to 255
# characters (keel.pipeline.identify refuses a longer one).
KEY_ID_LEN = 260

usage = Table(
    "usage",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(128), nullable=False),
    Column("ts", Float, nullable=False, index=True),
    Column("team", String(128)),
    Column("key_id", String(KEY_ID_LEN)),
    Column("model", String(256)),
    Column("endpoint", String(32), nullable=False),
    Column("stream", Boolean, nullable=False),
    Column("deployment", String(256)),
    Column("region", String(128)),
    Column("status", Integer, nullable=False),
    Column("error", String(64)),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("tokens_estimated", Boolean, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("upstream_ms", Float, nullable=False),
    Column("ttft_ms", Float),
    Column("overhead_ms", Float, nullable=False),
    Column("attempts", Text, nullable=False),  # JSON list of {deployment, error, ms}
    # 'call' for what a client asked; 'shadow' for the copy sent to a shadow deployment.
    # Added by ALTER TABLE to databases made before it (see keel.store.sql).
    Column("kind", String(16), nullable=False, server_default="call"),
    Column("project", String(128)),
    Column("cached_tokens", Integer, nullable=False, server_default="0"),
    # A request id names one call (and its shadow copy, which shares it): feedback is given on
    # it. Unique so that no client can record under an id that is taken; the ledger gives a
    # row whose id is taken a fresh one (keel.store.request_ids). Also the feedback lookup.
    Index("ux_usage_request_id", "request_id", "kind", unique=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("team", String(128), nullable=False),
    Column("name", String(256), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Column("prefix", String(32), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float),
    Column("revoked_at", Float),
    Column("models", Text),
    Column("data_class", String(128)),
    Column("project", String(128)),
)

# The live split of each rolled-out model, one row per model; ``version`` grows by one with
# every change, so a writer can refuse to overwrite a change it has not seen.
STICKY_LEN = 140
rollouts = Table(
    "rollouts",
    metadata,
    Column("model", String(256), primary_key=True),
    Column("mode", String(16), nullable=False),
    Column("canary", String(256)),
    Column("percent", Float, nullable=False),
    Column("weights", Text, nullable=False),  # JSON {deployment: share}
    # user | key | team, or a predictive model's input:<name> (a name is up to 128)
    Column("sticky", String(STICKY_LEN), nullable=False),
    Column("status", String(16), nullable=False),  # active | promoted | rolled_back | off
    Column("version", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("shadow", String(256)),  # a predictive model's shadow alias or version
)

rollout_events = Table(
    "rollout_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False),
    Column("model", String(256), nullable=False, index=True),
    Column("action", String(32), nullable=False),  # set | promote | rollback | auto_rollback
    Column("actor", String(256), nullable=False),
    Column("before", Text),  # JSON of the split before, null when there was none
    Column("after", Text, nullable=False),
    Column("reason", Text, nullable=False),
)

# The audit trail (keel.audit): one hash chain per writing process. ``record`` is the record's
# canonical JSON, exactly the bytes hashed; ``ts`` is when it was linked (export selects by it).
audit = Table(
    "audit",
    metadata,
    Column("writer", String(128), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts", Float, nullable=False, index=True),
    Column("prev", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("record", Text, nullable=False),
)

# Signed chain heads: written every audit.checkpoint_s per writer, off the hot path, so the
# index costs nothing there.
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("writer", String(128), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("head", String(64), nullable=False),
    Column("ts", Float, nullable=False),
    Column("key_id", String(128), nullable=False),
    Column("signature", String(128), nullable=False),  # base64 of the Ed25519 signature
    # The last checkpoint of a writer that stopped cleanly: nothing may follow its head.
    Column("final", Boolean, nullable=False, server_default=false()),
    # The writer's checkpoints number 0, 1, 2 … (a gap is a deleted one); what it vouched for
    # of other writers (keel.audit.checkpoint). Both NULL in checkpoints from before them.
    Column("n", BigInteger),
    Column("vouch", Text),
    Index("ix_audit_checkpoints_writer_seq", "writer", "seq"),
    # Each checkpoint reads the other writers' latest by time.
    Index("ix_audit_checkpoints_ts", "ts"),
)

# What a caller said about an answer (POST /v1/feedback): ``keel report roi`` values outcomes.
# ``team`` and ``project`` are the answered call's, copied so the report needs no join.
feedback = Table(
    "feedback",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False, index=True),
    Column("request_id", String(128), nullable=False),
    Column("outcome", String(64), nullable=False),
    Column("team", String(128)),
    Column("project", String(128)),
    Column("key_id", String(KEY_ID_LEN)),
)

# Budget and rate-limit alerts (keel.monitor.alerts), one row each once its delivery finished
# or gave up. ``status``: delivered (every webhook took it), partial, failed, or no_webhooks.
alerts = Table(
    "alerts",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # budget | rate_limit
    Column("name", String(256), nullable=False),
    Column("subject", String(256), nullable=False),
    Column("threshold", Float, nullable=False),
    Column("used", Float, nullable=False),
    Column("limit_value", Float, nullable=False),  # the Alert's ``limit`` (a reserved word)
    Column("period_start", Float, nullable=False),
    Column("resets_at", Float, nullable=False),
    Column("message", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("delivered", Integer, nullable=False),  # webhooks that took it
    Column("failed", Integer, nullable=False),  # webhooks that did not, after every retry
    Column("attempts", Integer, nullable=False),  # POSTs made, over every webhook
    Column("last_error", Text),
)

# A monitor's condition from the check it started on to the one it ended on
# (keel.monitor.episodes). ``open_key`` (kind:subject) is set while it is open and NULL after:
# unique, so one episode of a kind and subject is open at a time over every replica.
alert_episodes = Table(
    "alert_episodes",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("open_key", String(300), unique=True),
    Column("kind", String(32), nullable=False),
    Column("subject", String(256), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("resolved_at", Float),
    Column("message", Text, nullable=False),
    Column("value", Float, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("details", Text, nullable=False),  # JSON
)

# Sampled input rows of predictive model versions (keel.monitor.drift_windows), compared
# with each version's registered reference. ``layout`` names the inputs and their widths
# ("X:30"); ``data`` is the row as a JSON list in that order.
drift_rows = Table(
    "drift_rows",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("model", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    Column("ts", Float, nullable=False),
    Column("layout", String(1024), nullable=False),
    Column("data", Text, nullable=False),
    Index("ix_drift_rows_model_version_ts", "model", "version", "ts"),
    Index("ix_drift_rows_ts", "ts"),
)

# The model registry (keel.registry): one row per registered version, numbered per name; JSON
# in the Text columns. The unique (name, version) index is what numbers versions atomically.
model_versions = Table(
    "model_versions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("format", String(32), nullable=False),
    Column("signature", Text, nullable=False),
    Column("metrics", Text, nullable=False),
    Column("training", Text),  # fingerprint, rows, per-feature reference statistics
    Column("tags", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("code_version", String(64)),  # the git commit registered from, if any
    Column("creator", String(256), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("archived_at", Float),
    Index("ux_model_versions_name_version", "name", "version", unique=True),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("alias", String(128), primary_key=True),
    Column("version", Integer, nullable=False),
)

model_alias_events = Table(
    "model_alias_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False),
    Column("name", String(128), nullable=False, index=True),
    Column("alias", String(128), nullable=False),
    Column("before", Integer),  # null: the alias was new
    Column("after", Integer, nullable=False),
    Column("who", String(256), nullable=False),
    Column("why", Text, nullable=False),
)

# Stored OpenAI Responses (keel.store.responses), read by id within the team and followed by
# ``previous_response_id`` (the primary key serves both). JSON in the Text columns; ``body`` is
# the Response object without its output and usage.
responses = Table(
    "responses",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("team", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("model", String(256), nullable=False),
    Column("previous_response_id", String(64)),
    Column("input_items", Text, nullable=False),
    Column("output_items", Text, nullable=False),
    Column("usage", Text),
    Column("body", Text, nullable=False),
)

# The prediction log (keel.monitor.predictions): one row per row of a predictive call's answer,
# written in batches off the hot path. ``probabilities``: JSON list, a classifier's.
predictions = Table(
    "predictions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("model", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("ts", Float, nullable=False),
    Column("row_index", Integer, nullable=False),
    Column("label", String(256)),
    Column("score", Float),
    Column("probabilities", Text),
    Index("ix_predictions_model_ts", "model", "ts"),
    Index("ix_predictions_request_row", "request_id", "row_index"),
)

# True labels sent after the call (POST /v2/models/{m}/feedback, keel models labels); the
# latest per (request_id, row) counts. ``team`` and ``key_id`` are the sender's.
labels = Table(
    "labels",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("row_index", Integer, nullable=False),
    Column("label", String(256), nullable=False),
    Column("model", String(128), nullable=False),
    Column("team", String(128)),
    Column("key_id", String(KEY_ID_LEN)),
    Column("source", String(16), nullable=False),
    Index("ix_labels_request_row", "request_id", "row_index"),
)

# The prompt embedding drift monitor (keel.monitor.embeddings): sampled prompts' vectors (384
# float16 values, never the text), written in batches off the hot path and read by model and
# time; the reference window pinned per model (the latest pin wins); each check's outcome.
prompt_vectors = Table(
    "prompt_vectors",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False),
    Column("model", String(256), nullable=False),
    Column("deployment", String(256), nullable=False),
    Column("arm", String(256), nullable=False),
    Column("vector", LargeBinary, nullable=False),
    Index("ix_prompt_vectors_model_ts", "model", "ts"),
    Index("ix_prompt_vectors_ts", "ts"),
)

embedding_pins = Table(
    "embedding_pins",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("model", String(256), nullable=False, index=True),
    Column("since", Float, nullable=False),
    Column("until", Float, nullable=False),
    Column("pinned_at", Float, nullable=False),
    Column("actor", String(256), nullable=False),
)

embedding_checks = Table(
    "embedding_checks",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False, index=True),
    Column("model", String(256), nullable=False),
    Column("arm", String(256), nullable=False),  # "" for the whole model
    Column("pin_seq", Integer, nullable=False),
    Column("n_reference", Integer, nullable=False),
    Column("n_current", Integer, nullable=False),
    Column("mmd2", Float, nullable=False),
    Column("p_value", Float, nullable=False),
    Column("score", Float, nullable=False),
    Column("alpha", Float, nullable=False),
    Column("drift", Boolean, nullable=False),
    Index("ix_embedding_checks_model_seq", "model", "seq"),
)
