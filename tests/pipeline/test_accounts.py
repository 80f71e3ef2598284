"""Many accounts in one sync: one simulator per account (each with its own credentials and its own rate
limits, as Zoom's are per account), listed as ``[[accounts]]`` in a config file as a user would.

Every account's rows must equal a sync of that account alone, whether the accounts share a warehouse or
each has its own; the accounts must run at once (their time spans overlap) unless bounded to one; an
account that fails is recorded and the others complete, with the exit code of the README's table."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from simenv import RATE_SCALE

from etl.alerts import check
from etl.cli import cli
from etl.config import Settings, load_settings
from etl.errors import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL
from etl.pipeline import SyncResult, sync
from etl.simulator.server import RunningSimulator
from etl.streams import STREAMS
from etl.warehouse.reader import open_read_only

ALL_TABLES = sorted({table for stream in STREAMS for table in stream.tables} | {"users_history"})
BOOKKEEPING = ("_run_id", "_synced_at", "valid_from", "valid_to")  # when, not what
Sims = Callable[[int], list[RunningSimulator]]


@pytest.fixture
def simulators(simulator_factory: Callable[..., RunningSimulator]) -> Sims:
    """``n`` tiny accounts, each its own simulator with its own seed (so its own account id) and its own
    client id and secret."""

    def make(n: int) -> list[RunningSimulator]:
        return [
            simulator_factory(seed=100 + i, client_id=f"client-{i}", client_secret=f"secret-{i}")
            for i in range(n)
        ]

    return make


def write_config(
    path: Path,
    sims: Sequence[RunningSimulator],
    *,
    warehouse: Path,
    own: Sequence[Path] | None = None,
    wrong_secret: Sequence[int] = (),
    top: str = "",
) -> Path:
    """A config file listing ``sims`` as ``[[accounts]]``; ``own``: each account's own warehouse;
    ``wrong_secret``: the accounts whose secret is not the one their simulator expects."""
    lines = [f'warehouse = "{warehouse}"', f"rate_scale = {RATE_SCALE}", top]
    for i, sim in enumerate(sims):
        creds = sim.credentials
        secret = "not-the-secret" if i in wrong_secret else creds["client_secret"]
        lines += [
            "[[accounts]]",
            f'account_id = "{creds["account_id"]}"',
            f'client_id = "{creds["client_id"]}"',
            f'client_secret = "{secret}"',
            f'api_url = "{sim.base_url}"',
            f'oauth_url = "{sim.oauth_url}"',
            f'plan = "{sim.config.plan}"',
        ]
        if own is not None:
            lines.append(f'warehouse = "{own[i]}"')
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def settings_of(config: Path, **flags: object) -> Settings:
    return load_settings(flags, {}, config)  # no environment: the file alone, as cron's would be


def rows_of(path: Path, table: str, account_id: str) -> set[tuple[object, ...]]:
    """One account's rows of a table, without the columns that say which run wrote them."""
    with open_read_only(path) as conn:
        columns = [
            c
            for (c,) in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'zoom'"
                " AND table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
            if c not in BOOKKEEPING
        ]
        quoted = ", ".join(f'"{c}"' for c in columns)
        sql = f"SELECT {quoted} FROM zoom.{table} WHERE account_id = ?"
        return set(conn.execute(sql, [account_id]).fetchall())


def alone(sim: RunningSimulator, tmp_path: Path) -> Path:
    """The warehouse of a sync of ``sim``'s account by itself."""
    account_id = sim.credentials["account_id"]
    warehouse = tmp_path / f"alone-{account_id}.duckdb"
    config = write_config(tmp_path / f"alone-{account_id}.toml", [sim], warehouse=warehouse)
    result = sync(settings_of(config))
    assert result.exit_code == EXIT_OK, result.error
    return warehouse


def assert_same_rows(warehouse: Path, sim: RunningSimulator, tmp_path: Path) -> None:
    account_id = sim.credentials["account_id"]
    reference = alone(sim, tmp_path)
    for table in ALL_TABLES:
        expected = rows_of(reference, table, account_id)
        assert rows_of(warehouse, table, account_id) == expected, table
        if table in ("users", "meeting_instances", "meeting_participants"):
            assert expected, table


def spans(result: SyncResult) -> list[tuple[datetime, datetime]]:
    return [
        (datetime.fromisoformat(a["started_at"]), datetime.fromisoformat(a["ended_at"]))
        for a in result.accounts
    ]


def served(sim: RunningSimulator) -> int:
    """API requests ``sim`` answered (token requests aside)."""
    by_endpoint: dict[str, int] = sim.stats()["by_endpoint"]
    return sum(n for endpoint, n in by_endpoint.items() if "oauth" not in endpoint)


