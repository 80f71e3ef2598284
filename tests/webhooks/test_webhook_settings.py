"""The ``[webhooks]`` settings: environment over file, durations, one-line errors, no secret shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config import load_settings
from etl.errors import ConfigError


def settings(tmp_path: Path, toml: str, **environ: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "zoom-etl.toml"
    path.write_text(toml)
    return load_settings({}, environ, path, require_accounts=False).webhooks


def test_file_values_and_environment_precedence(tmp_path: Path) -> None:
    toml = (
        '[webhooks]\nsecret_token = "from-file"\ntolerance = "2min"\n'
        'reconcile_every = "6h"\nmax_body_kb = 64\n'
    )
    hooks = settings(tmp_path, toml)
    assert hooks.secret_token is not None and hooks.secret_token.reveal() == "from-file"
    assert (hooks.tolerance_seconds, hooks.reconcile_every_seconds, hooks.max_body_bytes) == (
        120,
        21600,
        65536,
    )
    assert "from-file" not in repr(hooks)
    env = settings(tmp_path, toml, ZOOM_WEBHOOK_SECRET_TOKEN="from-env", ZOOM_ETL_RECONCILE_EVERY="1d")
    assert env.secret_token is not None and env.secret_token.reveal() == "from-env"
    assert env.reconcile_every_seconds == 86400


def test_defaults_put_the_spool_beside_the_warehouse(tmp_path: Path) -> None:
    hooks = settings(tmp_path, "")
    assert hooks.secret_token is None and hooks.tolerance_seconds == 300
    assert hooks.spool_for(Path("/var/lib/z/zoom_etl.duckdb")) == Path("/var/lib/z/zoom_etl.events")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[webhooks]\nreconcile_every = "soon"\n', "reconcile_every of [webhooks]"),
        ('[webhooks]\nsecret = "x"\n', "unknown key(s): secret"),
        ("[webhooks]\nsecret_token = 5\n", "must be a non-empty string"),
        ('webhooks = "on"\n', "must be a [webhooks] table"),
    ],
)
def test_bad_values_are_one_line_errors(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(tmp_path, toml)
    assert message in str(caught.value) and "\n" not in str(caught.value)
