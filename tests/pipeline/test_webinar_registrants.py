"""Webinar registrants, the stream added through the registry alone (one entry in ``etl.streams`` and its
contract ``schemas/tables/webinar_registrants.toml``): every registrant of every listed webinar lands,
of every registration status, keyed by webinar and registrant, and the run needs nothing else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from etl.config import Settings
from etl.pipeline import SyncOptions, sync
from etl.simulator.server import RunningSimulator
from etl.streams import BY_NAME, children_of
from etl.warehouse.reader import open_read_only


def expected(sim: RunningSimulator) -> set[tuple[int, str, str, str]]:
    """(webinar id, registrant id, email, status) of every webinar the account's hosts list, deduplicated
    across the webinar's instances as Zoom's listing does."""
    account, now = sim.account, sim.clock.now()
    found: set[tuple[int, str, str, str]] = set()
    for member in account.members:
        for webinar in account.webinars(member.user.id, now):
            for instance in account.webinar_instances_of(webinar.id, now):
                for r in account.webinar_registrants(instance, now):
                    found.add((webinar.id, r.id, r.email, r.status))
    return found


def test_registrants_are_a_child_of_webinars_listed_for_every_status() -> None:
    stream = BY_NAME["webinar_registrants"]
    assert stream in children_of("webinars") and stream.rest[0].path == "/webinars/{webinarId}/registrants"
    assert {dict(p)["status"] for p in stream.fanout} == {"approved", "pending", "denied"}


def test_every_registrant_of_every_listed_webinar_lands(
    simulator_factory: Callable[..., RunningSimulator], settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    sim = simulator_factory(profile="demo")
    want = expected(sim)
    assert len({status for *_, status in want}) > 1  # the account has more than approved registrants
    settings = settings_for(sim)
    result = sync(settings, SyncOptions(streams=("webinar_registrants",)))
    assert result.exit_code == 0, result.error
    with open_read_only(settings.warehouse) as conn:
        rows = set(
            conn.execute("SELECT webinar_id, id, email, status FROM zoom.webinar_registrants").fetchall()
        )
        columns = {r[0] for r in conn.execute("DESCRIBE zoom.webinar_registrants").fetchall()}
        state = conn.execute(
            "SELECT count(*) FROM _etl.state WHERE stream = 'webinar_registrants'"
        ).fetchone()
    assert rows == want
    assert "join_url" not in columns  # a personal link that lets anyone join as the registrant
    assert state is not None and state[0] == 1  # checkpointed like any stream
    # One listing per webinar and status, nothing else of the webinar family.
    calls = sim.stats()["by_endpoint"]
    now = sim.clock.now()
    webinars = {w.id for m in sim.account.members for w in sim.account.webinars(m.user.id, now)}
    assert calls["/v2/webinars/{webinarId}/registrants"] == 3 * len(webinars)
    assert "/v2/past_webinars/{webinarId}/instances" not in calls
