"""Webinars (type 5 one-off, type 9 recurring with a fixed time) and their past instances.

Hosts are Licensed users (Zoom sells webinars as a licence add-on). A one-off webinar's single instance
keeps the definition's uuid; each occurrence of a recurring one gets its own. ``participants_count`` is
counted from the lazily generated participants themselves, so the two always agree. The first webinar of
every account is recurring and the second one-off, both held before the clock's start (``tiny`` has both).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from random import Random

from etl.simulator.generate_ids import instance_uuid, meeting_number, sub_seed
from etl.simulator.generate_meetings import DAY, LATE_EVERY, WEEK, Span
from etl.simulator.generate_participants import People, webinar_participants
from etl.simulator.generate_users import Member
from etl.simulator.model import Webinar, WebinarInstance

TOPICS = ("Product launch", "Customer onboarding", "Quarterly roadmap", "Security briefing", "Hiring day")


def plan_webinars(
    members: list[Member], span: Span, seed: int, used_ids: set[int], people: People
) -> tuple[list[Webinar], list[WebinarInstance]]:
    """Every webinar definition and instance (unsorted) of the account."""
    rng = Random(sub_seed(seed, "webinars"))
    profile = span.profile
    months = (span.horizon - span.start).days / 30
    count = max(2, round(profile.webinars_per_month * months / 1.6))
    webinars: list[Webinar] = []
    instances: list[WebinarInstance] = []
    for k in range(count):
        if k == 0:
            first = span.work_time(rng, span.start + DAY * 2, quarter=True)
        elif k == 1:
            first = span.work_time(rng, span.epoch - DAY * 9, quarter=True)
        else:
            first = span.work_time(rng, span.start + (span.horizon - span.start) * rng.random(), quarter=True)
        created = (first - DAY * rng.uniform(7, 30)).replace(microsecond=0)
        hosts = [m for m in members if m.user.type == 2 and m.can_host(created) and m.can_host(first)]
        if k < 2:  # the guaranteed webinars get hosts who stay
            hosts = [m for m in hosts if m.active_until is None] or hosts
        if not hosts:
            continue
        host = rng.choice(hosts)
        recurring = k == 0 or (k > 1 and rng.random() < 0.3)
        occurrences = tuple(first + WEEK * i for i in range(rng.randint(3, 6))) if recurring else ()
        wid = meeting_number(rng, used_ids)
        webinar = Webinar(
            id=wid,
            uuid=instance_uuid(rng, k),
            host_id=host.user.id,
            topic=rng.choice(TOPICS),
            type=9 if recurring else 5,
            start_time=first,
            duration=rng.choice((45, 60, 90)),
            timezone=host.user.timezone,
            created_at=created,
            agenda="Presentation, then questions and answers",
            join_url=f"https://example.zoom.us/w/{wid}",
            occurrences=occurrences,
        )
        webinars.append(webinar)
        for occ in occurrences or (first,):
            serial = len(instances)
            inst = _instance(rng, span, webinar, occ, host, people, serial=serial, unique=recurring)
            if inst is not None:
                instances.append(inst)
    return webinars, instances


def _instance(
    rng: Random,
    span: Span,
    webinar: Webinar,
    occ: datetime,
    host: Member,
    people: People,
    *,
    serial: int,
    unique: bool,
) -> WebinarInstance | None:
    start = occ + timedelta(seconds=rng.randint(-60, 240))
    end = start + timedelta(seconds=int(webinar.duration * 60 * rng.uniform(0.8, 1.1)))
    if start < span.start or start >= span.horizon or not host.can_host(start):
        return None
    late = serial % LATE_EVERY == 5
    ready = end + timedelta(seconds=rng.randrange(3600, 36 * 3600) if late else rng.randrange(300, 1800))
    mean = span.profile.mean_participants
    inst = WebinarInstance(
        uuid=instance_uuid(rng, serial + 7) if unique else webinar.uuid,
        id=webinar.id,
        host_id=webinar.host_id,
        topic=webinar.topic,
        type=webinar.type,
        start_time=start,
        end_time=end,
        participants_count=0,
        registrants_count=rng.randint(max(4, round(mean * 2)), max(8, round(mean * 8))),
        report_ready_at=ready,
        seed=rng.getrandbits(63),
    )
    rows = webinar_participants(people, inst, webinar.created_at)
    return replace(inst, participants_count=len({p.user_id for p in rows}))
