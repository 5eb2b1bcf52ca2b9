"""The ``keel`` command: up, validate, config schema, keys, report, prices, rollout, audit, models,
sim."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import orjson
import typer

from keel.config.loader import load_config
from keel.config.schema import KeelConfig
from keel.errors import ConfigError

if TYPE_CHECKING:
    from keel.commands.keys import AdminClient, StoreKeys
    from keel.commands.models_remote import RemoteModels
    from keel.commands.rollout import Plan
    from keel.config.schema import ModelConfig
    from keel.store.rollouts import RolloutState

__all__ = ["app", "main"]

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
config_app = typer.Typer(no_args_is_help=True, help="Inspect the config format.")
keys_app = typer.Typer(no_args_is_help=True, help="Make, list and revoke API keys.")
report_app = typer.Typer(no_args_is_help=True, help="Reports from the usage records.")
rollout_app = typer.Typer(
    no_args_is_help=True, help="Canary and A/B splits of a model: see, change, promote, roll back."
)
app.add_typer(config_app, name="config")
app.add_typer(keys_app, name="keys")
app.add_typer(report_app, name="report")
audit_app = typer.Typer(
    no_args_is_help=True, help="The tamper-evident audit trail: verify, export, make a key."
)
models_app = typer.Typer(
    no_args_is_help=True,
    help="The predictive model registry: register versions, move aliases, see lineage.",
)
app.add_typer(rollout_app, name="rollout")
app.add_typer(audit_app, name="audit")
app.add_typer(models_app, name="models")

ConfigOpt = Annotated[
    str | None,
    typer.Option("--config", "-c", help="keel.yaml to use (default: ./keel.yaml, else the demo)."),
]


def _load(path: str | None) -> KeelConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"keel: config refused ({len(exc.problems)} problem(s))", err=True)
        raise typer.Exit(2) from None


@app.command()
def up(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind.")] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Processes serving the one port (one per core).")
    ] = 1,
) -> None:
    """Start the gateway."""
    cfg = _load(config)
    if workers > 1:
        # Must be set before the metrics library loads: every worker's samples are summed.
        metrics_dir = tempfile.mkdtemp(prefix="keel-metrics-")
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", metrics_dir)
    from keel.gateway.server import serve

    background = _demo_model(cfg) if cfg.server.demo else None
    bind = cfg.server.port if port is None else port
    serve(cfg, host or cfg.server.host, bind, workers, background)


def _demo_model(cfg: KeelConfig) -> Callable[[], None]:
    """The demo's predictive model, made at its first start while the gateway serves."""

    def make() -> None:
        from keel.commands.demo_model import ensure_demo_model

        try:
            done = asyncio.run(ensure_demo_model(cfg))
        except Exception as exc:  # the gateway serves on without the demo model
            typer.echo(
                f"keel: the demo model was not made ({exc}); the next start retries.", err=True
            )
            return
        typer.echo(f"keel: {done}", err=True)

    return make


