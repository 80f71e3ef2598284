"""Meeting definitions and their past instances, per host.

Each host gets a mix Zoom accounts really have: weekly recurring meetings with a fixed time (type 8), daily
stand-ups (type 8, weekdays: many instances sharing one meeting id, each with its own uuid), recurring
meetings without a fixed time (type 3), one-off scheduled meetings (type 2, whose single instance keeps the
definition's uuid) and instant meetings (type 1, which exist only as instances). Definitions are edited
(topic, duration) and deleted over time, some after the clock's start; an instance takes the topic the
definition had when it started, and a deleted definition holds no more instances.

Report data is late (1-36 hours after the end) for one instance in ``LATE_EVERY``, and UUIDs take their
awkward forms on a fixed share of serials (see ``instance_uuid``): fixed shares, not chance, so small
accounts hold them too. The account owner (user 0) always hosts one of each kind, with a topic edit before
and a duration edit after the clock's start, deletions before and after it, an instant meeting nobody
joined (1 participant), office hours with two guests named alike, and late reports for its meetings of
the 34 hours before the clock's start: so ``tiny``, whatever the seed, contains every case.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from random import Random

from etl.simulator.generate_ids import instance_uuid, meeting_number, sub_seed
from etl.simulator.generate_participants import GUEST_PAIR_EVERY, MAX_AUDIENCE
from etl.simulator.generate_users import Member
from etl.simulator.model import Meeting, MeetingInstance, Profile, UserChange

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
LATE_EVERY = 7  # one instance in 7 (14%) has its report data 1-36 hours after the end: lookback matters
BASIC_LIMIT = timedelta(minutes=40)  # Basic hosts' meetings with 3+ people end at 40 minutes


class Span:
    """The time range a generated account covers, and the draws every generator module shares."""

    def __init__(self, epoch: datetime, profile: Profile) -> None:
        self.epoch = epoch
        self.start = epoch - timedelta(days=profile.history_days)
        self.horizon = epoch + timedelta(days=profile.future_days)
        self.profile = profile

    def work_time(self, rng: Random, day: datetime, *, quarter: bool) -> datetime:
        """A weekday working-hours instant (UTC) on ``day``'s date, on a quarter hour if ``quarter``."""
        while day.weekday() >= 5:
            day += DAY
        minute = 7 * 60 + (int(rng.random() * 44) * 15 if quarter else int(rng.random() * 660))
        return day.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(minutes=minute)


def audience(rng: Random, mean: float, *, low: int = 2, cap: int = MAX_AUDIENCE) -> int:
    """People invited to a meeting (host included): mostly small, now and then an all-hands."""
    return min(cap, max(low, 1 + round(rng.expovariate(1 / max(0.5, mean - 1)))))


def attendance(rng: Random, invited: int) -> int:
    """Unique people in one instance: the host plus each invitee with 85% chance (so 1-person instances)."""
    draw = rng.random
    return 1 + sum([draw() < 0.85 for _ in range(invited - 1)])


