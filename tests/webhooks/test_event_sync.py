"""``sync --events`` against the simulator: events from its webhooks, targeted fetches, zoom.events, the
spool consumed only after commit, the periodic full sync, and the warehouse lock never in the way."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from simenv import RATE_SCALE, sim_environ

from etl.config import Settings, load_settings
from etl.config.model import Secret
from etl.contracts import load_contracts
from etl.errors import LockedError
from etl.pipeline import SyncOptions, sync
from etl.simulator.server import RunningSimulator
from etl.warehouse.connection import Warehouse
from etl.webhooks.receiver import Receiver, ReceiverOptions
from etl.webhooks.serve import RunningReceiver
from etl.webhooks.spool import Spool

SECRET = "event-sync-secret"
BOOKKEEPING = {"_run_id", "_synced_at", "valid_from", "valid_to", "is_current", "_row_hash"}
TARGETED = SyncOptions(events="targeted")
INGEST = SyncOptions(events="ingest")


def settings(sim: RunningSimulator, warehouse: Path, spool: Path, **extra: str) -> Settings:
    environ = sim_environ(sim, warehouse, ZOOM_ETL_WEBHOOK_SPOOL=str(spool), **extra)
    return load_settings({}, environ, None)


@pytest.fixture
def receiving(tmp_path: Path) -> Iterator[tuple[RunningReceiver, Spool]]:
    spool = Spool(tmp_path / "spool")
    with RunningReceiver(Receiver(ReceiverOptions(Secret(SECRET)), spool)) as running:
        yield running, spool


def differences(left: Path, right: Path) -> dict[str, tuple[int, int]]:
    """Per product table, rows only ``left`` has and rows only ``right`` has (contract columns)."""
    found = {}
    with duckdb.connect(str(left), read_only=True) as conn:
        conn.execute(f"ATTACH '{right}' AS r (READ_ONLY)")
        for name, contract in load_contracts().items():
            if name == "events":
                continue
            cols = ", ".join(f'"{c.name}"' for c in contract.columns if c.name not in BOOKKEEPING)
            a, b = f"SELECT {cols} FROM zoom.{name}", f"SELECT {cols} FROM r.zoom.{name}"
            only_a = conn.execute(f"SELECT count(*) FROM ({a} EXCEPT ALL {b})").fetchone()
            only_b = conn.execute(f"SELECT count(*) FROM ({b} EXCEPT ALL {a})").fetchone()
            if only_a and only_b and (only_a[0] or only_b[0]):
                found[name] = (only_a[0], only_b[0])
    return found


def rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.slow
def test_a_day_synced_by_events_ends_identical_to_polling(
    simulator: RunningSimulator, receiving: tuple[RunningReceiver, Spool], tmp_path: Path
) -> None:
    receiver, spool = receiving
    polling = settings(simulator, tmp_path / "poll.duckdb", tmp_path / "unused-spool")
    events = settings(simulator, tmp_path / "events.duckdb", spool.directory, ZOOM_ETL_RECONCILE_EVERY="7d")
    assert sync(polling).exit_code == 0
    assert sync(events, INGEST).events == {"mode": "full", "spooled": 0}
    sender = simulator.send_webhooks(receiver.url, SECRET, duplicates=0.3, out_of_order=True)
    simulator.advance(days=2)  # warm-up (reports come up to 36 h late): what ended before is polled
    assert sender.wait_idle(30)
    assert sync(polling).exit_code == 0
    assert sync(events, INGEST).exit_code == 0
    poll_requests = event_requests = 0
    for _ in range(4):
        simulator.advance(seconds=6 * 3600)
        assert sender.wait_idle(30)
        result = sync(events, TARGETED)
        assert result.exit_code == 0 and result.events and result.events["mode"] == "targeted"
        event_requests += sum(result.requests_by_category.values())
        polled = sync(polling)
        poll_requests += sum(polled.requests_by_category.values())
    assert differences(polling.warehouse, events.warehouse) == {}
    assert sender.stats["events"] > 0 and sender.stats["dropped"] == 0
    assert event_requests < poll_requests / 3
    stored = rows(events.warehouse, "SELECT event, status FROM zoom.events")
    assert len(stored) == sender.stats["events"]  # both days' events, duplicates stored once
    assert sender.stats["delivered"] > sender.stats["events"]  # duplicates were sent
    assert {status for _, status in stored} <= {"applied", "polled", "recorded", "pending"}
    still = len(spool)
    assert still == sum(status == "pending" for _, status in stored)


def test_an_event_waits_for_zoom_s_report_and_leaves_the_spool_once_applied(
    simulator: RunningSimulator, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool")
    cfg = settings(simulator, tmp_path / "w.duckdb", spool.directory, ZOOM_ETL_RECONCILE_EVERY="7d")
    assert sync(cfg, INGEST).exit_code == 0
    now = simulator.clock.now()
    late = next(
        i
        for i in simulator.account.instances_in_window(now - timedelta(days=2), now, now, reported_only=False)
        if i.report_ready_at > now and i.participants_count >= 2
    )
    body = {
        "event": "meeting.ended",
        "event_ts": int(late.end_time.timestamp() * 1000),
        "payload": {
            "account_id": simulator.account.account_id,
            "object": {
                "id": str(late.id),
                "uuid": late.uuid,
                "host_id": late.host_id,
                "type": late.type,
                "start_time": late.start_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end_time": late.end_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        },
    }
    spool.put(body, received_at=now)
    first = sync(cfg, TARGETED)
    assert first.events == {"mode": "targeted", "pending": 1, "spooled": 1}
    assert rows(cfg.warehouse, "SELECT status, attempts FROM zoom.events") == [("pending", 1)]
    simulator.advance(seconds=(late.report_ready_at - now).total_seconds() + 60)
    second = sync(cfg, TARGETED)
    assert second.events == {"mode": "targeted", "applied": 1, "spooled": 0}
    assert rows(cfg.warehouse, "SELECT status, attempts FROM zoom.events") == [("applied", 2)]
    loaded = rows(
        cfg.warehouse, f"SELECT count(*) FROM zoom.meeting_participants WHERE meeting_uuid = '{late.uuid}'"
    )
    assert loaded[0][0] == len(simulator.account.participants(late, simulator.clock.now())) > 0
    # Zoom delivers it again later: the spool takes it, the next sync drops it without fetching anything
    spool.put(body, received_at=simulator.clock.now())
    simulator.reset_stats()
    third = sync(cfg, TARGETED)
    assert third.events == {"mode": "targeted", "already_done": 1, "spooled": 0}
    assert "/report/meetings/{meetingId}/participants" not in simulator.stats()["by_endpoint"]


def test_a_full_sync_runs_when_reconcile_every_is_due(simulator: RunningSimulator, tmp_path: Path) -> None:
    cfg = settings(simulator, tmp_path / "w.duckdb", tmp_path / "spool", ZOOM_ETL_RECONCILE_EVERY="2h")
    assert sync(cfg, TARGETED).events == {"mode": "full", "spooled": 0}  # never a full sync before
    simulator.advance(seconds=3600)
    assert sync(cfg, TARGETED).events == {"mode": "targeted", "spooled": 0}
    simulator.advance(seconds=2 * 3600)
    assert sync(cfg, TARGETED).events == {"mode": "full", "spooled": 0}


def test_events_arrive_and_are_stored_while_a_sync_holds_the_warehouse(
    simulator: RunningSimulator, receiving: tuple[RunningReceiver, Spool], tmp_path: Path
) -> None:
    receiver, spool = receiving
    cfg = settings(simulator, tmp_path / "w.duckdb", spool.directory)
    sender = simulator.send_webhooks(receiver.url, SECRET)
    simulator.pause()  # the sync below opens the warehouse, then waits on its first request
    outcome: list[int] = []
    worker = threading.Thread(target=lambda: outcome.append(sync(cfg, INGEST).exit_code))
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not (tmp_path / "w.duckdb").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        with pytest.raises(LockedError):
            Warehouse.open(cfg.warehouse).close()  # the sync holds the writer lock
        simulator.advance(days=1)
        assert sender.wait_idle(30)
        assert sender.stats["delivered"] == sender.stats["events"] > 0
        assert len(spool) > 0 and worker.is_alive()
    finally:
        simulator.resume()
        worker.join(60)
    assert outcome == [0]


def test_sync_events_refuses_a_partial_selection(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from etl.cli import cli

    result = CliRunner().invoke(
        cli,
        ["sync", "--events", "--streams", "users"],
        env={
            "ZOOM_ACCOUNT_ID": "a",
            "ZOOM_CLIENT_ID": "b",
            "ZOOM_CLIENT_SECRET": "c",
            "ZOOM_ETL_WAREHOUSE": str(tmp_path / "w.duckdb"),
        },
    )
    assert result.exit_code == 2
    assert "--events: not with --streams" in result.output


def accounts_config(path: Path, sims: list[RunningSimulator], warehouse: Path, spool: Path) -> Settings:
    """Settings from a config file listing ``sims`` as ``[[accounts]]`` into one warehouse, one spool."""
    lines = [
        f'warehouse = "{warehouse}"',
        f"rate_scale = {RATE_SCALE}",
        "[webhooks]",
        f'spool = "{spool}"',
        'reconcile_every = "7d"',
    ]
    for sim in sims:
        creds = sim.credentials
        lines += [
            "[[accounts]]",
            f'account_id = "{creds["account_id"]}"',
            f'client_id = "{creds["client_id"]}"',
            f'client_secret = "{creds["client_secret"]}"',
            f'api_url = "{sim.base_url}"',
            f'oauth_url = "{sim.oauth_url}"',
            f'plan = "{sim.config.plan}"',
        ]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return load_settings({}, {}, path)


@pytest.mark.slow
def test_accounts_synced_at_once_by_their_events_end_identical_to_polling(
    simulator_factory: Callable[..., RunningSimulator],
    receiving: tuple[RunningReceiver, Spool],
    tmp_path: Path,
) -> None:
    """Two accounts run on their own threads into one warehouse, sharing the spool: each account's events
    are targeted, recorded and consumed as its own, and the tables end as a polling sync leaves them."""
    receiver, spool = receiving
    sims = [
        simulator_factory(seed=100 + i, client_id=f"client-{i}", client_secret=f"secret-{i}") for i in (0, 1)
    ]
    polling = accounts_config(tmp_path / "poll.toml", sims, tmp_path / "poll.duckdb", tmp_path / "unused")
    events = accounts_config(tmp_path / "events.toml", sims, tmp_path / "events.duckdb", spool.directory)
    assert sync(polling).exit_code == 0
    assert sync(events, INGEST).events == {"mode": "full", "spooled": 0}
    senders = [sim.send_webhooks(receiver.url, SECRET, duplicates=0.2) for sim in sims]
    for sim, sender in zip(sims, senders, strict=True):
        sim.advance(days=2)
        assert sender.wait_idle(30)
    assert sync(polling).exit_code == 0
    assert sync(events, INGEST).exit_code == 0
    for _ in range(2):
        for sim, sender in zip(sims, senders, strict=True):
            sim.advance(seconds=6 * 3600)
            assert sender.wait_idle(30)
        result = sync(events, TARGETED)
        assert result.exit_code == 0 and result.events and result.events["mode"] == "targeted"
        assert [a["status"] for a in result.accounts] == ["ok", "ok"]
        assert sync(polling).exit_code == 0
    assert differences(polling.warehouse, events.warehouse) == {}
    stored = dict(rows(events.warehouse, "SELECT account_id, count(*) FROM zoom.events GROUP BY 1"))
    pairs = zip(sims, senders, strict=True)
    expected = {sim.credentials["account_id"]: sender.stats["events"] for sim, sender in pairs}
    assert stored == expected and all(expected.values())
    pending = rows(events.warehouse, "SELECT count(*) FROM zoom.events WHERE status = 'pending'")
    assert len(spool) == pending[0][0]
