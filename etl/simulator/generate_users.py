"""Users of the generated account: who exists when, with which edits, and who is active when.

Special cases are assigned by quota rather than by chance, so even ``tiny`` (8 users) holds each of them:
a user created after the clock's start, a pending user who never activates, deactivations before and after
the clock's start, a dormant user (long-ago last sign-in: the extractor may skip them), department edits
before and after the clock's start, and a Basic to Licensed upgrade.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random

from etl.simulator.generate_ids import MEETING_ID_MAX, MEETING_ID_MIN, sub_seed, zoom_id
from etl.simulator.model import User, UserChange, UserTimeline

_FIRST = (
    "Ada Alan Amara Ben Carla Chen Dario Dana Elena Emeka Farah Felix Grace Hugo Ines Ivan Jana Jonas "
    "Kai Keiko Lara Liam Maya Mateo Nadia Noah Olga Omar Priya Paulo Quinn Rosa Rui Sara Sven Tara Tomas "
    "Uma Victor Wen Yara Zoe"
)
_LAST = (
    "Abe Alvarez Berg Costa Dubois Eriksen Fischer Garcia Haddad Ito Jensen Kowalski Larsen Moreau "
    "Nakamura Novak Okafor Petrov Quintero Rossi Sato Schmidt Silva Tanaka Umar Varga Weber Xu Yilmaz "
    "Zhang"
)
FIRST_NAMES, LAST_NAMES = tuple(_FIRST.split()), tuple(_LAST.split())
DEPARTMENTS = ("Engineering", "Sales", "Marketing", "Support", "Finance", "HR", "Operations", "Legal")
TIMEZONES = ("America/Los_Angeles", "America/New_York", "Europe/London", "Europe/Berlin", "Asia/Tokyo")
CLIENT_VERSIONS = ("5.17.11.34827", "6.0.2.37941", "6.1.1.42212", "6.2.5.45883")
DOMAIN = "example.com"


@dataclass(frozen=True, slots=True)
class Member:
    """Generator-side facts about one user that drive their activity (Zoom shows none of these)."""

    index: int
    timeline: UserTimeline
    active_from: datetime | None  # may host and sign in from here on; None: never (pending for ever)
    active_until: datetime | None  # deactivated or dormant from here on; None: active for ever
    activity: float  # chance of signing in on a weekday

    @property
    def user(self) -> User:
        return self.timeline.initial

    def can_host(self, at: datetime) -> bool:
        """True if the user is signed-up, not deactivated and not dormant at ``at``."""
        if self.active_from is None or at < self.active_from:
            return False
        return self.active_until is None or at < self.active_until


def _quota(n: int, share: float) -> int:
    return max(1, round(n * share))


def _instant(rng: Random, start: datetime, end: datetime) -> datetime:
    """A whole-second instant uniformly in [start, end)."""
    span = max(1, int((end - start).total_seconds()))
    return start + timedelta(seconds=rng.randrange(span))


def generate_members(
    seed: int, users: int, epoch: datetime, history_days: int, future_days: int
) -> list[Member]:
    """All users of the account, index 0 being the account owner (the admin who edits the others)."""
    rng = Random(sub_seed(seed, "users"))
    history_start = epoch - timedelta(days=history_days)
    future_end = epoch + timedelta(days=future_days)
    others = list(range(1, users))
    rng.shuffle(others)
    kinds: dict[int, str] = {}
    for kind, share in (
        ("late_new", 0.03),
        ("pending", 0.03),
        ("gone_before", 0.04),
        ("gone_after", 0.02),
        ("dormant", 0.05),
        ("new_in_window", 0.08),
    ):
        for _ in range(_quota(users, share)):
            if others:
                kinds[others.pop()] = kind
    # Basic users by quota too: at least one always-active one (the upgrade candidate) and one more
    normal = [i for i in range(1, users) if i not in kinds]
    basic = set(normal[:1])
    rest = [i for i in range(1, users) if i not in basic]
    basic.update(rng.sample(rest, min(len(rest), max(1, round(0.4 * (users - 1)) - len(basic)))))
    emails: set[str] = set()
    members: list[Member] = []
    for index in range(users):
        kind = kinds.get(index, "owner" if index == 0 else "normal")
        members.append(_member(rng, index, kind, index in basic, emails, epoch, history_start, future_end))
    return _add_edits(rng, members, epoch, history_start, future_end)


def _member(
    rng: Random,
    index: int,
    kind: str,
    is_basic: bool,
    emails: set[str],
    epoch: datetime,
    history_start: datetime,
    future_end: datetime,
) -> Member:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = f"{first}.{last}@{DOMAIN}".lower()
    suffix = 1
    while email in emails:
        suffix += 1
        email = f"{first}.{last}{suffix}@{DOMAIN}".lower()
    emails.add(email)
    active_until: datetime | None = None
    changes: list[UserChange] = []
    if kind in ("late_new", "new_in_window", "pending"):
        if kind == "late_new":
            created = _instant(rng, epoch + timedelta(hours=6), epoch + (future_end - epoch) / 2)
        elif kind == "pending":
            created = _instant(rng, max(history_start, epoch - timedelta(days=20)), epoch - timedelta(days=1))
        else:
            created = _instant(rng, history_start, epoch - timedelta(days=2))
        status = "pending"
        active_from = None if kind == "pending" else created + timedelta(seconds=rng.randrange(3600, 86400))
        if active_from is not None:
            changes.append(UserChange(active_from, (("status", "active"), ("verified", 1))))
    else:
        status, active_from = "active", None
        if kind == "dormant":
            active_until = epoch - timedelta(days=rng.uniform(40, 120))
            created = active_until - timedelta(days=rng.uniform(30, 600))
        else:
            created = history_start - timedelta(days=rng.uniform(30, 900))
        created = created.replace(microsecond=0)
        active_from = created
        if kind in ("gone_before", "gone_after"):
            if kind == "gone_before":
                active_until = _instant(rng, history_start + timedelta(days=1), epoch - timedelta(days=1))
            else:
                active_until = _instant(rng, epoch + timedelta(days=1), future_end - timedelta(days=2))
            changes.append(UserChange(active_until, (("status", "inactive"),)))
    user = User(
        id=zoom_id(rng),
        email=email,
        first_name=first,
        last_name=last,
        display_name=f"{first} {last}",
        type=1 if is_basic else 2,
        status=status,
        dept=rng.choice(DEPARTMENTS),
        role_id="0" if index == 0 else ("1" if rng.random() < 0.05 else "2"),
        timezone=rng.choice(TIMEZONES),
        pmi=rng.randint(MEETING_ID_MIN, MEETING_ID_MAX),
        language="en-US",
        user_created_at=created,
        last_login_time=None,
        last_client_version=rng.choice(CLIENT_VERSIONS),
        employee_unique_id=f"E{rng.randrange(10000, 99999)}" if rng.random() < 0.7 else "",
        verified=0 if status == "pending" else 1,
    )
    activity = rng.uniform(0.5, 0.95)
    return Member(index, UserTimeline(user, tuple(changes)), active_from, active_until, activity)


def _add_edits(
    rng: Random, members: list[Member], epoch: datetime, history_start: datetime, future_end: datetime
) -> list[Member]:
    """Department edits and licence upgrades by the admin, some before and some after the clock's start."""
    n = len(members)
    edits: list[tuple[datetime, str]] = [
        (_instant(rng, history_start, epoch - timedelta(hours=12)), "dept") for _ in range(_quota(n, 0.06))
    ]
    edits += [
        (_instant(rng, epoch + timedelta(hours=12), future_end - timedelta(days=1)), "dept")
        for _ in range(_quota(n, 0.04))
    ]
    edits.append((_instant(rng, epoch - timedelta(days=5), epoch + timedelta(days=2)), "type"))
    for at, what in sorted(edits):
        candidates = [
            m
            for m in members
            if m.index != 0 and m.can_host(at) and (what == "dept" or m.timeline.at(at).type == 1)  # type: ignore[union-attr]
        ]
        if not candidates:
            continue
        m = rng.choice(candidates)
        current = m.timeline.at(at)
        assert current is not None
        if what == "dept":
            change = UserChange(at, (("dept", rng.choice([d for d in DEPARTMENTS if d != current.dept])),))
        else:
            change = UserChange(at, (("type", 2),))
        timeline = UserTimeline(
            m.timeline.initial, tuple(sorted((*m.timeline.changes, change), key=lambda c: c.at))
        )
        members[m.index] = Member(m.index, timeline, m.active_from, m.active_until, m.activity)
    return members
