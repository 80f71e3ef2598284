"""The receiver over real HTTP (uvicorn on loopback) with real signed requests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from etl.config.model import Secret
from etl.webhooks.receiver import Receiver, ReceiverOptions
from etl.webhooks.serve import RunningReceiver
from etl.webhooks.signature import sign, url_validation
from etl.webhooks.spool import Spool

SECRET = "test-secret-token"
# Test vectors checked against `openssl dgst -sha256 -hmac` (copied here: tests never read shared notes).
VECTOR_BODY = (
    b'{"event":"meeting.started","event_ts":1739923527912,"payload":{"account_id":"AAAAAABBBB","object":'
    b'{"id":"1234567890","uuid":"4444AAAiAAAAAiAiAiiAii==","host_id":"x1yCzABCDEfg23HiJKl4mN","topic":'
    b'"My Meeting","type":8,"start_time":"2025-02-19T00:05:27Z","timezone":"America/Los_Angeles",'
    b'"duration":60}}}'
)
VECTOR_SIGNATURE = "v0=16cc8cef2d6b9e28809a5ed052cb1754564cf0f169b5599665af91bd45d1c5ff"
VECTOR_ENCRYPTED = "9c8ad56737c19db2904b301c0781e86857e999f39f07727668cf62a5e7e298c8"


def test_signature_and_challenge_match_the_known_vectors() -> None:
    assert sign(SECRET, "1739923528", VECTOR_BODY) == VECTOR_SIGNATURE
    answer = url_validation(SECRET, "qgg8vlvZRS6UYooatFL8Aw")
    assert answer == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": VECTOR_ENCRYPTED}


def ended(uuid: str = "abc/+==", ts: int = 1_700_000_000_000) -> bytes:
    body = {
        "event": "meeting.ended",
        "event_ts": ts,
        "payload": {
            "account_id": "acct",
            "object": {"id": 123, "uuid": uuid, "host_id": "h1", "end_time": "2023-11-14T22:13:20Z"},
        },
    }
    return orjson.dumps(body)


def signed(body: bytes, *, at: float | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = str(int(time.time() if at is None else at))
    return {
        "x-zm-request-timestamp": ts,
        "x-zm-signature": sign(secret, ts, body),
        "content-type": "application/json; charset=utf-8",
    }


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return Spool(tmp_path / "spool")


@pytest.fixture
def receiver(spool: Spool) -> Iterator[RunningReceiver]:
    app = Receiver(ReceiverOptions(Secret(SECRET), tolerance_seconds=300, max_body_bytes=4096), spool)
    with RunningReceiver(app) as running:
        yield running


def post(receiver: RunningReceiver, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(receiver.url, content=body, headers=headers, timeout=10)


def test_a_valid_event_is_on_disk_before_the_200(receiver: RunningReceiver, spool: Spool) -> None:
    body = ended()
    response = post(receiver, body, signed(body))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "stored"
    entries = spool.entries()
    assert [e.event for e in entries] == ["meeting.ended"]
    assert entries[0].body == orjson.loads(body)
    assert entries[0].id == response.json()["id"]
    assert not list((spool.directory / ".tmp").iterdir())  # nothing half-written left behind


def test_the_spool_write_is_finished_when_the_answer_leaves(spool: Spool, tmp_path: Path) -> None:
    """The answer waits for the write: a spool whose write blocks holds the 200 back."""
    import threading

    release = threading.Event()
    real_put = spool.put

    def slow_put(*args: object, **kwargs: object) -> tuple[str, bool]:
        release.wait(5)
        return real_put(*args, **kwargs)  # type: ignore[arg-type]

    spool.put = slow_put  # type: ignore[method-assign]
    app = Receiver(ReceiverOptions(Secret(SECRET)), spool)
    with RunningReceiver(app) as running:
        body = ended()
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(running.url, content=body, headers=signed(body), timeout=0.5)
        assert len(spool) == 0
        release.set()
        deadline = time.monotonic() + 5
        while len(spool) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(spool) == 1


def test_a_duplicate_delivery_is_stored_once(receiver: RunningReceiver, spool: Spool) -> None:
    body = ended()
    first = post(receiver, body, signed(body, at=time.time() - 1))
    second = post(receiver, body, signed(body))  # Zoom's retry: same event, a new signature
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["status"] == "duplicate"
    assert len(spool.entries()) == 1


def test_a_forged_signature_is_refused(receiver: RunningReceiver, spool: Spool) -> None:
    body = ended()
    forged = post(receiver, body, signed(body, secret="not-the-secret"))
    tampered = post(receiver, body + b" ", signed(body))
    assert (forged.status_code, tampered.status_code) == (401, 401)
    assert len(spool) == 0


def test_an_unsigned_request_is_refused(receiver: RunningReceiver, spool: Spool) -> None:
    body = ended()
    assert post(receiver, body, {"content-type": "application/json"}).status_code == 401
    headers = signed(body)
    del headers["x-zm-request-timestamp"]
    assert post(receiver, body, headers).status_code == 401
    assert len(spool) == 0


def test_a_stale_or_future_timestamp_is_refused(receiver: RunningReceiver, spool: Spool) -> None:
    body = ended()
    # 300 s of tolerance; margins of a minute, since a request on a loaded machine takes seconds to arrive
    # (a timestamp 301 s ahead is only 299 s ahead once it has taken 2 s).
    assert post(receiver, body, signed(body, at=time.time() - 360)).status_code == 401
    assert post(receiver, body, signed(body, at=time.time() + 360)).status_code == 401
    assert post(receiver, body, signed(body, at=time.time() - 240)).status_code == 200
    assert len(spool) == 1


def test_a_replayed_request_is_refused(receiver: RunningReceiver, spool: Spool) -> None:
    body = ended()
    headers = signed(body)
    assert post(receiver, body, headers).status_code == 200
    replay = post(receiver, body, headers)
    assert replay.status_code == 409
    assert len(spool) == 1


def test_an_oversized_body_is_refused(receiver: RunningReceiver, spool: Spool) -> None:
    body = orjson.dumps({"event": "meeting.ended", "event_ts": 1, "payload": {"pad": "x" * 5000}})
    assert post(receiver, body, signed(body)).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused as it streams
        for _ in range(10):
            yield b"x" * 1000

    streamed = httpx.post(receiver.url, content=chunks(), headers=signed(b"whatever"), timeout=10)
    assert streamed.status_code == 413
    assert len(spool) == 0


def test_bad_json_with_a_good_signature_is_a_400(receiver: RunningReceiver, spool: Spool) -> None:
    for body in (b"{not json", b"[1, 2]", b'{"payload": {}}'):
        assert post(receiver, body, signed(body)).status_code == 400, body
    assert len(spool) == 0


def test_the_url_validation_challenge_is_answered(receiver: RunningReceiver, spool: Spool) -> None:
    body = orjson.dumps(
        {
            "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
            "event_ts": 1654503849680,
            "event": "endpoint.url_validation",
        }
    )
    response = post(receiver, body, signed(body))
    assert response.status_code == 200
    assert response.json() == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": VECTOR_ENCRYPTED}
    assert post(receiver, body, signed(body, secret="wrong")).status_code == 401
    assert len(spool) == 0  # a challenge is no event


def test_other_paths_and_methods(receiver: RunningReceiver) -> None:
    base = receiver.url.rsplit("/webhooks/zoom", 1)[0]
    assert httpx.get(base + "/healthz").json()["status"] == "ok"
    assert httpx.get(receiver.url).status_code == 405
    assert httpx.post(base + "/elsewhere", content=b"{}").status_code == 404


def test_the_secret_never_reaches_the_log(
    receiver: RunningReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    body = ended()
    post(receiver, body, signed(body))
    post(receiver, body, signed(body, secret="forged"))
    assert caplog.records  # something was logged
    assert SECRET not in caplog.text


def test_behind_a_trusted_proxy_the_sender_s_address_is_logged(
    receiver: RunningReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="etl.webhooks")
    body = ended()
    headers = {**signed(body), "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https"}
    assert post(receiver, body, headers).status_code == 200
    assert "from 203.0.113.7" in caplog.text
