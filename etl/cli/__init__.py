"""The ``zoom-etl`` command line. Each command group lives in its own module and is registered here.

Results go to stdout, logs and progress to stderr. Deliberate errors (``etl.errors``) print one line and
exit with their documented code; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys

import click

from etl import __version__
from etl.errors import ZoomEtlError


class _Group(click.Group):
    """Turns deliberate errors into one clear line and their exit code."""

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


def _register() -> None:
    from etl.cli.analyst import docs_command, report_command, sql_command
    from etl.cli.demo import demo
    from etl.cli.doctor import doctor_command
    from etl.cli.export import export_command
    from etl.cli.simulator import simulator
    from etl.cli.status import status_command, streams_command
    from etl.cli.sync import rebuild_command, sync_command

    for command in (
        demo,
        sync_command,
        status_command,
        streams_command,
        rebuild_command,
        doctor_command,
        sql_command,
        report_command,
        docs_command,
        export_command,
        simulator,
    ):
        cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="zoom-etl")
