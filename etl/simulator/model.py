"""The simulated account's entities, named as Zoom's REST API names them.

The generator (``generate.py``) builds these from a seed and a profile; the REST and GraphQL front ends
(``rest.py``, ``graphql.py``) only read them, always through ``Account`` and always "as seen at" the
simulated clock's ``now``: an entity whose time has not come yet is invisible, so advancing the clock makes
new meetings, late report data, user edits and deactivations appear.

Times are timezone-aware UTC ``datetime`` objects here; each front end formats them the way Zoom does
(ISO with ``Z``, and ``MM/DD/YYYY HH:MM`` where Zoom's report lists use it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from itertools import chain
from typing import Protocol


@dataclass(frozen=True, slots=True)
class User:
    """A user as ``GET /users/{id}`` shows it at one moment (see ``UserTimeline.at``)."""

    id: str
    email: str
    first_name: str
    last_name: str
    display_name: str
    type: int  # 1 Basic, 2 Licensed
    status: str  # active | inactive | pending
    dept: str
    role_id: str
    timezone: str
    pmi: int
    language: str
    user_created_at: datetime
    last_login_time: datetime | None
    last_client_version: str
    employee_unique_id: str
    verified: int


@dataclass(frozen=True, slots=True)
class UserChange:
    """From ``at`` on, the user's fields in ``changes`` have these values (dept edits, deactivation...)."""

    at: datetime
    changes: tuple[tuple[str, object], ...]


@dataclass(frozen=True, slots=True)
class UserTimeline:
    """A user's initial state and every later change; ``at(now)`` is the user Zoom shows at ``now``."""

    initial: User
    changes: tuple[UserChange, ...] = ()

    def at(self, now: datetime) -> User | None:
        """The user as of ``now``, or None before the user was created."""
        if self.initial.user_created_at > now:
            return None
        values = dict(chain.from_iterable(c.changes for c in self.changes if c.at <= now))
        return replace(self.initial, **values) if values else self.initial  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Meeting:
    """A scheduled meeting definition (``GET /users/{id}/meetings?type=scheduled``, ``GET /meetings/{id}``).

    ``type``: 2 scheduled, 3 recurring without fixed time, 8 recurring with fixed time. A recurring meeting
    has many instances that share ``id`` and each have their own ``uuid``.
    """

    id: int
    uuid: str  # uuid of the definition (Zoom returns the latest instance's for recurring meetings)
    host_id: str
    topic: str
    type: int
    start_time: datetime  # first occurrence
    duration: int  # minutes, as scheduled
    timezone: str
    created_at: datetime
    agenda: str
    join_url: str
    occurrences: tuple[datetime, ...] = ()  # recurring only: planned start times
    updates: tuple[UserChange, ...] = ()  # topic/agenda/duration edits over time, same shape as users'
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MeetingInstance:
    """One past meeting instance (an occurrence that started and ended), keyed by ``uuid``."""

    uuid: str
    id: int  # the meeting id, shared by every instance of a recurring meeting
    host_id: str
    topic: str
    type: int
    start_time: datetime
    end_time: datetime
    participants_count: int  # unique participants
    has_recording: bool
    has_screen_share: bool
    report_ready_at: datetime  # report endpoints show it only from here on (late-arriving report data)
    seed: int  # participants, recording files and QoS are generated lazily from it

    @property
    def duration(self) -> int:
        """Minutes, as Zoom's report and past-meeting endpoints count them."""
        return max(1, round((self.end_time - self.start_time).total_seconds() / 60))


@dataclass(frozen=True, slots=True)
class Participant:
    """One join segment of one participant in one instance: a rejoin is a new segment (a new row)."""

    id: str  # the participant's Zoom user id if signed in to this account, else ""
    user_id: str  # per-meeting participant id
    participant_user_id: str  # stable id; "" for guests
    name: str
    user_email: str  # "" for many guests
    join_time: datetime
    leave_time: datetime
    status: str  # in_meeting | in_waiting_room
    failover: bool
    customer_key: str
    registrant_id: str
    bo_mtg_id: str

    @property
    def duration(self) -> int:
        """Seconds in this segment, as Zoom's participant reports count them."""
        return int((self.leave_time - self.join_time).total_seconds())


