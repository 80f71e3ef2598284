"""load_settings: precedence, accounts, URL rules, one-line errors, secrets kept out of sight."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config import DEFAULT_API_URL, DEFAULT_OAUTH_URL, Secret, load_settings
from etl.errors import ConfigError

SECRET = "env-Secret-xyz"
ENV = {"ZOOM_ACCOUNT_ID": "acc-env", "ZOOM_CLIENT_ID": "cid-env", "ZOOM_CLIENT_SECRET": SECRET}


@pytest.fixture(autouse=True)
def _in_empty_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``config_path=None`` reads ./zoom-etl.toml when present: run where there is none."""
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "zoom-etl.toml"
    path.write_text(text)
    return path


def error_of(*args: object, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(*args, **kwargs)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_defaults_with_credentials_from_environment(tmp_path: Path) -> None:
    settings = load_settings({}, {**ENV, "ZOOM_ETL_CONFIG": ""}, None)
    (account,) = settings.accounts
    assert (account.account_id, account.client_id, account.client_secret.reveal()) == (
        "acc-env",
        "cid-env",
        SECRET,
    )
    assert (account.api_url, account.oauth_url, account.plan) == (DEFAULT_API_URL, DEFAULT_OAUTH_URL, "pro")
    assert settings.warehouse == Path("zoom_etl.duckdb")
    assert settings.rate_share == 0.8 and settings.lookback_days == 2 and settings.heavy_daily_budget is None
    assert settings.source_for("users") == "auto" and settings.streams is None and settings.raw_landing
    assert settings.config_path is None


def test_precedence_flags_over_env_over_file_over_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
plan = "business"
rate_share = 0.5
lookback_days = 5
max_concurrency = 8
warehouse = "file.duckdb"
[[accounts]]
account_id = "acc-env"
client_id = "cid-file"
client_secret = "file-secret"
""",
    )
    env = {**ENV, "ZOOM_ETL_RATE_SHARE": "0.6", "ZOOM_PLAN": "enterprise", "ZOOM_ETL_WAREHOUSE": "env.duckdb"}
    flags = {"rate_share": 0.7, "plan": None, "warehouse": None}
    settings = load_settings(flags, env, path)
    assert settings.rate_share == 0.7  # flag
    assert settings.warehouse == Path("env.duckdb")  # env (the None flag does not count)
    assert settings.accounts[0].plan == "enterprise"  # env over file
    assert settings.accounts[0].client_id == "cid-env"  # env over the file's account
    assert settings.lookback_days == 5 and settings.max_concurrency == 8  # file
    assert settings.timeouts.read == 60.0  # default
    assert settings.config_path == path


def test_several_accounts_from_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
plan = "business"
[[accounts]]
account_id = "a1"
client_id = "c1"
client_secret = "s1"
[[accounts]]
account_id = "a2"
client_id = "c2"
client_secret = "s2"
api_url = "https://api-eu.zoom.us/"
plan = "pro"
[streams.meeting_participants]
source = "rest"
""",
    )
    settings = load_settings({}, {}, path)
    assert [a.account_id for a in settings.accounts] == ["a1", "a2"]
    assert [a.plan for a in settings.accounts] == ["business", "pro"]
    assert settings.accounts[1].api_url == "https://api-eu.zoom.us"
    assert settings.source_for("meeting_participants") == "rest" and settings.source_for("users") == "auto"


def test_account_id_flag_selects_one_file_account(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[accounts]]\naccount_id = "a1"\nclient_id = "c1"\nclient_secret = "s1"\n'
        '[[accounts]]\naccount_id = "a2"\nclient_id = "c2"\nclient_secret = "s2"\n',
    )
    (account,) = load_settings({"account_id": "a2"}, {}, path).accounts
    assert (account.account_id, account.client_id, account.client_secret.reveal()) == ("a2", "c2", "s2")


def test_client_id_from_env_is_ambiguous_with_several_file_accounts(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[accounts]]\naccount_id = "a1"\nclient_id = "c1"\nclient_secret = "s1"\n'
        '[[accounts]]\naccount_id = "a2"\nclient_id = "c2"\nclient_secret = "s2"\n',
    )
    message = error_of({}, {"ZOOM_CLIENT_ID": "x"}, path)
    assert message.startswith("ZOOM_CLIENT_ID (environment): ambiguous with 2 accounts")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://localhost:9000",
        "http://[::1]:5000",
        "http://127.5.6.7",
        "https://x.example",
    ],
)
def test_http_allowed_only_on_loopback(url: str) -> None:
    settings = load_settings({}, {**ENV, "ZOOM_API_URL": url, "ZOOM_OAUTH_URL": url + "/oauth/token"}, None)
    assert settings.accounts[0].api_url == url