class HostPlan:
    """Builds one host's definitions and instances from one ``Random`` (deterministic per host)."""

    def __init__(self, member: Member, span: Span, used_ids: set[int], seed: int) -> None:
        self.m = member
        self.span = span
        self.used_ids = used_ids
        self.rng = Random(sub_seed(seed, "meetings", member.index))
        self.serial = 0  # counts UUIDs drawn, for the fixed shares of awkward UUIDs and late reports
        self.definitions: list[Meeting] = []
        self.instances: list[MeetingInstance] = []
        user = member.user
        licensed = user.type == 2
        self.licensed = licensed
        self.rate = span.profile.meetings_per_user_week * (1.3 if licensed else 0.6)

    # -- helpers -------------------------------------------------------------------------------------
    def _window(self) -> tuple[datetime, datetime] | None:
        m, span = self.m, self.span
        if m.active_from is None:
            return None
        lo = max(m.active_from, span.start - timedelta(days=60))
        hi = min(m.active_until or span.horizon, span.horizon)
        return (lo, hi) if lo < hi - DAY else None

    def _duration(self, planned: timedelta, people: int) -> timedelta:
        seconds = max(60, int(planned.total_seconds() * self.rng.uniform(0.5, 1.15)))
        if not self.licensed and people >= 3:
            seconds = min(seconds, int(BASIC_LIMIT.total_seconds()) - int(self.rng.random() * 30))
        return timedelta(seconds=seconds)

    def _instance(
        self,
        meeting: Meeting | None,
        mtype: int,
        start: datetime,
        planned: timedelta,
        invited: int,
        *,
        alone: bool = False,
        guests: bool = False,
    ) -> None:
        """Record one held instance, if the host may host then and the definition still exists."""
        rng, span = self.rng, self.span
        if not self.m.can_host(start) or start < span.start or start >= span.horizon:
            return
        if meeting is not None and meeting.deleted_at is not None and start >= meeting.deleted_at:
            return
        people = 1 if alone else max(3 if guests else 1, attendance(rng, invited))
        self.serial += 1
        end = start + self._duration(planned, people)
        if meeting is None:
            topic, mid = f"{self.m.user.display_name}'s Zoom Meeting", meeting_number(rng, self.used_ids)
        else:
            topic, mid = str(_as_of(meeting, start).topic), meeting.id
        if self.m.index == 0 and span.epoch - timedelta(hours=34) <= end < span.epoch:
            # the owner's latest meetings report late: every first sync meets pending report data
            ready = max(
                end + timedelta(hours=1), span.epoch + timedelta(seconds=300 + int(rng.random() * 6900))
            )
        elif self.serial % LATE_EVERY == 5:
            ready = end + timedelta(seconds=3600 + int(rng.random() * 35 * 3600))
        else:
            ready = end + timedelta(seconds=300 + int(rng.random() * 1500))
        uuid = meeting.uuid if meeting is not None and mtype == 2 else instance_uuid(rng, self.serial)
        self.instances.append(
            MeetingInstance(
                uuid=uuid,
                id=mid,
                host_id=self.m.user.id,
                topic=topic,
                type=mtype,
                start_time=start,
                end_time=end,
                participants_count=people,
                has_recording=self.licensed and rng.random() < 0.25,
                has_screen_share=rng.random() < 0.5,
                report_ready_at=ready,
                seed=rng.getrandbits(59) * GUEST_PAIR_EVERY if guests else rng.getrandbits(63),
            )
        )

    def _define(
        self,
        mtype: int,
        topic: str,
        created: datetime,
        start: datetime,
        minutes: int,
        occurrences: tuple[datetime, ...],
    ) -> Meeting:
        rng = self.rng
        mid = meeting_number(rng, self.used_ids)
        meeting = Meeting(
            id=mid,
            uuid=instance_uuid(rng, len(self.definitions)),
            host_id=self.m.user.id,
            topic=topic,
            type=mtype,
            start_time=start,
            duration=minutes,
            timezone=self.m.user.timezone,
            created_at=created,
            agenda=f"{topic} - agenda",
            join_url=f"https://example.zoom.us/j/{mid}",
            occurrences=occurrences,
        )
        return meeting

    def _edit(self, meeting: Meeting, at: datetime, *, topic: bool) -> Meeting:
        current = _as_of(meeting, at)
        if topic:
            change = UserChange(at, (("topic", f"{current.topic} (v{len(meeting.updates) + 2})"),))
        else:
            change = UserChange(at, (("duration", current.duration + 15),))
        return replace(meeting, updates=(*meeting.updates, change))

    def _finish(
        self,
        meeting: Meeting,
        *,
        edit_at: datetime | None = None,
        edit_topic: bool | None = None,
        delete_at: datetime | None = None,
        forced: bool = False,
    ) -> Meeting:
        """Random (or forced) edits and deletion, decided before its instances are laid out."""
        rng, span = self.rng, self.span
        lo = max(meeting.created_at, span.start) + timedelta(hours=1)
        if edit_at is None and rng.random() < 0.15 and lo < span.horizon and not forced:
            edit_at = lo + (span.horizon - lo) * rng.random()
        if edit_at is not None:
            edit_at = max(edit_at, meeting.created_at + DAY).replace(microsecond=0)
            meeting = self._edit(
                meeting, edit_at, topic=rng.random() < 0.6 if edit_topic is None else edit_topic
            )
        if delete_at is None and rng.random() < 0.05 and lo < span.horizon and not forced:
            delete_at = lo + (span.horizon - lo) * rng.random()
        if delete_at is not None:
            meeting = replace(
                meeting, deleted_at=max(delete_at, meeting.created_at + DAY).replace(microsecond=0)
            )
        self.definitions.append(meeting)
        return meeting

    # -- the kinds of meetings -----------------------------------------------------------------------
    def recurring(
        self,
        *,
        daily: bool,
        early: bool = False,
        edit_at: datetime | None = None,
        delete_at: datetime | None = None,
    ) -> None:
        """A type-8 series: weekly, or every weekday for stand-ups; its instances share the meeting id."""
        window = self._window()
        if window is None:
            return
        rng, span = self.rng, self.span
        lo, hi = window
        created = lo + (min(hi, span.epoch) - lo) * rng.random() * (0.3 if rng.random() < 0.7 else 1)
        created = (lo if early else created).replace(microsecond=0)
        first = span.work_time(rng, created + DAY * rng.randint(1, 7), quarter=True)
        step = DAY if daily else WEEK
        last = span.horizon + timedelta(days=30)
        if rng.random() < 0.15 and not early:  # a series that ended
            last = min(last, first + step * rng.randint(3, 40))
        occurrences = []
        at = first
        while at <= last:
            if at.weekday() < 5:
                occurrences.append(at)
            at += step
        dept = self.m.user.dept
        topic = f"{dept} stand-up" if daily else rng.choice((f"Weekly {dept} sync", "Pipeline review", "1:1"))
        minutes = 15 if daily else rng.choice((30, 45, 60))
        meeting = self._finish(
            self._define(8, topic, created, first, minutes, tuple(occurrences)),
            edit_at=edit_at,
            edit_topic=True if edit_at else None,
            delete_at=delete_at,
            forced=early,
        )
        invited = 2 if topic == "1:1" else audience(rng, span.profile.mean_participants + (1 if daily else 0))
        for occ in occurrences:
            if span.start - DAY <= occ < span.horizon and (early or rng.random() < 0.92):
                start = occ + timedelta(seconds=rng.randint(-120, 300))
                self._instance(
                    meeting, 8, start, timedelta(minutes=int(_as_of(meeting, occ).duration)), invited
                )

    def all_hands(self, invited: int) -> None:
        """A type-8 series every 4 weeks with the whole company invited: a participants report of 300+
        rows (several pages of ``page_size=300``), as real accounts have."""
        window = self._window()
        if window is None:
            return
        rng, span = self.rng, self.span
        created = window[0].replace(microsecond=0)
        first = span.work_time(rng, max(created, span.start) + DAY * rng.randint(1, 7), quarter=True)
        occurrences = []
        at = first
        while at <= span.horizon + timedelta(days=30):
            occurrences.append(at)
            at += WEEK * 4
        meeting = self._finish(
            self._define(8, "All hands", created, first, 60, tuple(occurrences)), forced=True
        )
        for occ in occurrences:
            if span.start - DAY <= occ < span.horizon:
                start = occ + timedelta(seconds=rng.randint(-60, 240))
                self._instance(meeting, 8, start, timedelta(minutes=60), invited)

    def no_fixed_time(self, *, early: bool = False, edit_at: datetime | None = None) -> None:
        """A type-3 series (no fixed time): instances whenever the host starts it, about weekly."""
        window = self._window()
        if window is None:
            return
        rng, span = self.rng, self.span
        lo, hi = window
        created = (lo if early else lo + (min(hi, span.epoch) - lo) * rng.random() * 0.5).replace(
            microsecond=0
        )
        definition = self._define(3, "Office hours", created, created, 60, ())
        meeting = self._finish(
            definition, edit_at=edit_at, edit_topic=False if edit_at else None, forced=early
        )
        invited = audience(rng, span.profile.mean_participants)
        at = created + DAY * rng.uniform(1, 7)
        pair_pending = early  # the owner's first office hours in the history have two guests named alike
        while at < hi:
            start = span.work_time(rng, at, quarter=False)
            pair = pair_pending and start >= span.start
            self._instance(meeting, 3, start, timedelta(minutes=50), invited, guests=pair)
            pair_pending = pair_pending and not pair
            at += DAY * rng.uniform(3, 11)

    def one_off(self, count: int, *, delete_first_at: datetime | None = None) -> None:
        """Type-2 meetings: scheduled some days ahead, held once (88%) with the definition's uuid."""
        window = self._window()
        if window is None:
            return
        rng, span = self.rng, self.span
        lo, hi = window
        for k in range(count):
            start = span.work_time(rng, lo + (hi - lo) * rng.random(), quarter=True)
            created = (start - DAY * rng.uniform(0.2, 14)).replace(microsecond=0)
            topic = rng.choice(
                ("Customer call", "Interview", "Quarterly review", "Design review", "Vendor demo")
            )
            meeting = self._define(2, topic, created, start, rng.choice((30, 45, 60, 90)), ())
            delete_at = delete_first_at if k == 0 else None
            meeting = self._finish(meeting, delete_at=delete_at)
            if rng.random() < 0.88:
                planned = timedelta(minutes=int(_as_of(meeting, start).duration))
                invited = audience(rng, span.profile.mean_participants)
                self._instance(
                    meeting, 2, start + timedelta(seconds=rng.randint(-300, 600)), planned, invited
                )

    def instant(self, count: int, *, first_alone: bool = False) -> None:
        """Type-1 meetings: no definition; each instance gets a fresh meeting id."""
        window = self._window()
        if window is None:
            return
        rng = self.rng
        lo, hi = window
        for k in range(count):
            if first_alone and k == 0:  # nobody came: Zoom's report lists leave such instances out
                lo_alone = max(lo, self.span.start)
                start = self.span.work_time(
                    rng, lo_alone + (self.span.epoch - DAY - lo_alone) * rng.random(), quarter=False
                )
            else:
                start = self.span.work_time(rng, lo + (hi - lo) * rng.random(), quarter=False)
            start += timedelta(seconds=rng.randrange(60))
            planned, invited = timedelta(minutes=rng.choice((10, 20, 30))), audience(rng, 2.5)
            self._instance(None, 1, start, planned, invited, alone=first_alone and k == 0)

    def plan(self) -> None:
        """The host's whole mix; the owner's mix is fixed so every special case exists."""
        rng, span = self.rng, self.span
        window = self._window()
        if window is None:
            return
        weeks = (window[1] - max(window[0], span.start)).days / 7
        if self.m.index == 0:
            self.recurring(daily=True, early=True, edit_at=span.epoch - DAY * 3)
            self.recurring(daily=False, early=True, delete_at=span.epoch + DAY * 3 + timedelta(hours=5))
            self.recurring(daily=False, early=True, delete_at=span.epoch - DAY * 6 + timedelta(hours=2))
            self.no_fixed_time(early=True, edit_at=span.epoch + DAY * 2)
            self.one_off(max(2, int(self.rate * 0.35 * weeks)), delete_first_at=span.epoch - DAY * 10)
            self.instant(max(2, int(self.rate * 0.2 * weeks)), first_alone=True)
            if span.profile.all_hands:  # last, so the owner's other meetings draw as they always did
                self.all_hands(span.profile.all_hands)
            return
        for _ in range(int(self.rate * 0.3 + rng.random())):
            self.recurring(daily=False)
        if rng.random() < 0.12:
            self.recurring(daily=True)
        if rng.random() < 0.25:
            self.no_fixed_time()
        self.one_off(int(self.rate * 0.3 * weeks + rng.random()))
        self.instant(int(self.rate * 0.2 * weeks + rng.random()))


def _as_of(meeting: Meeting, at: datetime) -> Meeting:
    """The definition with every update made at or before ``at`` applied."""
    if not meeting.updates:
        return meeting
    values: dict[str, object] = {}
    for update in meeting.updates:
        if update.at <= at:
            values.update(update.changes)
    return replace(meeting, **values) if values else meeting  # type: ignore[arg-type]


def as_of(meeting: Meeting, at: datetime) -> Meeting:
    """Public alias: the definition as Zoom shows it at ``at`` (updates applied, deletion not checked)."""
    return _as_of(meeting, at)


def plan_meetings(
    members: list[Member], span: Span, seed: int, used_ids: set[int]
) -> tuple[list[Meeting], list[MeetingInstance]]:
    """Every definition and instance (unsorted) of the account, from the history start to the horizon."""
    definitions: list[Meeting] = []
    instances: list[MeetingInstance] = []
    for member in members:
        host = HostPlan(member, span, used_ids, seed)
        host.plan()
        definitions += host.definitions
        instances += host.instances
    return definitions, instances
