"""Participants, registrants and recording files, generated lazily from one instance's ``seed``.

Nothing here is stored: each call rebuilds the same rows from the instance's seed, so the ``large`` profile
(millions of rows) costs no memory, and two calls (or two processes) always agree.

Who joins an instance: the host (one segment from start to end, sometimes a rejoin), then people drawn
from the meeting's roster (the same colleagues and partners come back to the same recurring meeting):
signed-in users of the account (``id`` = their user id), signed-in people from other accounts (``id`` empty,
stable ``participant_user_id``), and guests (no ids at all, often no email, often a shared name such as
"iPhone"). Some people rejoin (several segments, same per-meeting ``user_id``), some wait in the waiting
room first (an ``in_waiting_room`` segment). No segment starts before the instance's start or ends after
its end, so every participant of an ended instance is visible.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from random import Random

from etl.simulator.generate_ids import file_id, stable_zoom_id, sub_seed, zoom_id
from etl.simulator.generate_users import FIRST_NAMES, LAST_NAMES, Member
from etl.simulator.media import text_of
from etl.simulator.model import (
    MeetingInstance,
    Participant,
    Recording,
    RecordingFile,
    Registrant,
    WebinarInstance,
)

GUEST_NAMES = ("iPhone", "Guest", "Conference Room", "Galaxy S23", "Call-in User")
PARTNER_DOMAINS = ("partner.example.net", "client.example.org", "agency.example.net")
GUEST_PAIR_EVERY = 16  # instances whose seed is a multiple of this (and 3+ people) have a same-named pair
MAX_AUDIENCE = 80  # people an ordinary meeting invites at most; more than this is an all-hands
FIRST_USER_ID = 16778240  # Zoom's per-meeting participant ids look like this, in steps of 1024

# (identity) = (id, participant_user_id, name, email, registrant_id)
Person = tuple[str, str, str, str, str]


class People:
    """Everyone who can join a meeting: the account's users, an external pool, and one-off guests."""

    def __init__(self, seed: int, members: list[Member]) -> None:
        self.seed = seed
        self.members = members
        self.by_id = {m.user.id: m for m in members}
        self.by_dept: dict[str, list[int]] = {}
        for m in members:
            self.by_dept.setdefault(m.user.dept, []).append(m.index)
        self.external_pool = max(30, 2 * len(members))
        self._roster = lru_cache(maxsize=4096)(self._build_roster)
        self._puid = lru_cache(maxsize=65536)(self._build_puid)

    def _build_puid(self, key: str) -> str:
        return stable_zoom_id(self.seed, "participant-user-id", key)

    def internal(self, m: Member) -> Person:
        return (m.user.id, self._puid(m.user.id), m.user.display_name, m.user.email, "")

    def external(self, k: int) -> Person:
        rng = Random(sub_seed(self.seed, "external", k))
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}.{k}@{rng.choice(PARTNER_DOMAINS)}".lower()
        return ("", self._puid(email), f"{first} {last}", email, "")

    @staticmethod
    def guest(rng: Random) -> Person:
        if rng.random() < 0.45:
            name = rng.choice(GUEST_NAMES)
        else:
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)[0]}."
        email = (
            "" if rng.random() < 0.55 else f"{name.split()[0].lower()}{rng.randrange(10**4)}@mail.example.org"
        )
        return ("", "", name, email, "")

    def _build_roster(self, meeting_id: int, host_index: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The colleagues (member indexes) and partners (external indexes) a meeting invites, in order."""
        rng = Random(sub_seed(self.seed, "roster", meeting_id))
        host = self.members[host_index]
        mates = [i for i in self.by_dept.get(host.user.dept, []) if i != host_index]
        rng.shuffle(mates)
        others = [rng.randrange(len(self.members)) for _ in range(12)]
        internal = tuple(dict.fromkeys(i for i in mates[:40] + others if i != host_index))
        external = tuple(rng.randrange(self.external_pool) for _ in range(8))
        return internal, external

    def roster(self, meeting_id: int, host_index: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return self._roster(meeting_id, host_index)


def _segments(rng: Random, total: int, *, host: bool) -> list[tuple[int, int, str, bool]]:
    """One person's (join, leave, status, failover) offsets in seconds within an instance of ``total`` s."""
    if host:
        arrive, leave = 0, total
    else:
        arrive = int(rng.uniform(0, 0.6) * total) if rng.random() < 0.15 else int(rng.expovariate(1 / 90))
        leave = (
            int(rng.uniform(0.3, 1.0) * total) if rng.random() < 0.2 else total - int(rng.expovariate(1 / 60))
        )
        arrive = min(max(0, arrive), max(0, total - 30))
        leave = min(total, max(leave, arrive + min(30, total - arrive)))
    out: list[tuple[int, int, str, bool]] = []
    if not host and leave - arrive > 120 and rng.random() < 0.08:
        wait = rng.randint(5, 90)
        out.append((arrive, arrive + wait, "in_waiting_room", False))
        arrive += wait
    pieces = rng.choice((2, 2, 3)) if leave - arrive > 600 and rng.random() < (0.1 if host else 0.14) else 1
    for k in range(pieces):
        if k == pieces - 1:
            out.append((arrive, leave, "in_meeting", k > 0 and rng.random() < 0.3))
            break
        cut = arrive + int((leave - arrive) * rng.uniform(0.2, 0.7) / (pieces - k))
        out.append((arrive, cut, "in_meeting", k > 0 and rng.random() < 0.3))
        arrive = cut + rng.randint(10, 120)
    return out


def _rows(
    rng: Random, start: datetime, end: datetime, persons: list[Person], breakout: bool
) -> list[Participant]:
    total = int((end - start).total_seconds())
    rows: list[Participant] = []
    bo = zoom_id(rng) if breakout else ""
    for k, (pid, puid, name, email, registrant) in enumerate(persons):
        user_id = str(FIRST_USER_ID + 1024 * k)
        for join, leave, status, failover in _segments(rng, total, host=k == 0):
            rows.append(
                Participant(
                    id=pid,
                    user_id=user_id,
                    participant_user_id=puid,
                    name=name,
                    user_email=email,
                    join_time=start + timedelta(seconds=join),
                    leave_time=start + timedelta(seconds=leave),
                    status=status,
                    failover=failover,
                    customer_key="",
                    registrant_id=registrant,
                    bo_mtg_id=bo if k and status == "in_meeting" and join > total // 3 else "",
                )
            )
    rows.sort(key=lambda p: (p.join_time, p.user_id))
    return rows


def meeting_participants(people: People, inst: MeetingInstance) -> list[Participant]:
    """Every join segment of ``inst``, sorted by join_time then user_id; ``participants_count`` people."""
    rng = Random(inst.seed)
    host = people.by_id[inst.host_id]
    internal, external = people.roster(inst.id, host.index)
    if inst.participants_count > MAX_AUDIENCE:  # the whole company is invited, not the host's circle
        internal = tuple(i for i in range(len(people.members)) if i != host.index)
    internal_left = [
        i for i in rng.sample(internal, len(internal)) if people.members[i].can_host(inst.start_time)
    ]
    external_left = list(external)
    rng.shuffle(external_left)
    persons = [people.internal(host)]
    if inst.seed % GUEST_PAIR_EVERY == 0 and inst.participants_count >= 3:
        # two guests under one default name ("iPhone", "Guest"): they must not collapse into one
        name = GUEST_NAMES[inst.seed // GUEST_PAIR_EVERY % len(GUEST_NAMES)]
        persons += [("", "", name, "", ""), ("", "", name, "", "")]
    seen = {host.user.id}
    while len(persons) < inst.participants_count:
        roll = rng.random()
        if roll < 0.6 and internal_left:
            member = people.members[internal_left.pop()]
            persons.append(people.internal(member))
        elif roll < 0.82:
            k = external_left.pop() if external_left else rng.randrange(people.external_pool)
            person = people.external(k)
            if person[1] in seen:
                continue
            seen.add(person[1])
            persons.append(person)
        else:
            guest = people.guest(rng)
            persons.append(guest)
            if len(persons) < inst.participants_count and rng.random() < 0.35:
                # another device or person under the same default name ("iPhone"): must not collapse
                persons.append(("", "", guest[2], "", ""))
    return _rows(
        rng, inst.start_time, inst.end_time, persons, inst.participants_count >= 6 and rng.random() < 0.1
    )


def webinar_registrants(inst_seed: int, count: int, created: datetime, start: datetime) -> list[Registrant]:
    """One webinar instance's registrants, by create_time then id; approved ones attend 55% of the time."""
    rng = Random(sub_seed(inst_seed, "registrants"))
    out = []
    window = max(60, int((start - created).total_seconds()) - 60)
    for k in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        roll = rng.random()
        status = "approved" if roll < 0.9 else ("pending" if roll < 0.95 else "denied")
        out.append(
            Registrant(
                id=zoom_id(rng),
                email=f"{first}.{last}.{k}@attendee.example.org".lower(),
                first_name=first,
                last_name=last,
                status=status,
                create_time=created + timedelta(seconds=rng.randrange(window)),
                attended=status == "approved" and rng.random() < 0.55,
            )
        )
    out.sort(key=lambda r: (r.create_time, r.id))
    return out


def webinar_panelists(inst_seed: int) -> int:
    """How many panelists (besides the host) an instance has; fixed by its seed."""
    return Random(sub_seed(inst_seed, "panelists")).randint(0, 2)


def webinar_participants(people: People, inst: WebinarInstance, created: datetime) -> list[Participant]:
    """Host, panelists (account users, no registrant_id) and attending registrants (registrant_id set)."""
    rng = Random(inst.seed)
    host = people.by_id[inst.host_id]
    persons = [people.internal(host)]
    picks = rng.sample(range(len(people.members)), min(len(people.members), 12))
    eligible = [people.members[i] for i in picks if i != host.index]
    eligible = [m for m in eligible if m.can_host(inst.start_time)][: webinar_panelists(inst.seed)]
    persons += [people.internal(m) for m in eligible]
    for reg in webinar_registrants(inst.seed, inst.registrants_count, created, inst.start_time):
        if reg.attended:
            puid = people._puid(reg.email) if rng.random() < 0.6 else ""
            persons.append(("", puid, f"{reg.first_name} {reg.last_name}", reg.email, reg.id))
    return _rows(rng, inst.start_time, inst.end_time, persons, breakout=False)


FILE_KINDS = (  # file_type, extension, recording_type: text files, their size is their text's
    ("TRANSCRIPT", "VTT", "audio_transcript"),
    ("CHAT", "TXT", "chat_file"),
    ("TIMELINE", "JSON", "timeline"),
)
CAPTIONS = ("CC", "VTT", "closed_caption")  # with a transcript, sometimes: the same cues, no speakers
MEDIA_KINDS = (  # file_type, extension, recording_type, Zoom's bytes per minute (low, high)
    ("MP4", "MP4", "shared_screen_with_speaker_view", (4_000_000, 15_000_000)),
    ("M4A", "M4A", "audio_only", (450_000, 1_000_000)),
)


def recording_of(inst: MeetingInstance, names: tuple[str, ...] = (), media_scale: int = 1) -> Recording:
    """The cloud recording of an instance with ``has_recording``: MP4 and M4A, plus 0-4 text files.

    ``names`` speak in the transcript and write in the chat; video and audio sizes are divided by
    ``media_scale`` (their bytes are served, ``etl.simulator.media``)."""
    rng = Random(sub_seed(inst.seed, "recording"))
    rec_start = inst.start_time + timedelta(seconds=rng.randint(2, 40))
    rec_end = max(rec_start + timedelta(seconds=30), inst.end_time - timedelta(seconds=rng.randint(0, 20)))
    rec_end = min(rec_end, inst.end_time)
    minutes = max(1, round((rec_end - rec_start).total_seconds() / 60))
    text_kinds = list(rng.sample(FILE_KINDS, rng.randint(0, len(FILE_KINDS))))
    if any(k[0] == "TRANSCRIPT" for k in text_kinds) and rng.random() < 0.5:
        text_kinds.append(CAPTIONS)
    text_seed = sub_seed(inst.seed, "recording-text")
    files: list[RecordingFile] = []
    for file_type, ext, rtype, per_minute in MEDIA_KINDS:
        fid = file_id(rng)
        size = max(64, minutes * rng.randint(*per_minute) // max(1, media_scale))
        files.append(
            RecordingFile(
                fid, inst.uuid, rec_start, rec_end, file_type, ext, size, rtype, "completed", "",
                sub_seed(inst.seed, "media", fid),
            )
        )  # fmt: skip
    for file_type, ext, rtype in text_kinds:
        fid = file_id(rng)
        text = text_of(file_type, text_seed, rec_end - rec_start, names)
        files.append(
            RecordingFile(
                fid, inst.uuid, rec_start, rec_end, file_type, ext, len(text.encode()), rtype, "completed",
                text,
            )
        )  # fmt: skip
    return Recording(
        uuid=inst.uuid,
        id=inst.id,
        host_id=inst.host_id,
        topic=inst.topic,
        type=inst.type,
        start_time=inst.start_time,
        duration=inst.duration,
        total_size=sum(f.file_size for f in files),
        files=tuple(files),
    )