@pytest.mark.parametrize(
    ("env", "url", "origin"),
    [
        ("ZOOM_API_URL", "http://api.zoom.us", "ZOOM_API_URL (environment)"),
        ("ZOOM_OAUTH_URL", "http://10.0.0.1/oauth/token", "ZOOM_OAUTH_URL (environment)"),
        ("ZOOM_API_URL", "http://127.0.0.1.evil.com", "ZOOM_API_URL (environment)"),
        ("ZOOM_API_URL", "ftp://api.zoom.us", "ZOOM_API_URL (environment)"),
    ],
)
def test_plain_http_refused_elsewhere(env: str, url: str, origin: str) -> None:
    message = error_of({}, {**ENV, env: url}, None)
    assert message.startswith(origin + ":")


def test_http_refused_in_file_names_the_file_and_account(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[accounts]]\naccount_id = "a1"\nclient_id = "c1"\nclient_secret = "s1"\napi_url = "http://zoom.example"\n',
    )
    message = error_of({}, {}, path)
    assert message.startswith(f"api_url of [[accounts]] #1 in {path}:") and "http://" in message


@pytest.mark.parametrize(
    ("flags", "env", "start"),
    [
        (
            {},
            {"ZOOM_PLAN": "gold"},
            "ZOOM_PLAN (environment): must be one of free, pro, business, enterprise",
        ),
        ({"rate_share": 1.5}, {}, "--rate-share (flag): must be in (0, 1]"),
        ({"rate_share": 0}, {}, "--rate-share (flag): must be in (0, 1]"),
        (
            {},
            {"ZOOM_ETL_MAX_CONCURRENCY": "lots"},
            "ZOOM_ETL_MAX_CONCURRENCY (environment): must be an integer",
        ),
        ({"heavy_daily_budget": -1}, {}, "--heavy-daily-budget (flag): must be at least 0"),
        ({"log_format": "xml"}, {}, "--log-format (flag): must be one of auto, text, json"),
        ({"sources": ["users=soap"]}, {}, "--sources (flag) for users: must be one of auto, graphql, rest"),
        ({}, {"ZOOM_ETL_RAW_LANDING": "maybe"}, "ZOOM_ETL_RAW_LANDING (environment): must be true or false"),
        ({"frobnicate": 1}, {}, "unknown setting flag(s): frobnicate"),
    ],
)
def test_invalid_values_give_one_line_naming_setting_and_origin(
    flags: dict[str, object], env: dict[str, str], start: str
) -> None:
    message = error_of(flags, {**ENV, **env}, None)
    assert message.startswith(start)
    assert SECRET not in message


def test_missing_credentials(tmp_path: Path) -> None:
    message = error_of({}, {"ZOOM_ACCOUNT_ID": "a", "ZOOM_CLIENT_ID": "c"}, None)
    assert message.startswith(
        "ZOOM_CLIENT_SECRET (environment) or client_secret in the config file: required"
    )
    assert error_of({}, {}, None).startswith("no Zoom account configured")
    assert load_settings({}, {}, None, require_accounts=False).accounts == ()


def test_secret_flag_is_refused() -> None:
    message = error_of({"client_secret": "flag-secret"}, ENV, None)
    assert "flag-secret" not in message and "ZOOM_CLIENT_SECRET" in message


def test_secret_never_in_repr_or_str() -> None:
    settings = load_settings({}, ENV, None)
    assert SECRET not in repr(settings) and SECRET not in str(settings.accounts[0])
    assert repr(Secret("x")) == str(Secret("x")) == "***"
    assert f"{settings.accounts[0].client_secret}" == "***"


def test_bad_file_errors(tmp_path: Path) -> None:
    assert error_of({}, ENV, tmp_path / "missing.toml").startswith("config file ")
    broken = write(tmp_path, "plan = ")
    assert "invalid TOML" in error_of({}, ENV, broken)
    unknown = write(tmp_path, "colour = 'blue'\n")
    assert error_of({}, ENV, unknown) == f"{unknown}: unknown key(s): colour"
    secret_typo = write(
        tmp_path, f'[[accounts]]\naccount_id = "a"\nclient_id = "c"\nclient_secrt = "{SECRET}"\n'
    )
    message = error_of({}, {}, secret_typo)
    assert "client_secrt" in message and SECRET not in message


