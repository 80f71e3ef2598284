"""``zoom-etl doctor``: preflight the configured accounts (checks in ``etl.doctor``), one line per check.

Exit codes: 0 when nothing failed (warnings allowed), 1 when a check failed, 2 on bad configuration. With
``--json`` the same results go to stdout as one JSON document, configuration errors included, so a
scheduler can read why; the human form prints a configuration error as one line on stderr.
"""

from __future__ import annotations

from pathlib import Path

import click

from etl.cli.common import config_option, emit_json, settings_from, start_logging
from etl.doctor import CheckResult, exit_code, run_doctor
from etl.errors import ConfigError

_MARKS = {"ok": "ok", "warn": "WARN", "fail": "FAIL"}


@click.command("doctor")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON document.")
@click.pass_context
def doctor_command(ctx: click.Context, config_path: Path | None, as_json: bool) -> None:
    """Preflight: settings, OAuth token, REST, GraphQL, scopes, clock skew and rate limits per account."""
    try:
        settings = settings_from({}, config_path)
    except ConfigError as exc:
        results = [CheckResult("settings", "fail", str(exc))]
    else:
        start_logging(settings, None, verbose=False)
        results = run_doctor(settings)
    code = exit_code(results)
    if as_json:
        emit_json({"exit_code": code, "checks": [r.as_dict() for r in results]})
    else:
        _print(results, code)
    ctx.exit(code)


def _print(results: list[CheckResult], code: int) -> None:
    account: str | None = None
    for result in results:
        if result.account_id is not None and result.account_id != account:
            account = result.account_id
            click.echo(f"account {account}")
        indent = "  " if result.account_id is not None else ""
        line = f"{indent}{_MARKS[result.status]:<4}  {result.name:<8}  {result.detail}"
        click.echo(line, err=result.name == "settings" and result.status == "fail")
    counts = {status: sum(r.status == status for r in results) for status in _MARKS}
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    click.echo(f"doctor: {summary} (exit {code})")