@dataclass(frozen=True, slots=True)
class Webinar:
    """A webinar definition (``GET /users/{id}/webinars``, ``GET /webinars/{id}``); type 5, 6 or 9."""

    id: int
    uuid: str
    host_id: str
    topic: str
    type: int
    start_time: datetime
    duration: int
    timezone: str
    created_at: datetime
    agenda: str
    join_url: str
    occurrences: tuple[datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class WebinarInstance:
    """One past webinar instance; participants and registrants are generated lazily from ``seed``."""

    uuid: str
    id: int
    host_id: str
    topic: str
    type: int
    start_time: datetime
    end_time: datetime
    participants_count: int
    registrants_count: int
    report_ready_at: datetime
    seed: int

    @property
    def duration(self) -> int:
        return max(1, round((self.end_time - self.start_time).total_seconds() / 60))


@dataclass(frozen=True, slots=True)
class Registrant:
    id: str
    email: str
    first_name: str
    last_name: str
    status: str  # approved | pending | denied
    create_time: datetime
    attended: bool


# Zoom's OpenAPI file: a file of these types "does not have" id, status, file_size, recording_type or
# play_url. The model keeps them (the account's truth); the REST and GraphQL renderings leave them out.
ID_LESS_FILE_TYPES = frozenset({"CC", "TIMELINE"})


@dataclass(frozen=True, slots=True)
class RecordingFile:
    id: str
    meeting_id: str  # the instance uuid, as Zoom puts it
    recording_start: datetime
    recording_end: datetime
    file_type: str  # MP4, M4A, CHAT, TRANSCRIPT, ...
    file_extension: str
    file_size: int
    recording_type: str
    status: str
    content: str = (
        ""  # text files (TRANSCRIPT, CC, CHAT, TIMELINE): their text; file_size is its UTF-8 length
    )
    seed: int = 0  # binary files: what their bytes are drawn from (etl.simulator.media)


@dataclass(frozen=True, slots=True)
class Recording:
    """The cloud recording of one instance (``GET /users/{id}/recordings`` item)."""

    uuid: str
    id: int
    host_id: str
    topic: str
    type: int
    start_time: datetime
    duration: int
    total_size: int
    files: tuple[RecordingFile, ...]


@dataclass(frozen=True, slots=True)
class DailyUsage:
    date: date
    new_users: int
    meetings: int
    participants: int
    meeting_minutes: int


@dataclass(frozen=True, slots=True)
class SignInActivity:
    email: str
    time: datetime
    type: str  # "Sign in" | "Sign out"
    ip_address: str
    client_type: str
    version: str


@dataclass(frozen=True, slots=True)
class OperationLog:
    time: datetime
    operator: str
    category_type: str
    action: str
    operation_detail: str


@dataclass(slots=True)
class Profile:
    """Size of a generated account."""

    name: str
    users: int
    history_days: int  # days of past meetings before the clock's start
    future_days: int  # days of meetings generated after it, revealed as the clock advances
    meetings_per_user_week: float
    mean_participants: float
    webinars_per_month: int
    all_hands: int = 0  # people invited to the owner's all-hands every 4 weeks (0: none); 300+ rows a report
    # Recording files are real bytes (etl.simulator.media): video and audio sizes are Zoom's bytes per minute
    # divided by this, so an account's recordings can be downloaded in a test or a benchmark.
    media_scale: int = 1
    # TRANSCRIPT and CC files stay "processing" this long after the rest of the recording is listed.
    transcript_delay_minutes: int = 0
    extra: dict[str, object] = field(default_factory=dict)


class Account(Protocol):
    """What the front ends may ask of a generated account. Every listing is "as seen at ``now``".

    Listings return entities sorted the way Zoom pages them (stable order, so page tokens and cursors
    can be offsets into them). Lazy parts (participants, registrants, recording files, activity logs)
    are generated on demand from seeds, so a large account does not live in memory.
    """

    account_id: str
    seed: int
    epoch: datetime  # the clock's starting point

    def users(self, now: datetime, status: str | None = None) -> list[User]: ...

    def user(self, user_id_or_email: str, now: datetime) -> User | None: ...

    def scheduled_meetings(self, user_id: str, now: datetime) -> list[Meeting]: ...

    def meeting(self, meeting_id: int, now: datetime) -> Meeting | None: ...

    def instances_of_host(
        self, user_id: str, start: datetime, end: datetime, now: datetime, *, reported_only: bool
    ) -> list[MeetingInstance]: ...

    def instances_in_window(
        self, start: datetime, end: datetime, now: datetime, *, reported_only: bool
    ) -> list[MeetingInstance]: ...

    def instance(self, uuid: str, now: datetime) -> MeetingInstance | None: ...

    def instances_of_meeting(self, meeting_id: int, now: datetime) -> list[MeetingInstance]: ...

    def participants(self, instance: MeetingInstance, now: datetime) -> list[Participant]: ...

    def webinars(self, user_id: str, now: datetime) -> list[Webinar]: ...

    def webinar(self, webinar_id: int, now: datetime) -> Webinar | None: ...

    def webinar_instance(self, uuid: str, now: datetime) -> WebinarInstance | None: ...

    def webinar_instances_of(self, webinar_id: int, now: datetime) -> list[WebinarInstance]: ...

    def webinar_instances_of_host(
        self, user_id: str, start: datetime, end: datetime, now: datetime, *, reported_only: bool
    ) -> list[WebinarInstance]: ...

    def webinar_participants(self, instance: WebinarInstance, now: datetime) -> list[Participant]: ...

    def webinar_registrants(self, instance: WebinarInstance, now: datetime) -> list[Registrant]: ...

    def recordings(self, user_id: str, start: datetime, end: datetime, now: datetime) -> list[Recording]: ...

    def recording_ready_at(self, inst: MeetingInstance) -> datetime: ...

    def recording(self, inst: MeetingInstance, now: datetime) -> Recording:
        """One instance's recording as listed at ``now`` (listed from ``recording_ready_at`` on)."""
        ...

    def daily_usage(self, year: int, month: int, now: datetime) -> list[DailyUsage]: ...

    def sign_in_activity(self, start: datetime, end: datetime, now: datetime) -> list[SignInActivity]: ...

    def operation_logs(self, start: datetime, end: datetime, now: datetime) -> list[OperationLog]: ...
