"""``generate(profile, seed)``: a deterministic simulated Zoom account, queried "as seen at" ``now``.

The generated account keeps only compact indexes (users, definitions, instances sorted by start time);
participants, registrants, recording files, sign-ins and operation logs are rebuilt on demand from seeds.
Same profile, seed and epoch give identical data in any process.

Visibility rules (Zoom-like), applied by every method:
- a user exists from ``user_created_at``; fields follow ``UserTimeline.at(now)``; ``last_login_time`` is
  their latest sign-in at or before ``now``.
- an instance is visible once ended (``end_time <= now``); with ``reported_only`` once its
  ``report_ready_at <= now`` (late report data). All participants of a visible instance are visible.
- a scheduled meeting (type 2, 3, 8) is listed from ``created_at`` until deleted or expired: type 2 expires
  30 days after its start, type 8 30 days after its last planned occurrence, type 3 365 days after its
  last instance (or creation). ``meeting(id)`` answers for expired-but-not-deleted definitions too, as Zoom
  does; instant meetings (type 1) have no definition (None). Webinars follow the same rules (no deletion).
- a recording is listed once processed: ``end_time + 5 min + half its duration``.
- windows are half-open, ``start <= start_time < end``.

Sort orders (stable, so page tokens can be offsets): users by ``user_created_at`` then id; meetings and
webinars by ``start_time`` then id; instances by ``start_time`` then uuid; participants by ``join_time``
then ``user_id``; registrants by ``create_time`` then id; recordings by ``start_time`` then uuid; sign-ins
by time, email, type; operation logs by time, operator, action, category, detail; daily usage by date.

Daily usage counts meeting instances (not webinars) by the UTC day they started, once ended: ``meetings``,
``participants`` (sum of ``participants_count``), ``meeting_minutes`` (sum of durations), and
``new_users`` (users created that day); days run from the 1st to the end of the month or ``now``'s date.
"""

from __future__ import annotations

import calendar
from bisect import bisect_left, insort
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from random import Random

from etl.simulator.clock import default_epoch
from etl.simulator.generate_activity import Activity, Hosting, day_start
from etl.simulator.generate_ids import sub_seed, zoom_id
from etl.simulator.generate_meetings import Span, as_of, plan_meetings
from etl.simulator.generate_participants import (
    People,
    meeting_participants,
    recording_of,
    webinar_participants,
    webinar_registrants,
)
from etl.simulator.generate_users import Member, generate_members
from etl.simulator.generate_webinars import plan_webinars
from etl.simulator.model import (
    DailyUsage,
    Meeting,
    MeetingInstance,
    OperationLog,
    Participant,
    Profile,
    Recording,
    Registrant,
    SignInActivity,
    User,
    Webinar,
    WebinarInstance,
)
from etl.simulator.profiles import get_profile

EXPIRY = {
    2: timedelta(days=30),
    8: timedelta(days=30),
    3: timedelta(days=365),
    5: timedelta(days=30),
    9: timedelta(days=30),
}


def generate(profile: str | Profile, seed: int = 42, *, epoch: datetime | None = None) -> GeneratedAccount:
    """Build the account for ``profile`` (a name from ``profiles.PROFILES`` or a ``Profile``) and ``seed``,
    as it stands at ``epoch`` (default: ``clock.default_epoch()``, the current UTC day)."""
    return GeneratedAccount(get_profile(profile), seed, default_epoch() if epoch is None else epoch)