def runs_row(path: Path, run_id: str) -> dict[str, object]:
    with open_read_only(path) as conn:
        row = conn.execute(
            "SELECT status, exit_code, errors, message, accounts FROM _etl.runs WHERE run_id = ?", [run_id]
        ).fetchone()
    assert row is not None
    status, exit_code, errors, message, accounts = row
    return {
        "status": status,
        "exit_code": exit_code,
        "errors": errors,
        "message": message,
        "accounts": {a["account_id"]: a for a in orjson.loads(accounts)},
    }


def test_accounts_sync_at_once_into_one_warehouse_each_as_if_alone(simulators: Sims, tmp_path: Path) -> None:
    sims = simulators(3)
    shared = tmp_path / "shared.duckdb"
    result = sync(settings_of(write_config(tmp_path / "zoom-etl.toml", sims, warehouse=shared)))
    assert (result.status, result.exit_code) == ("ok", EXIT_OK), result.error
    ids = [s.credentials["account_id"] for s in sims]
    assert [a["account_id"] for a in result.accounts] == ids
    assert {a["status"] for a in result.accounts} == {"ok"}
    assert {a["warehouse"] for a in result.accounts} == {str(shared.resolve())}
    # At once: every account started before any of them ended.
    assert max(start for start, _ in spans(result)) < min(end for _, end in spans(result))
    # Each account had its own client: its simulator saw its own requests, summed in the run's.
    sent = [served(s) for s in sims]
    assert [a["requests"] for a in result.accounts] == sent
    assert sum(result.requests_by_category.values()) == sum(sent)
    # One run, recorded once, with each account's outcome.
    row = runs_row(shared, result.run_id)
    assert (row["status"], row["exit_code"], row["errors"]) == ("ok", EXIT_OK, 0)
    assert set(row["accounts"]) == set(ids)  # type: ignore[arg-type]
    for sim in sims:
        assert_same_rows(shared, sim, tmp_path)


def test_accounts_with_their_own_warehouses_load_each_into_its_own(simulators: Sims, tmp_path: Path) -> None:
    sims = simulators(3)
    shared = tmp_path / "shared.duckdb"
    own = [tmp_path / "by-account" / f"{s.credentials['account_id']}.duckdb" for s in sims]
    config = write_config(tmp_path / "zoom-etl.toml", sims, warehouse=shared, own=own)
    result = sync(settings_of(config))
    assert (result.status, result.exit_code) == ("ok", EXIT_OK), result.error
    assert not shared.exists()  # no account uses it
    assert [a["warehouse"] for a in result.accounts] == [str(p.resolve()) for p in own]
    assert result.read_copy is None and all(a["read_copy"]["path"] for a in result.accounts)
    assert max(start for start, _ in spans(result)) < min(end for _, end in spans(result))
    for sim, warehouse in zip(sims, own, strict=True):
        account_id = sim.credentials["account_id"]
        with open_read_only(warehouse) as conn:
            others = conn.execute("SELECT count(*) FROM zoom.users WHERE account_id <> ?", [account_id])
            assert others.fetchone() == (0,)
        row = runs_row(warehouse, result.run_id)  # one run id in every warehouse of the run
        assert (row["status"], list(row["accounts"])) == ("ok", [account_id])  # type: ignore[call-overload]
        assert_same_rows(warehouse, sim, tmp_path)
    # A warehouse flag puts every account into it, their own ones notwithstanding.
    flagged = tmp_path / "flagged.duckdb"
    assert {a.warehouse for a in settings_of(config, warehouse=flagged).accounts} == {None}


def test_a_bound_of_one_syncs_the_accounts_one_after_another(simulators: Sims, tmp_path: Path) -> None:
    sims = simulators(2)
    config = write_config(
        tmp_path / "zoom-etl.toml", sims, warehouse=tmp_path / "w.duckdb", top="max_concurrent_accounts = 1"
    )
    settings = settings_of(config)
    assert settings.max_concurrent_accounts == 1
    result = sync(settings)
    assert result.exit_code == EXIT_OK, result.error
    (_, first_end), (second_start, _) = spans(result)
    assert first_end <= second_start