def test_streams_sources_and_timeouts(tmp_path: Path) -> None:
    path = write(tmp_path, "source = 'graphql'\n[timeouts]\nread = 5\n[streams.users]\nsource = 'rest'\n")
    settings = load_settings({"streams": "users, meetings", "sources": {"meetings": "rest"}}, ENV, path)
    assert settings.streams == ("users", "meetings")
    assert settings.default_source == "graphql"
    assert settings.source_for("users") == "rest" and settings.source_for("meetings") == "rest"
    assert settings.timeouts.read == 5 and settings.timeouts.connect == 10
    assert load_settings({"timeout": 3}, ENV, path).timeouts.read == 3


def test_default_file_in_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "lookback_days = 9\n")
    settings = load_settings({}, ENV, None)
    assert settings.lookback_days == 9 and settings.config_path == Path("zoom-etl.toml")


FILE_SECRET = "file-Secret-abc"
ACCOUNT_FILE = f'[[accounts]]\naccount_id = "a1"\nclient_id = "c1"\nclient_secret = "{FILE_SECRET}"\n'


@pytest.mark.parametrize(
    ("mode", "text", "warned"),
    [
        (0o644, ACCOUNT_FILE, True),  # the usual umask: every user of the machine reads the secret
        (0o604, ACCOUNT_FILE, True),
        (0o600, ACCOUNT_FILE, False),
        (0o640, ACCOUNT_FILE, False),  # the owner's group only: a choice, not an accident
        (0o644, 'plan = "business"\n', False),  # no secret in it
    ],
)
def test_a_world_readable_config_holding_a_secret_is_warned_about(
    tmp_path: Path, mode: int, text: str, warned: bool
) -> None:
    path = write(tmp_path, text)
    path.chmod(mode)
    settings = load_settings({}, {}, path, require_accounts=False)
    if not warned:
        assert settings.warnings == ()
        return
    [warning] = settings.warnings
    assert str(path) in warning and f"chmod 600 {path}" in warning and "\n" not in warning
    assert FILE_SECRET not in warning


def test_accounts_may_have_their_own_warehouse_unless_flag_or_environment_names_one(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'warehouse = "shared.duckdb"\nmax_concurrent_accounts = 3\n'
        '[[accounts]]\naccount_id = "a"\nclient_id = "c"\nclient_secret = "s"\nwarehouse = "~/a.duckdb"\n'
        '[[accounts]]\naccount_id = "b"\nclient_id = "c"\nclient_secret = "s"\n',
    )
    settings = load_settings({}, {}, path)
    a, b = settings.accounts
    assert (a.warehouse, b.warehouse) == (Path("~/a.duckdb").expanduser(), None)
    assert [settings.warehouse_for(x) for x in (a, b)] == [a.warehouse, Path("shared.duckdb")]
    assert settings.max_concurrent_accounts == 3
    for flags, environ in (({"warehouse": "x.duckdb"}, {}), ({}, {"ZOOM_ETL_WAREHOUSE": "x.duckdb"})):
        chosen = load_settings(flags, environ, path)
        assert [chosen.warehouse_for(x) for x in chosen.accounts] == [Path("x.duckdb")] * 2
    assert load_settings({}, {"ZOOM_ETL_MAX_CONCURRENT_ACCOUNTS": "1"}, path).max_concurrent_accounts == 1
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    assert load_settings({}, {**ENV}, empty).max_concurrent_accounts == 8


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'max_concurrent_accounts = 0\n[[accounts]]\naccount_id = "a"\nclient_id = "c"\n'
            'client_secret = "s"\n',
            "max_concurrent_accounts in {path}: must be between 1 and 1024, got 0",
        ),
        (
            '[[accounts]]\naccount_id = "a"\nclient_id = "c"\nclient_secret = "s"\nwarehouse = 5\n',
            "warehouse of [[accounts]] #1 in {path}: must be a file path",
        ),
    ],
)
def test_bad_account_settings_are_one_line_naming_where(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    assert error_of({}, {}, path).startswith(expected.format(path=path))