class GeneratedAccount:
    """Implements ``model.Account`` over generated indexes; see the module docstring for the rules."""

    def __init__(self, profile: Profile, seed: int, epoch: datetime) -> None:
        if epoch.tzinfo is None:
            raise ValueError(f"epoch must be timezone-aware, got {epoch.isoformat()}")
        self.profile = profile
        self.seed = seed
        self.epoch = epoch.astimezone(UTC)
        self.account_id = zoom_id(Random(sub_seed(seed, "account")))
        self.span = span = Span(self.epoch, profile)
        self.members = generate_members(
            seed, profile.users, self.epoch, profile.history_days, profile.future_days
        )
        self.people = People(seed, self.members)
        used_ids: set[int] = set()
        definitions, instances = plan_meetings(self.members, span, seed, used_ids)
        webinars, webinar_instances = plan_webinars(self.members, span, seed, used_ids, self.people)
        self._members_by_key: dict[str, Member] = {}
        for m in self.members:
            self._members_by_key[m.user.id] = m
            self._members_by_key[m.user.email.lower()] = m
        self._users_sorted = sorted(self.members, key=lambda m: (m.user.user_created_at, m.user.id))
        self._definitions = {d.id: d for d in definitions}
        self._definitions_of: dict[str, list[Meeting]] = {}
        for d in sorted(definitions, key=lambda d: (d.start_time, d.id)):
            self._definitions_of.setdefault(d.host_id, []).append(d)
        instances.sort(key=lambda i: (i.start_time, i.uuid))
        self._instances = instances
        self._starts = [i.start_time.timestamp() for i in instances]
        self._by_uuid = {inst.uuid: n for n, inst in enumerate(instances)}
        self._of_host: dict[str, list[int]] = {}
        self._of_meeting: dict[int, list[int]] = {}
        for n, inst in enumerate(instances):
            self._of_host.setdefault(inst.host_id, []).append(n)
            self._of_meeting.setdefault(inst.id, []).append(n)
        self._webinars = {w.id: w for w in webinars}
        webinar_instances.sort(key=lambda i: (i.start_time, i.uuid))
        self._webinar_instances = webinar_instances
        self._webinar_by_uuid = {w.uuid: w for w in webinar_instances}
        self.activity = Activity(seed, self.members, self._hosting(webinar_instances))
        self._users_at = lru_cache(maxsize=8)(self._build_users_at)  # REST pages re-ask for one ``now``
        self._recording = lru_cache(maxsize=2048)(self._build_recording)  # texts are built once per instance

    def _hosting(self, webinar_instances: list[WebinarInstance]) -> Hosting:
        """Per member index: sorted start timestamps of everything they hosted, and the matching ends."""
        pairs: dict[str, list[tuple[float, float]]] = {}
        for n, start in enumerate(self._starts):
            inst = self._instances[n]
            pairs.setdefault(inst.host_id, []).append((start, inst.end_time.timestamp()))
        for w in webinar_instances:
            insort(pairs.setdefault(w.host_id, []), (w.start_time.timestamp(), w.end_time.timestamp()))
        index = {m.user.id: m.index for m in self.members}
        return {index[h]: ([p[0] for p in ps], [p[1] for p in ps]) for h, ps in pairs.items()}

    # -- users ---------------------------------------------------------------------------------------
    def _user_at(self, m: Member, now: datetime) -> User | None:
        user = m.timeline.at(now)
        if user is None:
            return None
        return replace(user, last_login_time=self.activity.last_login(m, now))

    def _build_users_at(self, now: datetime) -> tuple[User, ...]:
        found = (self._user_at(m, now) for m in self._users_sorted)
        return tuple(u for u in found if u is not None)

    def users(self, now: datetime, status: str | None = None) -> list[User]:
        """Users that exist at ``now`` (all statuses when ``status`` is None), by created time then id."""
        return [u for u in self._users_at(now) if status is None or u.status == status]

    def user(self, user_id_or_email: str, now: datetime) -> User | None:
        m = self._members_by_key.get(user_id_or_email) or self._members_by_key.get(user_id_or_email.lower())
        return None if m is None else self._user_at(m, now)

    # -- meeting definitions -------------------------------------------------------------------------
    def _definition_at(self, meeting: Meeting, now: datetime) -> Meeting | None:
        if meeting.created_at > now or (meeting.deleted_at is not None and meeting.deleted_at <= now):
            return None
        shown = as_of(meeting, now)
        if meeting.type in (3, 8):
            past = self.instances_of_meeting(meeting.id, now)
            if past:
                shown = replace(shown, uuid=past[-1].uuid)
        return shown

    def _listed(
        self,
        mtype: int,
        created: datetime,
        start: datetime,
        occurrences: tuple[datetime, ...],
        mid: int,
        now: datetime,
    ) -> bool:
        if mtype in (8, 9) and occurrences:
            last = occurrences[-1]
        elif mtype == 3:
            past = self.instances_of_meeting(mid, now)
            last = past[-1].start_time if past else created
        else:
            last = start
        return now < last + EXPIRY[mtype]

    def scheduled_meetings(self, user_id: str, now: datetime) -> list[Meeting]:
        """The host's type 2/3/8 definitions listed at ``now`` (not deleted, not expired)."""
        m = self._members_by_key.get(user_id)
        if m is None:
            return []
        out = []
        for d in self._definitions_of.get(m.user.id, []):
            shown = self._definition_at(d, now)
            if shown is not None and self._listed(
                d.type, d.created_at, d.start_time, d.occurrences, d.id, now
            ):
                out.append(shown)
        return out

    def meeting(self, meeting_id: int, now: datetime) -> Meeting | None:
        d = self._definitions.get(meeting_id)
        return None if d is None else self._definition_at(d, now)

    # -- instances -----------------------------------------------------------------------------------
    @staticmethod
    def _visible(inst: MeetingInstance | WebinarInstance, now: datetime, reported_only: bool) -> bool:
        return inst.end_time <= now and (not reported_only or inst.report_ready_at <= now)

    def instances_in_window(
        self, start: datetime, end: datetime, now: datetime, *, reported_only: bool
    ) -> list[MeetingInstance]:
        lo = bisect_left(self._starts, start.timestamp())
        hi = bisect_left(self._starts, end.timestamp())
        return [i for i in self._instances[lo:hi] if self._visible(i, now, reported_only)]

    def instances_of_host(
        self, user_id: str, start: datetime, end: datetime, now: datetime, *, reported_only: bool
    ) -> list[MeetingInstance]:
        m = self._members_by_key.get(user_id)
        if m is None:
            return []
        indexes = self._of_host.get(m.user.id, [])
        lo = bisect_left(indexes, bisect_left(self._starts, start.timestamp()))
        hi = bisect_left(indexes, bisect_left(self._starts, end.timestamp()))
        found = (self._instances[n] for n in indexes[lo:hi])
        return [i for i in found if self._visible(i, now, reported_only)]

    def instance(self, uuid: str, now: datetime) -> MeetingInstance | None:
        n = self._by_uuid.get(uuid)
        if n is None or not self._visible(self._instances[n], now, False):
            return None
        return self._instances[n]

    def instances_of_meeting(self, meeting_id: int, now: datetime) -> list[MeetingInstance]:
        found = (self._instances[n] for n in self._of_meeting.get(meeting_id, []))
        return [i for i in found if self._visible(i, now, False)]

    def participants(self, instance: MeetingInstance, now: datetime) -> list[Participant]:
        """Join segments of an ended instance (none before it ends), by join_time then user_id."""
        if instance.end_time > now:
            return []
        return meeting_participants(self.people, instance)

    # -- webinars ------------------------------------------------------------------------------------
    def webinars(self, user_id: str, now: datetime) -> list[Webinar]:
        m = self._members_by_key.get(user_id)
        if m is None:
            return []
        found = [
            self._webinar_at(w, now)
            for w in self._webinars.values()
            if w.host_id == m.user.id
            and w.created_at <= now
            and self._listed(w.type, w.created_at, w.start_time, w.occurrences, w.id, now)
        ]
        return sorted(found, key=lambda w: (w.start_time, w.id))

    def webinar(self, webinar_id: int, now: datetime) -> Webinar | None:
        w = self._webinars.get(webinar_id)
        return self._webinar_at(w, now) if w is not None and w.created_at <= now else None

    def _webinar_at(self, webinar: Webinar, now: datetime) -> Webinar:
        """A recurring webinar shows its latest held instance's uuid, as a recurring meeting does (Zoom: "each
        webinar instance generates a webinar UUID"; before the first is held, the definition's own)."""
        if webinar.type == 9:
            past = self.webinar_instances_of(webinar.id, now)
            if past:
                return replace(webinar, uuid=max(past, key=lambda i: i.start_time).uuid)
        return webinar

    def webinar_instance(self, uuid: str, now: datetime) -> WebinarInstance | None:
        w = self._webinar_by_uuid.get(uuid)
        return w if w is not None and self._visible(w, now, False) else None

    def webinar_instances_of(self, webinar_id: int, now: datetime) -> list[WebinarInstance]:
        return [w for w in self._webinar_instances if w.id == webinar_id and self._visible(w, now, False)]

    def webinar_instances_of_host(
        self, user_id: str, start: datetime, end: datetime, now: datetime, *, reported_only: bool
    ) -> list[WebinarInstance]:
        m = self._members_by_key.get(user_id)
        if m is None:
            return []
        return [
            w
            for w in self._webinar_instances
            if w.host_id == m.user.id and start <= w.start_time < end and self._visible(w, now, reported_only)
        ]

    def webinar_participants(self, instance: WebinarInstance, now: datetime) -> list[Participant]:
        if instance.end_time > now:
            return []
        return webinar_participants(self.people, instance, self._webinars[instance.id].created_at)

    def webinar_registrants(self, instance: WebinarInstance, now: datetime) -> list[Registrant]:
        """Registrants who had registered by ``now`` (``attended`` is only known once it ended)."""
        created = self._webinars[instance.id].created_at
        rows = webinar_registrants(instance.seed, instance.registrants_count, created, instance.start_time)
        if instance.end_time > now:
            rows = [replace(r, attended=False) for r in rows if r.create_time <= now]
        return rows

    # -- recordings, reports, logs -------------------------------------------------------------------
    @staticmethod
    def recording_ready_at(inst: MeetingInstance) -> datetime:
        return inst.end_time + timedelta(minutes=5) + (inst.end_time - inst.start_time) / 2

    def recordings(self, user_id: str, start: datetime, end: datetime, now: datetime) -> list[Recording]:
        """Cloud recordings of the host's instances started in [start, end), once processed."""
        found = self.instances_of_host(user_id, start, end, now, reported_only=False)
        return [
            self.recording(i, now) for i in found if i.has_recording and self.recording_ready_at(i) <= now
        ]

    def recording(self, inst: MeetingInstance, now: datetime) -> Recording:
        """The recording of one instance as listed at ``now``: its transcript and captions "processing"
        until ``transcript_delay_minutes`` after the rest (the profile's; 0: all ready together)."""
        recording = self._recording(inst)
        delay = timedelta(minutes=self.profile.transcript_delay_minutes)
        if not delay or self.recording_ready_at(inst) + delay <= now:
            return recording
        files = tuple(
            replace(f, status="processing") if f.file_type in ("TRANSCRIPT", "CC") else f
            for f in recording.files
        )
        return replace(recording, files=files)

    def _build_recording(self, inst: MeetingInstance) -> Recording:
        names = tuple(dict.fromkeys(p.name for p in meeting_participants(self.people, inst)))[:12]
        return recording_of(inst, names, self.profile.media_scale)

    def daily_usage(self, year: int, month: int, now: datetime) -> list[DailyUsage]:
        last_day = min(date(year, month, calendar.monthrange(year, month)[1]), now.date())
        out = []
        day = date(year, month, 1)
        while day <= last_day:
            begin = day_start(day)
            found = self.instances_in_window(begin, begin + timedelta(days=1), now, reported_only=False)
            new_users = sum(
                1
                for m in self.members
                if begin <= m.user.user_created_at < min(now, begin + timedelta(days=1))
            )
            out.append(
                DailyUsage(
                    date=day,
                    new_users=new_users,
                    meetings=len(found),
                    participants=sum(i.participants_count for i in found),
                    meeting_minutes=sum(i.duration for i in found),
                )
            )
            day += timedelta(days=1)
        return out

    def sign_in_activity(self, start: datetime, end: datetime, now: datetime) -> list[SignInActivity]:
        return self.activity.sign_ins(start, end, now)

    def operation_logs(self, start: datetime, end: datetime, now: datetime) -> list[OperationLog]:
        return self.activity.operation_logs(start, end, now)

    # -- ground truth for tests ----------------------------------------------------------------------
    @property
    def horizon(self) -> datetime:
        """The end of generated data: the clock may go past it, nothing new appears after."""
        return self.span.horizon

    def all_instances(self, now: datetime, *, reported_only: bool = False) -> list[MeetingInstance]:
        """Every meeting instance visible at ``now``, by start_time then uuid."""
        return [i for i in self._instances if self._visible(i, now, reported_only)]

    def all_webinar_instances(self, now: datetime) -> list[WebinarInstance]:
        return [w for w in self._webinar_instances if self._visible(w, now, False)]

    def all_webinars(self) -> list[Webinar]:
        """Every webinar definition ever generated (future ones too)."""
        return sorted(self._webinars.values(), key=lambda w: (w.created_at, w.id))

    def all_definitions(self) -> list[Meeting]:
        """Every meeting definition ever generated (deleted and future ones too), as first created."""
        return sorted(self._definitions.values(), key=lambda d: (d.start_time, d.id))

    def all_participants(self, now: datetime) -> Iterator[tuple[MeetingInstance, Participant]]:
        """Every (instance, segment) pair visible at ``now``, generated lazily."""
        for inst in self.all_instances(now):
            for row in meeting_participants(self.people, inst):
                yield inst, row