def test_an_account_with_bad_credentials_is_recorded_and_the_others_complete(
    simulators: Sims, tmp_path: Path
) -> None:
    sims = simulators(3)
    shared = tmp_path / "shared.duckdb"
    # The failing account comes first: one failure must not stop the ones after it.
    config = write_config(tmp_path / "zoom-etl.toml", sims, warehouse=shared, wrong_secret=[0])
    result = sync(settings_of(config))
    bad = sims[0].credentials["account_id"]
    assert (result.status, result.exit_code) == ("partial", EXIT_PARTIAL)
    assert result.error.startswith(f"1 of 3 accounts failed: {bad}: ")
    assert "not-the-secret" not in result.error
    statuses = {a["account_id"]: (a["status"], a["exit_code"]) for a in result.accounts}
    assert statuses[bad] == ("failed", EXIT_FAILED)
    assert [statuses[s.credentials["account_id"]] for s in sims[1:]] == [("ok", EXIT_OK)] * 2
    row = runs_row(shared, result.run_id)
    assert (row["status"], row["exit_code"], row["errors"]) == ("partial", EXIT_PARTIAL, 1)
    assert row["message"] == result.error
    assert row["accounts"][bad]["status"] == "failed"  # type: ignore[index]
    with open_read_only(shared) as conn:
        assert conn.execute("SELECT count(*) FROM zoom.users WHERE account_id = ?", [bad]).fetchone() == (0,)
    for sim in sims[1:]:
        assert_same_rows(shared, sim, tmp_path)
    # The alert names the account (the run itself is only partial).
    problems = [p.message for p in check(shared, max_age_seconds=10**9)]
    assert any(m.startswith(f"failed: account {bad} in the last run {result.run_id}: ") for m in problems)


def test_an_account_whose_zoom_fails_mid_sync_is_recorded_and_the_others_complete(
    simulators: Sims, tmp_path: Path
) -> None:
    sims = simulators(2)
    sims[1].set_faults(error_rate=1.0)  # every request a 500, past the retries
    own = [tmp_path / "a.duckdb", tmp_path / "b.duckdb"]
    config = write_config(
        tmp_path / "zoom-etl.toml",
        sims,
        warehouse=tmp_path / "shared.duckdb",
        own=own,
        top="retry_attempts = 1",
    )
    result = sync(settings_of(config))
    assert (result.status, result.exit_code) == ("partial", EXIT_PARTIAL)
    assert [a["status"] for a in result.accounts] == ["ok", "failed"]
    assert runs_row(own[0], result.run_id)["status"] == "ok"
    failed = runs_row(own[1], result.run_id)
    assert (failed["status"], failed["exit_code"], failed["errors"]) == ("failed", EXIT_FAILED, 1)
    sims[1].set_faults(error_rate=0.0)
    assert_same_rows(own[0], sims[0], tmp_path)


def test_every_account_failing_fails_the_run(simulators: Sims, tmp_path: Path) -> None:
    sims = simulators(2)
    shared = tmp_path / "shared.duckdb"
    config = write_config(tmp_path / "zoom-etl.toml", sims, warehouse=shared, wrong_secret=[0, 1])
    result = sync(settings_of(config))
    assert (result.status, result.exit_code) == ("failed", EXIT_FAILED)
    assert result.error.startswith("2 of 2 accounts failed: ")
    assert runs_row(shared, result.run_id)["status"] == "failed"


@pytest.fixture
def _quiet_logging() -> Iterator[None]:
    logger = logging.getLogger("etl")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate


@pytest.mark.usefixtures("_quiet_logging")
def test_the_command_exits_partial_with_one_json_line_naming_each_account(
    simulators: Sims, tmp_path: Path
) -> None:
    sims = simulators(2)
    config = write_config(
        tmp_path / "zoom-etl.toml", sims, warehouse=tmp_path / "shared.duckdb", wrong_secret=[1]
    )
    clean = {
        name: None
        for name in ("ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET", "ZOOM_ETL_WAREHOUSE")
    }
    out = CliRunner().invoke(
        cli,
        ["sync", "--config", str(config), "--max-concurrent-accounts", "2"],
        env={**clean, "ZOOM_ETL_CONFIG": None},
    )
    assert out.exit_code == EXIT_PARTIAL, out.output
    (line,) = out.stdout.splitlines()
    record = orjson.loads(line)
    assert (record["status"], record["exit_code"]) == ("partial", EXIT_PARTIAL)
    good, bad = (s.credentials["account_id"] for s in sims)
    assert [(a["account_id"], a["status"]) for a in record["accounts"]] == [(good, "ok"), (bad, "failed")]
    # The last progress event sums the accounts and names the one that failed.
    events = [orjson.loads(line) for line in out.stderr.splitlines() if '"event":"progress"' in line]
    last = events[-1]
    assert (last["accounts_done"], last["accounts_total"], last["accounts_failed"]) == (2, 2, [bad])
    assert last["rows"] == sum(record["rows"].values()) > 0
    assert last["requests"] == sum(record["requests_by_category"].values())
