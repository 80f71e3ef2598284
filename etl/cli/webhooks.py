"""``zoom-etl webhooks serve``: the receiver of Zoom's event deliveries (see ``etl.webhooks``).

It needs the app's secret token (``ZOOM_WEBHOOK_SECRET_TOKEN`` or ``secret_token`` in ``[webhooks]``) and
writes to the spool (``[webhooks] spool``, default beside the warehouse); it never opens the warehouse.
"""

from __future__ import annotations

from pathlib import Path

import click

from etl.cli.common import config_option, logging_options, settings_from, start_logging, warehouse_option
from etl.errors import ConfigError


@click.group()
def webhooks() -> None:
    """Zoom's events: receive them; `sync --events` turns them into targeted syncs."""


@webhooks.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (0.0.0.0: all).")
@click.option("--port", default=8740, show_default=True, type=click.IntRange(0, 65535))
@click.option("--path", "url_path", default="/webhooks/zoom", show_default=True, help="The endpoint's path.")
@click.option(
    "--forwarded-allow-ips",
    default="127.0.0.1",
    show_default=True,
    help="Reverse proxies whose X-Forwarded-For/-Proto are trusted (comma-separated, or '*').",
)
@click.option("--root-path", default="", help="Path prefix a reverse proxy mounts the receiver under.")
@config_option
@warehouse_option
@logging_options
def serve_command(
    host: str,
    port: int,
    url_path: str,
    forwarded_allow_ips: str,
    root_path: str,
    config_path: Path | None,
    warehouse: Path | None,
    log_format: str | None,
    verbose: bool,
) -> None:
    """Receive Zoom's webhooks: verify, spool durably, answer within Zoom's 3 seconds."""
    from etl.webhooks.receiver import Receiver, ReceiverOptions
    from etl.webhooks.serve import ServeOptions, serve
    from etl.webhooks.spool import Spool

    settings = settings_from(
        {"warehouse": warehouse, "log_format": log_format}, config_path, require_accounts=False
    )
    start_logging(settings, log_format, verbose)
    hooks = settings.webhooks
    if hooks.secret_token is None:
        raise ConfigError(
            "webhooks: no secret token: set ZOOM_WEBHOOK_SECRET_TOKEN or secret_token in [webhooks]"
        )
    if not url_path.startswith("/"):
        raise ConfigError(f"--path (flag): must start with '/', got {url_path!r}")
    spool = Spool(hooks.spool_for(settings.warehouse))
    try:
        spool.ensure()
    except OSError as exc:
        raise ConfigError(f"webhooks spool {spool.directory}: cannot be created: {exc.strerror}") from None
    options = ReceiverOptions(
        hooks.secret_token,
        path=url_path,
        tolerance_seconds=hooks.tolerance_seconds,
        max_body_bytes=hooks.max_body_bytes,
    )
    click.echo(
        f"receiving Zoom webhooks on http://{host}:{port}{url_path}; spool {spool.directory}", err=True
    )
    serve(
        Receiver(options, spool),
        ServeOptions(host=host, port=port, forwarded_allow_ips=forwarded_allow_ips, root_path=root_path),
    )
