"""The simulator sends Zoom's webhooks: when its clock advances, what happened in between is POSTed, signed,
to a configured URL, with Zoom's payload shapes and Zoom's retry schedule.

Events (each at the simulated instant it happened; ``event_ts`` in milliseconds):
    meeting.ended, webinar.ended      an instance's end (``end_time``)
    recording.completed               when the recording becomes listed (``recording_ready_at``)
    meeting.created / .updated / .deleted, webinar.created   a definition's creation, edits, deletion
    user.created / .updated / .deactivated / .signed_in      a user's creation, edits, sign-ins

Delivery follows Zoom's documented behaviour: a POST with ``x-zm-request-timestamp`` (the *delivery's* wall
clock time, Unix seconds) and ``x-zm-signature`` (``v0=`` + HMAC-SHA256 of ``v0:{timestamp}:{body}``); a
2xx ends it; 3xx/4xx are never retried; 5xx or a network failure is retried 3 times, 5, 20 and 60 minutes
after the previous attempt (``retry_scale`` shortens them in tests), then the event is dropped.

Misbehaviour on request: ``duplicates`` (share of events delivered twice, the second a fresh signed
request), ``bad_signatures`` (share of events preceded by a forged copy: wrong secret), ``out_of_order``
(each advance's events sent shuffled).

The signing is written here again, not imported from ``etl.webhooks``: the simulator shares no code with
the receiving side, so a bug in one cannot hide in both.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random
from typing import Any

import httpx
import orjson

from etl.simulator.generate_meetings import as_of
from etl.simulator.generate_participants import recording_of
from etl.simulator.model import MeetingInstance, WebinarInstance

RETRY_MINUTES = (5.0, 20.0, 60.0)  # Zoom: after the first attempt, then after each retry
DUPLICATE_AFTER = 1.1  # seconds: a duplicate delivery carries a later timestamp, so another signature


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    url: str
    secret: str
    retry_scale: float = 1.0  # multiplies Zoom's retry delays (tests: 1/3000 turns 5 min into 0.1 s)
    duplicates: float = 0.0
    bad_signatures: float = 0.0
    out_of_order: bool = False
    timeout: float = 3.0  # Zoom gives an endpoint three seconds
    seed: int = 7


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return "v0=" + mac.hexdigest()


class EventSource:
    """What happened in the account between two instants, as Zoom's webhook bodies (pure; no I/O)."""

    def __init__(self, account: Any) -> None:
        self.account = account
        self._created = {m.user.id: m.user.user_created_at for m in account.members}

    def between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The bodies of events in ``(start, end]``, by ``event_ts``."""
        acct = self.account
        bodies: list[dict[str, Any]] = []
        for inst in acct.instances_in_window(start - _DAY, end, end, reported_only=False):
            if start < inst.end_time <= end:
                bodies.append(self._ended("meeting.ended", inst))
            if inst.has_recording and start < acct.recording_ready_at(inst) <= end:
                bodies.append(self._recording(inst))
        for winst in acct.all_webinar_instances(end):
            if start < winst.end_time <= end:
                bodies.append(self._ended("webinar.ended", winst))
        for meeting in acct.all_definitions():
            bodies.extend(self._definition(meeting, start, end))
        for webinar in acct.all_webinars():
            if start < webinar.created_at <= end:
                obj = {
                    "id": webinar.id,
                    "uuid": webinar.uuid,
                    "host_id": webinar.host_id,
                    "topic": webinar.topic,
                    "type": webinar.type,
                    "start_time": _iso(webinar.start_time),
                    "duration": webinar.duration,
                    "timezone": webinar.timezone,
                }
                bodies.append(
                    self._body("webinar.created", webinar.created_at, obj, operator=webinar.host_id)
                )
        for member in acct.members:
            bodies.extend(self._user(member, start, end))
        for sign_in in acct.sign_in_activity(start, end + _TICK, end):
            if not start < sign_in.time <= end or sign_in.type != "Sign in":
                continue
            user = acct.user(sign_in.email, end)
            if user is not None:
                obj = {
                    "id": user.id,
                    "email": user.email,
                    "date_time": _iso(sign_in.time),
                    "client_type": sign_in.client_type,
                    "version": sign_in.version,
                    "login_type": 0,
                }
                bodies.append(self._body("user.signed_in", sign_in.time, obj))
        bodies.sort(
            key=lambda b: (
                b["event_ts"],
                b["event"],
                str(b["payload"]["object"].get("uuid") or b["payload"]["object"].get("id")),
            )
        )
        return bodies

    def _body(self, event: str, at: datetime, obj: dict[str, Any], **extra: Any) -> dict[str, Any]:
        payload: dict[str, Any] = {"account_id": self.account.account_id, **extra, "object": obj}
        return {"event": event, "event_ts": _ms(at), "payload": payload}

    def _ended(self, event: str, inst: MeetingInstance | WebinarInstance) -> dict[str, Any]:
        obj = {
            "id": str(inst.id),
            "uuid": inst.uuid,
            "host_id": inst.host_id,
            "topic": inst.topic,
            "type": inst.type,
            "start_time": _iso(inst.start_time),
            "timezone": "UTC",
            "duration": inst.duration,
            "end_time": _iso(inst.end_time),
        }
        return self._body(event, inst.end_time, obj)

    def _recording(self, inst: MeetingInstance) -> dict[str, Any]:
        rec = recording_of(inst)
        files = [
            {
                "id": f.id,
                "meeting_id": f.meeting_id,
                "recording_start": _iso(f.recording_start),
                "recording_end": _iso(f.recording_end),
                "file_type": f.file_type,
                "file_size": f.file_size,
                "file_extension": f.file_extension,
                "status": f.status,
                "recording_type": f.recording_type,
                "download_url": f"https://zoom.example/rec/download/{f.id}",
            }
            for f in rec.files
        ]
        obj = {
            "id": rec.id,
            "uuid": rec.uuid,
            "host_id": rec.host_id,
            "account_id": self.account.account_id,
            "topic": rec.topic,
            "type": rec.type,
            "start_time": _iso(rec.start_time),
            "timezone": "UTC",
            "duration": rec.duration,
            "total_size": rec.total_size,
            "recording_count": len(files),
            "recording_files": files,
        }
        body = self._body("recording.completed", self.account.recording_ready_at(inst), obj)
        body["download_token"] = "simulated." + hashlib.sha256(rec.uuid.encode()).hexdigest()[:32]
        return body

    def _definition(self, meeting: Any, start: datetime, end: datetime) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        base = {
            "id": meeting.id,
            "uuid": meeting.uuid,
            "host_id": meeting.host_id,
            "topic": meeting.topic,
            "type": meeting.type,
            "start_time": _iso(meeting.start_time),
            "duration": meeting.duration,
            "timezone": meeting.timezone,
        }
        # The generated account may date a definition before its host exists (a pending user's
        # meetings): Zoom could not, so its events are sent when the host appears.
        host_from = self._created.get(meeting.host_id, meeting.created_at)
        created = max(meeting.created_at, host_from)
        if start < created <= end:
            found.append(self._body("meeting.created", created, base, operator_id=meeting.host_id))
        for update in meeting.updates:
            at = max(update.at, host_from)
            if start < at <= end:
                before = as_of(meeting, update.at - _TICK)
                changed = {k: v for k, v in update.changes}
                obj = {"id": meeting.id, **{k: _plain(v) for k, v in changed.items()}}
                old = {"id": meeting.id, **{k: _plain(getattr(before, k, None)) for k in changed}}
                found.append(
                    self._body(
                        "meeting.updated",
                        at,
                        obj,
                        operator_id=meeting.host_id,
                        old_object=old,
                        time_stamp=_ms(update.at),
                    )
                )
        deleted = None if meeting.deleted_at is None else max(meeting.deleted_at, host_from)
        if deleted is not None and start < deleted <= end:
            found.append(self._body("meeting.deleted", deleted, base, operator_id=meeting.host_id))
        return found

    def _user(self, member: Any, start: datetime, end: datetime) -> list[dict[str, Any]]:
        user = member.timeline.initial
        found: list[dict[str, Any]] = []
        who = {
            "id": user.id,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "type": user.type,
        }
        if start < user.user_created_at <= end:
            found.append(self._body("user.created", user.user_created_at, who, creation_type="create"))
        for change in member.timeline.changes:
            if not start < change.at <= end:
                continue
            values = dict(change.changes)
            if values.get("status") == "inactive":
                found.append(self._body("user.deactivated", change.at, who))
                continue
            before = member.timeline.at(change.at - _TICK) or user
            obj = {"id": user.id, **{k: _plain(v) for k, v in values.items()}}
            old = {"id": user.id, **{k: _plain(getattr(before, k, None)) for k in values}}
            found.append(
                self._body("user.updated", change.at, obj, old_object=old, time_stamp=_ms(change.at))
            )
        return found


def _plain(value: Any) -> Any:
    return _iso(value) if isinstance(value, datetime) else value


class WebhookSender:
    """Delivers bodies on a thread of its own, like Zoom: in order of due time, retried on 5xx."""

    def __init__(self, account: Any, config: WebhookConfig, *, wall: Callable[[], float] = time.time) -> None:
        self.config, self.source, self.wall = config, EventSource(account), wall
        self.random = Random(config.seed)
        self.stats: Counter[str] = Counter()
        self.dropped: list[dict[str, Any]] = []
        self._queue: list[tuple[float, int, int, bytes, bool]] = []  # due, seq, attempt, body, forged
        self._seq = 0
        self._signed_at: dict[bytes, int] = {}  # the last second each body was signed at
        self._cond = threading.Condition()
        self._busy = 0
        self._closed = False
        self._client = httpx.Client(timeout=config.timeout)
        self._thread = threading.Thread(target=self._run, name="sim-webhooks", daemon=True)
        self._thread.start()

    def advanced(self, before: datetime, after: datetime) -> None:
        """The clock moved from ``before`` to ``after``: send what happened in between."""
        bodies = self.source.between(before, after)
        if self.config.out_of_order:
            self.random.shuffle(bodies)
        now = time.monotonic()
        with self._cond:
            for body in bodies:
                raw = orjson.dumps(body)
                if self.random.random() < self.config.bad_signatures:
                    self._push(now, 0, raw, forged=True)
                self._push(now, 0, raw, forged=False)
                if self.random.random() < self.config.duplicates:  # a later, freshly signed copy
                    self._push(now + DUPLICATE_AFTER, 0, raw, forged=False)
                self.stats["events"] += 1
            self._cond.notify_all()

    def _push(self, due: float, attempt: int, raw: bytes, *, forged: bool) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (due, self._seq, attempt, raw, forged))

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every delivery (retries included) has ended; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=5)
        self._client.close()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._queue or self._queue[0][0] > time.monotonic()):
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._cond.wait(wait)
                if self._closed:
                    return
                _, _, attempt, raw, forged = heapq.heappop(self._queue)
                self._busy += 1
            try:
                status = self._post(raw, forged)
                retry = status is None or status >= 500
                key = "forged" if forged else str(status or "network")
                with self._cond:
                    self.stats[f"status_{key}"] += 1
                    if retry and not forged:
                        if attempt < len(RETRY_MINUTES):
                            delay = RETRY_MINUTES[attempt] * 60 * self.config.retry_scale
                            self._push(time.monotonic() + delay, attempt + 1, raw, forged=False)
                            self.stats["retries"] += 1
                        else:
                            self.dropped.append(orjson.loads(raw))
                            self.stats["dropped"] += 1
                    elif not forged and status is not None and status < 300:
                        self.stats["delivered"] += 1
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _post(self, raw: bytes, forged: bool) -> int | None:
        # A later delivery of the same body is signed at a later second, as Zoom's retries are: two
        # deliveries sent within one second would otherwise carry the same signature (a replay).
        second = int(self.wall())
        if not forged:
            second = max(second, self._signed_at.get(raw, second - 1) + 1)
            self._signed_at[raw] = second
        timestamp = str(second)
        secret = self.config.secret + "-forged" if forged else self.config.secret
        headers = {
            "content-type": "application/json; charset=utf-8",
            "user-agent": "Zoom Marketplace/1.0a",
            "x-zm-request-timestamp": timestamp,
            "x-zm-signature": sign(secret, timestamp, raw),
            "x-zm-trackingid": "sim_" + hashlib.sha1(raw).hexdigest()[:20],
        }
        try:
            return self._client.post(self.config.url, content=raw, headers=headers).status_code
        except httpx.HTTPError:
            return None


_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)
