"""Sign-ins, operation logs and daily usage, derived on demand (one day at a time) from seeds and indexes.

Sign-ins agree with hosting: a user signs in on every day they host (before the first meeting, signing
out after the last), and on other weekdays with their own probability; never before activation nor after
deactivation or dormancy. ``last_login_time`` is the latest of those sign-ins at or before ``now``, so an
extractor that skips users whose last sign-in predates a report window never misses a hosted meeting.

Operation logs are the admin's actions: adding users, department and licence edits, deactivations (the
same instants as the users' timeline changes), plus a few account-setting changes on weekdays.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from random import Random

from etl.simulator.generate_ids import sub_seed
from etl.simulator.generate_users import Member
from etl.simulator.model import OperationLog, SignInActivity

CLIENT_TYPES = ("Windows", "Mac", "Browser", "iOS", "Android")
SETTING_CHANGES = (
    ("Account", "Update", "Update Account Settings: Meeting - Waiting room: false -> true"),
    ("Account", "Update", "Update Account Settings: Recording - Cloud recording: true -> true"),
    ("Role", "Update", "Update Role: Member - Meeting: View"),
    ("Recording", "Delete", "Delete recording files of an old meeting"),
    ("Meeting", "Update", "Update Meeting Settings: Join before host: false -> true"),
)
Hosting = dict[int, tuple[list[float], list[float]]]  # member index -> sorted starts, matching ends
LOOKBACK_DAYS = 400  # how far back ``last_login`` searches before giving up


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


class Activity:
    """Per-day sign-in sessions and admin logs for a fixed set of members and hosting schedules."""

    def __init__(self, seed: int, members: list[Member], hosting: Hosting) -> None:
        self.seed = seed
        self.members = members
        self.hosting = hosting  # member index -> (sorted start timestamps, matching end timestamps)
        owner = members[0].user.email
        admins = [m.user.email for m in members if m.user.role_id == "1"]
        self.operators = (owner, *admins)
        self._user_logs = sorted(self._user_events(), key=_log_key)
        self._day_events = lru_cache(maxsize=64)(self._build_day_events)

    # -- sign-ins ------------------------------------------------------------------------------------
    def session(self, m: Member, day: date) -> tuple[datetime, datetime] | None:
        """(sign in, sign out) of ``m`` on ``day``, or None if they did not sign in that day."""
        if m.active_from is None:
            return None
        draw = Random(sub_seed(self.seed, "signin", m.index, day.toordinal())).random
        begin = day_start(day)
        sign_in = begin + timedelta(seconds=6 * 3600 + int(draw() * 4 * 3600))
        sign_out = sign_in + timedelta(seconds=6 * 3600 + int(draw() * 4 * 3600))
        chance = m.activity if day.weekday() < 5 else m.activity * 0.1
        active = draw() < chance
        starts, ends = self.hosting.get(m.index, ([], []))
        lo = bisect_left(starts, begin.timestamp())
        hi = bisect_left(starts, begin.timestamp() + 86400)
        if hi > lo:
            first = datetime.fromtimestamp(starts[lo], UTC)
            sign_in = min(sign_in, first - timedelta(seconds=60 + int(draw() * 840)))
            sign_in = max(sign_in, m.active_from, begin)
            last_end = datetime.fromtimestamp(max(ends[lo:hi]), UTC)
            sign_out = max(sign_out, last_end + timedelta(seconds=60 + int(draw() * 540)))
        elif not active or not m.can_host(sign_in):
            return None
        if m.active_until is not None:
            sign_out = min(sign_out, m.active_until)
        return (sign_in, sign_out) if sign_in < sign_out else None

    def _build_day_events(self, day: date) -> tuple[SignInActivity, ...]:
        """Every sign in/out of the sessions that begin on ``day`` (cached: report pages re-ask)."""
        out = []
        for m in self.members:
            session = self.session(m, day)
            if session is None:
                continue
            rng = Random(sub_seed(self.seed, "client", m.index, day.toordinal()))
            client = rng.choice(CLIENT_TYPES)
            ip = f"{rng.choice(('198.51.100', '203.0.113'))}.{rng.randrange(1, 255)}"
            version = m.user.last_client_version
            out.append(SignInActivity(m.user.email, session[0], "Sign in", ip, client, version))
            out.append(SignInActivity(m.user.email, session[1], "Sign out", ip, client, version))
        return tuple(out)

    def sign_ins(self, start: datetime, end: datetime, now: datetime) -> list[SignInActivity]:
        """Sign in/out events in [start, end) that happened by ``now``, sorted by time, email, type."""
        end = min(end, now + timedelta(microseconds=1))
        out: list[SignInActivity] = []
        day = start.date() - timedelta(days=1)  # a sign-out may fall on the next day
        while day <= end.date():
            out += [e for e in self._day_events(day) if start <= e.time < end]
            day += timedelta(days=1)
        out.sort(key=lambda a: (a.time, a.email, a.type))
        return out

    def last_login(self, m: Member, now: datetime) -> datetime | None:
        """The latest sign-in at or before ``now`` (before deactivation or dormancy), or None."""
        if m.active_from is None or now < m.active_from:
            return None
        until = min(now, m.active_until) if m.active_until is not None else now
        day = until.date()
        floor = max(m.active_from.date(), day - timedelta(days=LOOKBACK_DAYS))
        while day >= floor:
            session = self.session(m, day)
            if session is not None and session[0] <= until:
                return session[0]
            day -= timedelta(days=1)
        return None

    # -- operation logs ------------------------------------------------------------------------------
    def _user_events(self) -> Iterator[OperationLog]:
        owner = self.operators[0]
        for m in self.members[1:]:
            user = m.user
            yield OperationLog(user.user_created_at, owner, "User", "Add", f"Add User {user.email}")
            previous = user
            for change in m.timeline.changes:
                values = dict(change.changes)
                current = m.timeline.at(change.at)
                assert current is not None
                if "dept" in values:
                    detail = f"Update User {user.email} - Department: {previous.dept} -> {values['dept']}"
                    yield OperationLog(change.at, owner, "User", "Update", detail)
                if "type" in values:
                    detail = f"Update User {user.email} - User Type: Basic -> Licensed"
                    yield OperationLog(change.at, owner, "User", "Update", detail)
                if values.get("status") == "inactive":
                    yield OperationLog(
                        change.at, owner, "User", "Deactivate", f"Deactivate User {user.email}"
                    )
                previous = current

    def operation_logs(self, start: datetime, end: datetime, now: datetime) -> list[OperationLog]:
        """Admin actions in [start, end) done by ``now``, by time, operator, action, category, detail."""
        end = min(end, now + timedelta(microseconds=1))
        out = [log for log in self._user_logs if start <= log.time < end]
        day = start.date()
        while day <= end.date():
            rng = Random(sub_seed(self.seed, "oplog", day.toordinal()))
            for _ in range(rng.randint(0, 2) if day.weekday() < 5 else 0):
                category, action, detail = rng.choice(SETTING_CHANGES)
                at = day_start(day) + timedelta(seconds=rng.randrange(8 * 3600, 18 * 3600))
                operator = rng.choice(self.operators)
                if start <= at < end:
                    out.append(OperationLog(at, operator, category, action, detail))
            day += timedelta(days=1)
        out.sort(key=_log_key)
        return out


def _log_key(log: OperationLog) -> tuple[datetime, str, str, str, str]:
    return (log.time, log.operator, log.action, log.category_type, log.operation_detail)
