"""``keel models``: the predictive model registry: versions, aliases, lineage, rollouts."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from keel.cli.options import AdminKeyOpt, ConfigOpt, ServerOpt, T, load, refuse, run
from keel.config.schema import KeelConfig

if TYPE_CHECKING:
    from keel.commands.models_remote import RemoteModels

__all__ = ["models_app"]

models_app = typer.Typer(
    no_args_is_help=True,
    help="The predictive model registry: register versions, move aliases, see lineage.",
)


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
    cfg = load(config)
    stored = run(lambda: models.register(
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
        cfg = load(config)
        rollout = run(lambda: rollout_info(cfg, record.name))
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


@models_app.command("labels")
def models_labels(
    name: Annotated[str, typer.Argument(help="The model's name.")],
    file: Annotated[Path, typer.Argument(help="A CSV with request_id,label[,row].")],
    config: ConfigOpt = None,
) -> None:
    """Load true labels of NAME's answers into the store: bad lines are named, good ones kept
    (exit 1 if any line was refused)."""
    from keel.commands.quality import load_labels

    cfg = load(config)
    loaded = run(lambda: load_labels(cfg, name, file))
    for problem in loaded.refused:
        typer.echo(f"keel: {file}: {problem}", err=True)
    typer.echo(f"{name}: {loaded.recorded} labels recorded, {len(loaded.refused)} lines refused")
    if loaded.refused:
        raise typer.Exit(1)


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

    cfg = load(config)
    stored, before = run(lambda: model_rollout.set_rollout(
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

    cfg = load(config)
    event, ended = run(lambda: model_rollout.promote(cfg, name, source, why))
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

    cfg = load(config)
    event, ended = run(lambda: model_rollout.rollback(cfg, name, why))
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
        cfg = load(config)
        return run(lambda: local(cfg))
    from keel.commands.models_remote import RemoteModels

    try:
        return remote(RemoteModels(server, admin_key))
    except Exception as exc:
        refuse(exc)
