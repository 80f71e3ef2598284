"""The ``zoom-etl`` command line. Each command group lives in its own module and is registered here.

Results go to stdout, logs and progress to stderr. Deliberate errors (``etl.errors``) print one line and
exit with their documented code; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import sys

import click

from etl import __version__
from etl.errors import ZoomEtlError

# Each command's module is imported when the command runs (or when --help lists it), so a read command
# never pays for the sync's imports (polars, gql, httpx): see README "Benchmarks", startup.
COMMANDS = {
    "demo": "etl.cli.demo:demo",
    "sync": "etl.cli.sync:sync_command",
    "status": "etl.cli.status:status_command",
    "streams": "etl.cli.status:streams_command",
    "rebuild": "etl.cli.sync:rebuild_command",
    "doctor": "etl.cli.doctor:doctor_command",
    "sql": "etl.cli.analyst:sql_command",
    "report": "etl.cli.analyst:report_command",
    "docs": "etl.cli.analyst:docs_command",
    "export": "etl.cli.export:export_command",
    "simulator": "etl.cli.simulator:simulator",
    "recordings": "etl.cli.recordings:recordings",
    "webhooks": "etl.cli.webhooks:webhooks",
}


class _Group(click.Group):
    """Loads a command's module on first use (click's lazy-group pattern), and turns deliberate errors
    into one clear line and their exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *COMMANDS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, _, name = COMMANDS[cmd_name].partition(":")
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command) and command.name == cmd_name, COMMANDS[cmd_name]
        return command

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ZoomEtlError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"zoom-etl: error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zoom-etl")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Sync Zoom into a DuckDB warehouse: GraphQL first, REST where GraphQL lacks coverage."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main() -> None:
    cli(prog_name="zoom-etl")
