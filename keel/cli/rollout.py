"""``keel rollout``: a model's canary and A/B splits: see, change, promote, roll back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.options import ConfigOpt, ReasonOpt, load, run

if TYPE_CHECKING:
    from keel.commands.rollout import Plan
    from keel.config.schema import ModelConfig
    from keel.store.rollouts import RolloutState

__all__ = ["rollout_app"]

rollout_app = typer.Typer(
    no_args_is_help=True, help="Canary and A/B splits of a model: see, change, promote, roll back."
)


@rollout_app.command("status")
def rollout_status(
    model: Annotated[str | None, typer.Argument(help="One model (default: every rollout).")] = None,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    config: ConfigOpt = None,
) -> None:
    """The live split, the latest changes and each deployment's numbers since the last one."""
    from keel.commands.rollout_status import status

    typer.echo(run(lambda: status(load(config), model, format)))


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

    cfg = load(config_path)
    stored, before = run(lambda: rollout.change(cfg, model, action, plan, reason))
    spec = cfg.models[model]
    if stored is None:
        assert before.state is not None
        typer.echo(f"{model}: no change ({rollout.summary(before.state, spec)})")
        return
    typer.echo(f"{model}: {rollout.summary(stored, spec)} (version {stored.version})")
    typer.echo(f"Running gateways apply it within {cfg.server.rollout_refresh_s:g}s.", err=True)
