"""The simulator's webhooks: Zoom's payload shapes and signature, its retry schedule, and misbehaviour on
request. The endpoint here is a plain recording HTTP server (it stands for the user's receiver), or the
real receiver where what it stores matters."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson
import pytest

from etl.config.model import Secret
from etl.simulator.server import RunningSimulator
from etl.webhooks.receiver import Receiver, ReceiverOptions
from etl.webhooks.serve import RunningReceiver
from etl.webhooks.signature import signature_matches
from etl.webhooks.spool import Spool

SECRET = "sim-webhook-secret"
SCALE = 1 / 3000  # Zoom's 5, 20, 60 minutes become 0.1, 0.4, 1.2 seconds


class Endpoint:
    """Records every delivery (time, headers, body) and answers ``statuses`` in turn (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.deliveries: list[tuple[float, dict[str, str], bytes]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.deliveries.append((time.monotonic(), dict(self.headers.items()), body))
                status = endpoint.statuses.pop(0) if endpoint.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    made = Endpoint()
    yield made
    made.close()


def test_events_have_zoom_s_shapes_and_a_valid_signature(
    simulator: RunningSimulator, endpoint: Endpoint
) -> None:
    sender = simulator.send_webhooks(endpoint.url, SECRET)
    before = simulator.clock.now()
    simulator.advance(days=3)
    assert sender.wait_idle(30)
    bodies = [orjson.loads(body) for _, _, body in endpoint.deliveries]
    names = {b["event"] for b in bodies}
    assert {"meeting.ended", "user.signed_in"} <= names
    for (_, headers, raw), body in zip(endpoint.deliveries, bodies, strict=True):
        lowered = {k.lower(): v for k, v in headers.items()}
        assert abs(int(lowered["x-zm-request-timestamp"]) - time.time()) < 60  # the delivery's wall clock
        assert signature_matches(SECRET, lowered["x-zm-request-timestamp"], raw, lowered["x-zm-signature"])
        assert before.timestamp() * 1000 < body["event_ts"] <= simulator.clock.now().timestamp() * 1000
        assert body["payload"]["account_id"] == simulator.account.account_id
    ended = [b for b in bodies if b["event"] == "meeting.ended"]
    for body in ended:
        obj = body["payload"]["object"]
        instance = simulator.account.instance(obj["uuid"], simulator.clock.now())
        assert instance is not None and instance.host_id == obj["host_id"]
        assert body["event_ts"] == int(instance.end_time.timestamp() * 1000)
        assert {"id", "uuid", "host_id", "topic", "type", "start_time", "duration", "end_time"} <= set(obj)
    for body in (b for b in bodies if b["event"] == "recording.completed"):
        assert body["download_token"]  # beside payload, as Zoom sends it
        assert body["payload"]["object"]["recording_files"]
    stamps = [b["event_ts"] for b in bodies]
    assert stamps == sorted(stamps)  # in order unless told otherwise


def test_a_5xx_is_retried_on_zoom_s_schedule_then_dropped(simulator: RunningSimulator) -> None:
    endpoint = Endpoint([503] * 100)
    try:
        sender = simulator.send_webhooks(endpoint.url, SECRET, retry_scale=SCALE)
        simulator.advance(days=1)
        assert sender.wait_idle(30)
        events = sender.stats["events"]
        assert events > 0
        assert len(endpoint.deliveries) == 4 * events  # the first attempt and 3 retries, each
        assert sender.stats["dropped"] == events and len(sender.dropped) == events
        first = orjson.loads(endpoint.deliveries[0][2])
        times = [t for t, _, body in endpoint.deliveries if orjson.loads(body) == first]
        gaps = [b - a for a, b in pairwise(times)]
        for gap, minutes in zip(gaps, (5, 20, 60), strict=True):
            assert minutes * 60 * SCALE * 0.9 <= gap <= minutes * 60 * SCALE + 0.5
    finally:
        endpoint.close()


def test_a_4xx_is_not_retried_and_a_late_success_ends_the_retries(simulator: RunningSimulator) -> None:
    endpoint = Endpoint([401])
    try:
        sender = simulator.send_webhooks(endpoint.url, SECRET, retry_scale=SCALE)
        simulator.advance(days=1)
        assert sender.wait_idle(30)
        assert len(endpoint.deliveries) == sender.stats["events"]  # nothing sent twice
        assert sender.stats["retries"] == 0
        endpoint.statuses = [500, 502]
        simulator.advance(days=1)
        assert sender.wait_idle(30)
        assert sender.stats["retries"] == 2 and sender.stats["dropped"] == 0
    finally:
        endpoint.close()


def test_duplicates_forgeries_and_disorder_reach_the_receiver_and_are_stored_once(
    simulator: RunningSimulator, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool")
    app = Receiver(ReceiverOptions(Secret(SECRET)), spool)
    with RunningReceiver(app) as receiver:
        sender = simulator.send_webhooks(
            receiver.url, SECRET, duplicates=1.0, bad_signatures=1.0, out_of_order=True, seed=3
        )
        simulator.advance(days=2)
        assert sender.wait_idle(30)
    events = sender.stats["events"]
    assert events > 2
    assert sender.stats["status_forged"] == events and app.counts["401"] == events
    assert app.counts["200"] == 2 * events  # every event twice, a fresh signature each time
    entries = spool.entries()
    assert len(entries) == events
    received = [e.event_ts for e in sorted(entries, key=lambda e: e.received_at)]
    assert received != sorted(received)  # delivered out of order