@app.command()
def validate(
    path: Annotated[str | None, typer.Argument(help="The config file to check.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Check a config file; print every problem with file, line and field."""
    from keel.config.loader import DEMO_CONFIG, default_config_path

    chosen = path or config or default_config_path()
    _load(chosen)
    typer.echo(f"{'the demo config' if chosen == DEMO_CONFIG else chosen}: ok")


@config_app.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of keel.yaml (for editor completion)."""
    typer.echo(orjson.dumps(KeelConfig.model_json_schema(), option=orjson.OPT_INDENT_2))


@config_app.command("reference")
def config_reference() -> None:
    """Print the config reference in Markdown."""
    from keel.config.reference import markdown_reference

    typer.echo(markdown_reference(), nl=False)


@app.command()
def sim(
    port: Annotated[int, typer.Option(help="Port to bind.")] = 9000,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    model: Annotated[str, typer.Option(help="Model name to answer as.")] = "sim-llm",
    ttft_ms: Annotated[float, typer.Option(help="Median time to first token.")] = 150.0,
    tokens_per_s: Annotated[float, typer.Option(help="Median decode speed.")] = 60.0,
    capacity: Annotated[int, typer.Option(help="Sequences decoded at once.")] = 16,
    max_queue: Annotated[int, typer.Option(help="Requests waiting beyond capacity.")] = 256,
    output_tokens: Annotated[int, typer.Option(help="Typical answer length.")] = 48,
    seed: Annotated[int, typer.Option(help="Output seed.")] = 0,
    prompt_cache: Annotated[
        bool, typer.Option(help="Report repeated prompt prefixes as cached tokens.")
    ] = False,
) -> None:
    """Run the LLM simulator as a standalone OpenAI-compatible server."""
    from keel.config.schema import SimConfig
    from keel.gateway.sim_server import run_sim_server

    settings = SimConfig(
        ttft_ms=ttft_ms,
        tokens_per_s=tokens_per_s,
        capacity=capacity,
        max_queue=max_queue,
        output_tokens=output_tokens,
        seed=seed,
        prompt_cache=prompt_cache,
    )
    typer.echo(f"keel sim: http://{host}:{port}/v1 (model {model})", err=True)
    run_sim_server(host, port, settings, model)


ServerOpt = Annotated[
    str | None,
    typer.Option("--server", help="Act through a running gateway's admin API (http://host:port)."),
]
AdminKeyOpt = Annotated[
    str | None, typer.Option("--admin-key", help="An admin key (default: $KEEL_ADMIN_KEY).")
]


@keys_app.command("create")
def keys_create(
    team: Annotated[str, typer.Option(help="The team the key belongs to.")],
    name: Annotated[str, typer.Option(help="A label, e.g. the app using it.")] = "",
    expires: Annotated[
        str | None, typer.Option(help="Expiry: a date (2026-12-31) or a duration (30d, 12h).")
    ] = None,
    models: Annotated[
        str | None, typer.Option(help="Scope: only these logical models (comma-separated).")
    ] = None,
    data_class: Annotated[
        str | None, typer.Option("--data-class", help="Scope: the class of the key's data.")
    ] = None,
    project: Annotated[
        str | None, typer.Option(help="Tag: the project (use case) its calls count under.")
    ] = None,
    server: ServerOpt = None,
    admin_key: AdminKeyOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Make an API key for a team. It is printed once and stored only as a hash."""
    scope = tuple(m.strip() for m in (models or "").split(",") if m.strip())
    try:
        key, record = _keys(server, admin_key, config).create(
            team, name, expires, scope, data_class, project
        )
    except Exception as exc:
        _refuse(exc)
    typer.echo(key)
    tagged = f", project {record.project}" if record.project else ""
    typer.echo(f"id {record.id}, team {record.team}{tagged}. Shown once: store it now.", err=True)


@keys_app.command("list")
def keys_list(
    team: Annotated[str | None, typer.Option(help="Only this team's keys.")] = None,
    project: Annotated[str | None, typer.Option(help="Only keys tagged with this project.")] = None,
    server: ServerOpt = None,
    admin_key: AdminKeyOpt = None,
    config: ConfigOpt = None,
) -> None:
    """List API keys (never the keys themselves)."""
    from keel.commands.keys import render_keys

    try:
        records = _keys(server, admin_key, config).list_keys(team, project)
    except Exception as exc:
        _refuse(exc)
    typer.echo(render_keys(records))


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (keel keys list).")],
    server: ServerOpt = None,
    admin_key: AdminKeyOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Revoke a key. Running gateways refuse it within seconds."""
    try:
        found = _keys(server, admin_key, config).revoke(key_id)
    except Exception as exc:
        _refuse(exc)
    if not found:
        typer.echo(f"keel: no key with id {key_id} (see keel keys list)", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


def _keys(server: str | None, admin_key: str | None, config: str | None) -> StoreKeys | AdminClient:
    """Where key commands act: a running gateway's admin API, or the configured store."""
    if server is not None:
        from keel.commands.keys import AdminClient

        return AdminClient(server, admin_key)
    from keel.commands.keys import StoreKeys

    return StoreKeys(_load(config))


def _refuse(exc: Exception) -> NoReturn:
    """A refused key command: what went wrong, exit 2 (anything unexpected still raises)."""
    from keel.commands.keys import RemoteError

    if isinstance(exc, ValueError | RemoteError):
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(2) from None
    raise exc


@report_app.command("usage")
def report_usage(
    since: Annotated[
        str, typer.Option(help="Start: a date (2026-11-01) or a duration back (24h, 7d).")
    ] = "30d",
    by: Annotated[
        str, typer.Option(help="Group by team, model, deployment, region or kind (call, shadow).")
    ] = "team",
    format: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    config: ConfigOpt = None,
) -> None:
    """Requests, tokens, cost and latency from the usage records."""
    from keel.commands.report import usage

    try:
        typer.echo(asyncio.run(usage.usage(_load(config), since, by, format)))
    except ValueError as exc:
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(2) from None


@report_app.command("alerts")
def report_alerts(
    since: Annotated[
        str, typer.Option(help="Start: a date (2026-11-01) or a duration back (24h, 7d).")
    ] = "7d",
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    config: ConfigOpt = None,
) -> None:
    """Budget and rate-limit alerts as recorded: when, about what, and whether they got out."""
    from keel.commands.report import alerts

    try:
        typer.echo(asyncio.run(alerts.alerts(_load(config), since, format)))
    except ValueError as exc:
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(2) from None


PeriodOpt = Annotated[
    str,
    typer.Option(
        help="2026-11 (month), 2026-11-05 (day), 2026-W45 (ISO week), 2026-11-01..2026-11-15."
    ),
]
TzOpt = Annotated[str, typer.Option("--tz", help="Time zone of the period (IANA name).")]


@report_app.command("costs")
def report_costs(
    period: PeriodOpt,
    by: Annotated[
        str, typer.Option(help="Comma list of team, project, key, model, deployment, region.")
    ] = "team",
    format: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    tz: TzOpt = "UTC",
    config: ConfigOpt = None,
) -> None:
    """Cost per group over a period: requests, errors, failed tries, tokens, $, avg and p95
    latency (nearest rank), budget used, a total; self-hosted hours spread over their tokens.

    Budget used: the subject's spend (shadow copies excluded, as budgets count) in the budget's
    period holding the report period's end (or now, if it is running), over the limit."""
    from keel.commands.report import costs

    try:
        typer.echo(asyncio.run(costs.costs(_load(config), period, by, format, tz)))
    except ValueError as exc:
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(2) from None


@report_app.command("roi")
def report_roi(
    period: PeriodOpt,
    format: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    tz: TzOpt = "UTC",
    config: ConfigOpt = None,
) -> None:
    """Per use case (project tag) and month: requests, successes, value, cost, value/cost.

    Value: successes x value_per_success_usd, plus each request's latest feedback outcome
    (value_per_outcome_usd, minutes_saved at hourly_rate_usd), counted in the month it was
    given. Projects without a use case are listed with value 0; untagged calls are left out."""
    from keel.commands.report import roi

    try:
        typer.echo(asyncio.run(roi.roi(_load(config), period, format, tz)))
    except ValueError as exc:
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def prices(
    format: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    config: Annotated[
        str | None,
        typer.Option("--config", "-c", help="Show this keel.yaml's deployments and their prices."),
    ] = None,
) -> None:
    """The bundled price list, or with --config each deployment's resolved price."""
    from keel.commands.prices import deployment_prices, list_prices, render_prices

    rows = list_prices() if config is None else deployment_prices(_load(config))
    try:
        typer.echo(render_prices(rows, format))
    except ValueError as exc:
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(2) from None


ReasonOpt = Annotated[str, typer.Option(help="Why: recorded with the change.")]


@rollout_app.command("status")
def rollout_status(
    model: Annotated[str | None, typer.Argument(help="One model (default: every rollout).")] = None,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    config: ConfigOpt = None,
) -> None:
    """The live split, the latest changes and each deployment's numbers since the last one."""
    from keel.commands.rollout_status import status

    typer.echo(_rollout_action(lambda: status(_load(config), model, format)))


@rollout_app.command("set")
def rollout_set(
    model: Annotated[str, typer.Argument(help="The logical model.")],
    canary: Annotated[str | None, typer.Option(help="The deployment on trial.")] = None,
    percent: Annotated[float | None, typer.Option(help="Canary's share of callers, 0-100.")] = None,
    weights: Annotated[str | None, typer.Option(help="A/B shares instead: a=70,b=30.")] = None,
    sticky: Annotated[str | None, typer.Option(help="user, key or team (default: kept).")] = None,
    reason: ReasonOpt = "",
    config: ConfigOpt = None,
) -> None:
    """Set a canary (--canary DEP --percent N) or an A/B split (--weights a=70,b=30)."""
    from keel.commands import rollout

    def plan(spec: ModelConfig, current: RolloutState | None) -> RolloutState:
        return rollout.plan_set(
            spec, model, current, canary=canary, percent=percent, weights=weights, sticky=sticky
        )

    _rollout_change(config, model, "set", plan, reason)


@rollout_app.command("promote")
def rollout_promote(
    model: Annotated[str, typer.Argument(help="The logical model.")],
    reason: ReasonOpt = "",
    config: ConfigOpt = None,
) -> None:
    """Give the canary every caller (100%), marked promoted."""
    from keel.commands import rollout

    _rollout_change(
        config, model, "promote", lambda _, cur: rollout.plan_promote(model, cur), reason
    )


@rollout_app.command("rollback")
def rollout_rollback(
    model: Annotated[str, typer.Argument(help="The logical model.")],
    reason: ReasonOpt = "",
    config: ConfigOpt = None,
) -> None:
    """Send no caller to the canary first (0%), marked rolled back."""
    from keel.commands import rollout

    _rollout_change(
        config, model, "rollback", lambda _, cur: rollout.plan_rollback(model, cur), reason
    )


def _rollout_change(
    config_path: str | None, model: str, action: str, plan: Plan, reason: str
) -> None:
    from keel.commands import rollout

    cfg = _load(config_path)
    stored, before = _rollout_action(lambda: rollout.change(cfg, model, action, plan, reason))
    spec = cfg.models[model]
    if stored is None:
        assert before.state is not None
        typer.echo(f"{model}: no change ({rollout.summary(before.state, spec)})")
        return
    typer.echo(f"{model}: {rollout.summary(stored, spec)} (version {stored.version})")
    typer.echo(f"Running gateways apply it within {cfg.server.rollout_refresh_s:g}s.", err=True)


def _rollout_action(action: Callable[[], Coroutine[Any, Any, T]]) -> T:
    from keel.commands.rollout import RolloutConflict

    try:
        return asyncio.run(action())
    except ValueError as exc:
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(2) from None
    except RolloutConflict as exc:
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(1) from None


@audit_app.command("verify")
def audit_verify(
    witness: Annotated[
        Path | None,
        typer.Option(help="The witness file to compare the store with (default: audit.witness)."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Check every link and signature; exit 1 naming each broken chain's first bad record."""
    from keel.commands import audit

    cfg = _load(config)
    try:
        text, ok = asyncio.run(audit.verify_store(cfg, witness))
    except ValueError as exc:
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(text)
    if not ok:
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    since: Annotated[
        str, typer.Option(help="Records linked since: a date (2026-11-01) or a duration (24h).")
    ] = "24h",
    format: Annotated[str, typer.Option("--format", help="jsonl: one JSON record a line.")] = (
        "jsonl"
    ),
    writer: Annotated[str | None, typer.Option(help="Only this writer's chain.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Print the audit records with their chain fields, one JSON line each, for a SIEM."""
    from keel.commands import audit

    cfg = _load(config)
    try:
        count = asyncio.run(audit.export(cfg, since, format, writer, sys.stdout.buffer))
    except ValueError as exc:
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"keel audit: {count} record(s)", err=True)


@audit_app.command("keygen")
def audit_keygen(
    out: Annotated[
        Path | None, typer.Option(help="Write the private key to this new file (mode 0600).")
    ] = None,
) -> None:
    """Make an Ed25519 key for audit.signing_key; print its public key for audit.verify_keys."""
    from keel.commands import audit

    try:
        pem, public, key_id = audit.keygen(out)
    except FileExistsError:
        typer.echo(f"keel: {out} exists; keygen never overwrites a key", err=True)
        raise typer.Exit(2) from None
    if out is None:
        typer.echo(pem.decode(), nl=False)
    typer.echo(f"public key: {public}\nkey id:     {key_id}", err=True)


@models_app.command("register")
def models_register(
    name: Annotated[str, typer.Argument(help="The model's name, e.g. fraud.")],
    artifact: Annotated[
        Path, typer.Argument(help="An .onnx or .skops file, or an MLflow model directory.")
    ],
    metrics: Annotated[
        Path | None, typer.Option(help='A JSON object of metrics, e.g. {"auc": 0.97}.')
    ] = None,
    train_data: Annotated[
        Path | None,
        typer.Option("--train-data", help="The training data (CSV, or Parquet with pyarrow)."),
    ] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag, k=v (repeatable).")] = None,
    description: Annotated[str, typer.Option(help="What this version is.")] = "",
    trusted: Annotated[
        bool, typer.Option(help="Load a pickle (runs its code): only for files you trust.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Register the artifact as NAME's next version: stored by SHA-256, signature read."""
    from keel.commands import models

    tags = dict(_tag(t) for t in tag or [])
    cfg = _load(config)
    stored = _models_action(lambda: models.register(
        cfg, name, artifact, metrics, train_data, tags, description, trusted))  # fmt: skip
    typer.echo(f"{stored.name}:{stored.version} registered ({stored.format}, {stored.sha256})")


@models_app.command("list")
def models_list(
    server: ServerOpt = None, admin_key: AdminKeyOpt = None, config: ConfigOpt = None
) -> None:
    """Every model: its versions, the latest, its aliases."""
    from keel.commands import models

    found = _models_on(server, admin_key, config, lambda r: r.list_models(), models.list_models)
    typer.echo(models.render_models(*found))


@models_app.command("show")
def models_show(
    ref: Annotated[str, typer.Argument(help="NAME (latest live), NAME@ALIAS or NAME:VERSION.")],
    server: ServerOpt = None,
    admin_key: AdminKeyOpt = None,
    config: ConfigOpt = None,
) -> None:
    """One version's record as JSON: signature, metrics, training statistics, aliases, and
    the model's live rollout."""
    from keel.commands import models
    from keel.commands.model_rollout import rollout_info

    record, aliases = _models_on(
        server, admin_key, config, lambda r: r.show(ref), lambda cfg: models.show(cfg, ref)
    )
    # The live split is read from the store; through a gateway's admin API it is not shown.
    rollout = None
    if server is None:
        cfg = _load(config)
        rollout = _models_action(lambda: rollout_info(cfg, record.name))
    typer.echo(models.render_version(record, aliases, rollout))


@models_app.command("alias")
def models_alias(
    name: Annotated[str, typer.Argument(help="The model's name.")],
    alias: Annotated[str, typer.Argument(help="The alias, e.g. champion.")],
    version: Annotated[int, typer.Argument(help="The version it names from now on.")],
    why: Annotated[str, typer.Option(help="Why: recorded with the move.")] = "",
    server: ServerOpt = None,
    admin_key: AdminKeyOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Point NAME@ALIAS at VERSION, recorded with who and why."""
    from keel.commands import models

    event = _models_on(
        server,
        admin_key,
        config,
        lambda r: r.alias(name, alias, version, why),
        lambda cfg: models.alias(cfg, name, alias, version, why),
    )
    before = "new" if event.before is None else f"was {event.before}"
    typer.echo(f"{name}@{alias} -> {event.after} ({before})")


@models_app.command("lineage")
def models_lineage(
    name: Annotated[str, typer.Argument(help="The model's name.")],
    server: ServerOpt = None,
    admin_key: AdminKeyOpt = None,
    config: ConfigOpt = None,
) -> None:
    """NAME's versions with their aliases, and every alias move."""
    from keel.commands import models

    found = _models_on(
        server, admin_key, config, lambda r: r.lineage(name), lambda cfg: models.lineage(cfg, name)
    )
    typer.echo(models.render_lineage(*found))


@models_app.command("archive")
def models_archive(
    name: Annotated[str, typer.Argument(help="The model's name.")],
    version: Annotated[int, typer.Argument(help="The version to archive.")],
    server: ServerOpt = None,
    admin_key: AdminKeyOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Archive a version no alias names: kept on record, no longer named by aliases."""
    from keel.commands import models

    _models_on(
        server,
        admin_key,
        config,
        lambda r: r.archive(name, version),
        lambda cfg: models.archive(cfg, name, version),
    )
    typer.echo(f"{name}:{version} archived")


WhyOpt = Annotated[str, typer.Option(help="Why: recorded with the change.")]


@models_app.command("rollout")
def models_rollout(
    name: Annotated[str, typer.Argument(help="The model's name.")],
    canary: Annotated[
        str | None, typer.Option(help="The alias or version on trial, e.g. challenger or 3.")
    ] = None,
    percent: Annotated[float | None, typer.Option(help="The canary's callers, 0-100.")] = None,
    ab: Annotated[
        str | None, typer.Option(help="An A/B split instead: champion=50,challenger=50.")
    ] = None,
    shadow: Annotated[
        str | None, typer.Option(help="Also run what the champion answers on this ref.")
    ] = None,
    no_shadow: Annotated[bool, typer.Option("--no-shadow", help="Stop the shadow.")] = False,
    sticky: Annotated[
        str | None, typer.Option(help="Who a caller is: key (default), user or input:NAME.")
    ] = None,
    off: Annotated[bool, typer.Option("--off", help="End it: every caller on champion.")] = False,
    why: WhyOpt = "",
    config: ConfigOpt = None,
) -> None:
    """Split NAME's callers: --canary REF --percent P, or --ab REF=W,REF=W; --shadow REF."""
    from keel.commands import model_rollout
    from keel.serving.split import describe

    cfg = _load(config)
    stored, before = _models_action(lambda: model_rollout.set_rollout(
        cfg, name, canary=canary, percent=percent, ab=ab, shadow=shadow, no_shadow=no_shadow,
        sticky=sticky, off=off, why=why))  # fmt: skip
    if stored is None:
        assert before is not None
        typer.echo(f"{name}: no change ({describe(before)})")
        return
    typer.echo(f"{name}: {describe(stored)} (rollout version {stored.version})")
    _follow_note(cfg)


@models_app.command("promote")
def models_promote(
    name: Annotated[str, typer.Argument(help="The model's name.")],
    source: Annotated[
        str, typer.Option("--from", help="The alias or version champion moves to.")
    ] = "challenger",
    why: WhyOpt = "",
    config: ConfigOpt = None,
) -> None:
    """Move NAME@champion to the version --from names (one alias move); end the split."""
    from keel.commands import model_rollout

    cfg = _load(config)
    event, ended = _models_action(lambda: model_rollout.promote(cfg, name, source, why))
    typer.echo(f"{name}@champion -> {event.after} (was {event.before})" +
               (", rollout promoted" if ended is not None else ""))  # fmt: skip
    _follow_note(cfg)


@models_app.command("rollback")
def models_rollback(
    name: Annotated[str, typer.Argument(help="The model's name.")],
    why: WhyOpt = "",
    config: ConfigOpt = None,
) -> None:
    """End a split in progress; else move NAME@champion back to its previous version."""
    from keel.commands import model_rollout

    cfg = _load(config)
    event, ended = _models_action(lambda: model_rollout.rollback(cfg, name, why))
    if event is None:
        typer.echo(f"{name}: rollout rolled back, every caller on champion (champion not moved)")
    else:
        typer.echo(f"{name}@champion -> {event.after} (was {event.before})" +
                   (", rollout rolled back" if ended is not None else ""))  # fmt: skip
    _follow_note(cfg)


def _follow_note(config: KeelConfig) -> None:
    seconds = 2 * config.predictive.refresh_s
    typer.echo(f"Running gateways follow within about {seconds:g}s.", err=True)


def _tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        typer.echo(f"keel: tag {text!r}: give k=v", err=True)
        raise typer.Exit(2)
    return key, value


def _models_on(
    server: str | None,
    admin_key: str | None,
    config: str | None,
    remote: Callable[[RemoteModels], T],
    local: Callable[[KeelConfig], Coroutine[Any, Any, T]],
) -> T:
    """Where a model command acts: a running gateway's admin API, or the configured store."""
    if server is None:
        cfg = _load(config)
        return _models_action(lambda: local(cfg))
    from keel.commands.models_remote import RemoteModels

    try:
        return remote(RemoteModels(server, admin_key))
    except Exception as exc:
        _refuse(exc)


def _models_action(action: Callable[[], Coroutine[Any, Any, T]]) -> T:
    from keel.commands.rollout import RolloutConflict

    try:
        return asyncio.run(action())
    except ValueError as exc:  # refusals: unsafe or unreadable artifacts, unknown names
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(2) from None
    except RolloutConflict as exc:  # a rollout changed meanwhile: look, then try again
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(1) from None


def main() -> None:
    try:
        app()
    except BrokenPipeError:
        sys.exit(0)
