"""The ``keel`` command: up, validate, config schema, keys, report, prices, rollout, audit, models,
quality, monitor, drift, sim."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from keel.cli.options import ConfigOpt, load
from keel.config.schema import KeelConfig

if TYPE_CHECKING:
    pass

from keel.cli.audit import audit_app
from keel.cli.drift import drift_app
from keel.cli.keys import keys_app
from keel.cli.models import models_app
from keel.cli.monitor import monitor_app
from keel.cli.quality import quality_app
from keel.cli.report import report_app
from keel.cli.rollout import rollout_app

__all__ = ["app", "main"]

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
config_app = typer.Typer(no_args_is_help=True, help="Inspect the config format.")
app.add_typer(config_app, name="config")
app.add_typer(keys_app, name="keys")
app.add_typer(report_app, name="report")
app.add_typer(rollout_app, name="rollout")
app.add_typer(audit_app, name="audit")
app.add_typer(models_app, name="models")
app.add_typer(quality_app, name="quality")
app.add_typer(monitor_app, name="monitor")
app.add_typer(drift_app, name="drift")


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
    cfg = load(config)
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
    load(chosen)
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

    rows = list_prices() if config is None else deployment_prices(load(config))
    try:
        typer.echo(render_prices(rows, format))
    except ValueError as exc:
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(2) from None


def main() -> None:
    try:
        app()
    except BrokenPipeError:
        sys.exit(0)
