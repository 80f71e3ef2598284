"""The generated account: deterministic, Zoom-shaped, with every special case present in ``tiny``,
and everything "as seen at" the simulated clock's ``now``."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from etl.simulator.clock import REFERENCE_EPOCH, default_epoch
from etl.simulator.generate import GeneratedAccount, generate
from etl.simulator.model import MeetingInstance, Participant
from etl.simulator.profiles import PROFILES, get_profile

DAY = timedelta(days=1)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def account() -> GeneratedAccount:
    return generate("tiny", epoch=REFERENCE_EPOCH)


@pytest.fixture(scope="module")
def later(account: GeneratedAccount) -> object:
    """An instant after every generated thing (the whole future window revealed, reports in)."""
    return account.horizon + 3 * DAY


@pytest.fixture(scope="module")
def rows(account: GeneratedAccount) -> list[tuple[MeetingInstance, Participant]]:
    return list(account.all_participants(account.epoch))


def fingerprint(acc: GeneratedAccount) -> str:
    """A digest of everything the account shows, lazy parts included, at and after its epoch."""
    h = hashlib.sha256()
    for now in (acc.epoch, acc.horizon + 3 * DAY):
        parts: list[object] = [acc.account_id, acc.users(now)]
        for u in acc.users(now):
            parts += [acc.scheduled_meetings(u.id, now), acc.webinars(u.id, now)]
            parts.append(acc.recordings(u.id, now - 60 * DAY, now, now))
        for inst in acc.all_instances(now):
            parts += [inst, acc.participants(inst, now)]
        for winst in acc.all_webinar_instances(now):
            parts += [winst, acc.webinar_participants(winst, now), acc.webinar_registrants(winst, now)]
        parts.append(acc.daily_usage(now.year, now.month, now))
        parts.append(acc.sign_in_activity(now - 7 * DAY, now, now))
        parts.append(acc.operation_logs(now - 60 * DAY, now, now))
        h.update(repr(parts).encode())
    return h.hexdigest()


# -- determinism -----------------------------------------------------------------------------------


def test_same_seed_same_account_including_lazy_parts(account: GeneratedAccount) -> None:
    assert fingerprint(generate("tiny", 42, epoch=REFERENCE_EPOCH)) == fingerprint(account)


def test_another_seed_another_account(account: GeneratedAccount) -> None:
    other = generate("tiny", 7, epoch=REFERENCE_EPOCH)
    assert other.account_id != account.account_id
    assert fingerprint(other) != fingerprint(account)


def test_deterministic_across_processes_with_different_hash_salts(account: GeneratedAccount) -> None:
    code = (
        "from tests.simulator.test_generate import fingerprint, REFERENCE_EPOCH;"
        " from etl.simulator.generate import generate;"
    )
    code += "print(fingerprint(generate('tiny', 42, epoch=REFERENCE_EPOCH)))"
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-c", code]
    out = subprocess.run(run, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == fingerprint(account)


def test_lazy_participants_do_not_depend_on_call_order(account: GeneratedAccount) -> None:
    now = account.epoch
    instances = account.all_instances(now)
    forward = [account.participants(i, now) for i in instances]
    backward = [account.participants(i, now) for i in reversed(instances)][::-1]
    assert forward == backward


def test_default_epoch_is_the_current_utc_day_and_the_account_moves_with_it() -> None:
    before = default_epoch()
    today = generate("tiny")
    assert today.epoch in (before, default_epoch())  # the same unless 15:00 UTC passed in between
    assert today.epoch <= datetime.now(UTC) < today.epoch + DAY
    shifted = generate("tiny", epoch=REFERENCE_EPOCH + 7 * DAY)
    assert shifted.epoch == REFERENCE_EPOCH + 7 * DAY
    assert all(i.start_time >= shifted.epoch - 30 * DAY for i in shifted.all_instances(shifted.horizon))


def test_profiles_are_sized_as_documented() -> None:
    assert [PROFILES[n].users for n in ("tiny", "demo", "bench", "large")] == sorted(
        PROFILES[n].users for n in PROFILES
    )
    assert all(p.future_days >= 14 for p in PROFILES.values())
    assert get_profile("tiny") is not PROFILES["tiny"]
    with pytest.raises(ValueError, match="unknown simulator profile 'huge'"):
        get_profile("huge")


# -- users -----------------------------------------------------------------------------------------


def test_users_ids_emails_types_and_statuses(account: GeneratedAccount) -> None:
    users = account.users(account.epoch)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", u.id) for u in users)
    assert len({u.email for u in users}) == len(users)
    assert {u.type for u in users} == {1, 2}
    assert {u.status for u in users} == {"active", "inactive", "pending"}
    assert next(u for u in users if u.status == "pending").last_login_time is None
    assert account.users(account.epoch, status="pending") == [u for u in users if u.status == "pending"]


def test_users_created_after_epoch_appear_on_advance(account: GeneratedAccount, later: object) -> None:
    now_ids = {u.id for u in account.users(account.epoch)}
    later_users = account.users(later)  # type: ignore[arg-type]
    new = [u for u in later_users if u.id not in now_ids]
    assert new and all(u.user_created_at > account.epoch for u in new)
    assert account.user(new[0].id, account.epoch) is None
    assert account.user(new[0].email.upper(), later) == new[0]  # type: ignore[arg-type]


def test_user_edits_and_deactivations_on_both_sides_of_the_epoch(account: GeneratedAccount) -> None:
    changes = [(m, c) for m in account.members for c in m.timeline.changes]
    kinds = {
        (dict(c.changes).get("status"), "dept" in dict(c.changes), c.at > account.epoch) for _, c in changes
    }
    assert (None, True, False) in kinds and (None, True, True) in kinds  # dept edits before and after
    assert ("inactive", False, False) in kinds and ("inactive", False, True) in kinds
    assert any(dict(c.changes).get("type") == 2 for _, c in changes)  # a Basic -> Licensed upgrade
    m, change = next(
        (m, c) for m, c in changes if dict(c.changes).get("status") == "inactive" and c.at > account.epoch
    )
    before = account.user(m.user.id, change.at - timedelta(seconds=1))
    after = account.user(m.user.id, change.at)
    assert before is not None and after is not None
    assert (before.status, after.status) == ("active", "inactive")


def test_users_sorted_by_created_time_then_id(account: GeneratedAccount, later: object) -> None:
    users = account.users(later)  # type: ignore[arg-type]
    assert users == sorted(users, key=lambda u: (u.user_created_at, u.id))


def test_dormant_user_last_login_long_ago_and_hosts_nothing_since(account: GeneratedAccount) -> None:
    now = account.epoch
    logins = {u.id: u.last_login_time for u in account.users(now, status="active")}
    dormant = [uid for uid, t in logins.items() if t is not None and t < now - 35 * DAY]
    assert dormant
    for uid in dormant:
        assert not account.instances_of_host(uid, logins[uid] + DAY, now, now, reported_only=False)  # type: ignore[operator]


# -- meetings and instances ------------------------------------------------------------------------


def test_every_meeting_type_and_recurring_instances_share_the_id(
    account: GeneratedAccount, later: object
) -> None:
    instances = account.all_instances(account.epoch)
    assert {i.type for i in instances} == {1, 2, 3, 8}
    by_id = Counter(i.id for i in instances if i.type == 8)
    mid, count = by_id.most_common(1)[0]
    assert count >= 15
    uuids = [i.uuid for i in account.instances_of_meeting(mid, account.epoch)]
    assert len(uuids) == len(set(uuids)) == count
    instant = next(i for i in instances if i.type == 1)
    assert account.meeting(instant.id, later) is None  # type: ignore[arg-type]
    assert account.instances_of_meeting(instant.id, account.epoch) == [instant]
    one_off = next(i for i in instances if i.type == 2)
    definition = account.meeting(one_off.id, one_off.end_time)
    assert definition is not None and definition.uuid == one_off.uuid


def test_ids_and_uuids_are_zoom_shaped(account: GeneratedAccount) -> None:
    instances = account.all_instances(account.horizon)
    assert all(2**31 < i.id < 10**11 and len(str(i.id)) in (10, 11) for i in instances)
    for i in instances:
        assert len(i.uuid) == 24 and i.uuid.endswith("==")
        base64.b64decode(i.uuid, validate=True)
    assert len({i.uuid for i in instances}) == len(instances)
    assert any(i.uuid.startswith("/") for i in instances)
    assert any("//" in i.uuid for i in instances)
    assert any("+" in i.uuid for i in instances)


def test_awkward_uuids_are_a_real_share_on_a_bigger_account() -> None:
    instances = generate("demo", 3, epoch=REFERENCE_EPOCH).all_instances(REFERENCE_EPOCH)
    assert sum(i.uuid.startswith("/") for i in instances) >= 0.05 * len(instances)
    assert sum("//" in i.uuid for i in instances) >= 0.03 * len(instances)


def test_definitions_edited_and_deleted_over_time(account: GeneratedAccount, later: object) -> None:
    definitions = account.all_definitions()
    edited = [d for d in definitions if d.updates]
    assert any(u.at < account.epoch for d in edited for u in d.updates)
    assert any(u.at > account.epoch for d in edited for u in d.updates)
    topic_edit = next(d for d in edited if "topic" in dict(d.updates[0].changes))
    at = topic_edit.updates[0].at
    if topic_edit.deleted_at is None or topic_edit.deleted_at > at:
        shown_before, shown_after = (
            account.meeting(topic_edit.id, at - DAY),
            account.meeting(topic_edit.id, at),
        )
        assert shown_after is not None and shown_after.topic == dict(topic_edit.updates[0].changes)["topic"]
        assert shown_before is None or shown_before.topic == topic_edit.topic
    deleted = [d for d in definitions if d.deleted_at is not None]
    assert any(d.deleted_at < account.epoch for d in deleted)  # type: ignore[operator]
    assert any(d.deleted_at > account.epoch for d in deleted)  # type: ignore[operator]
    for d in deleted:
        assert d.deleted_at is not None
        assert account.meeting(d.id, d.deleted_at) is None
        assert all(i.start_time < d.deleted_at for i in account.instances_of_meeting(d.id, later))  # type: ignore[arg-type]


def test_instance_topics_follow_definition_edits(account: GeneratedAccount, later: object) -> None:
    d = next(
        d
        for d in account.all_definitions()
        if d.type == 8 and d.updates and "topic" in dict(d.updates[0].changes)
    )
    new_topic, at = dict(d.updates[0].changes)["topic"], d.updates[0].at
    for inst in account.instances_of_meeting(d.id, later):  # type: ignore[arg-type]
        assert inst.topic == (new_topic if inst.start_time >= at else d.topic)


def test_scheduled_meetings_list(account: GeneratedAccount) -> None:
    now = account.epoch
    for u in account.users(now):
        listed = account.scheduled_meetings(u.id, now)
        assert listed == sorted(listed, key=lambda m: (m.start_time, m.id))
        for m in listed:
            assert m.type in (2, 3, 8) and m.created_at <= now
            assert m.deleted_at is None or m.deleted_at > now
            if m.type == 2:
                assert m.start_time > now - 30 * DAY
            if m.type == 8:
                assert m.occurrences[-1] > now - 30 * DAY


def test_report_ready_late_share(account: GeneratedAccount) -> None:
    instances = account.all_instances(account.horizon)
    delays = [i.report_ready_at - i.end_time for i in instances]
    late = [d for d in delays if d >= timedelta(hours=1)]
    assert all(timedelta(minutes=5) <= d <= timedelta(minutes=30) for d in delays if d < timedelta(hours=1))
    assert all(d <= timedelta(hours=36) for d in late)
    assert len(late) >= 0.08 * len(delays) and late


# -- participants ----------------------------------------------------------------------------------


def test_participant_kinds(
    account: GeneratedAccount, rows: list[tuple[MeetingInstance, Participant]]
) -> None:
    user_ids = {m.user.id for m in account.members}
    internal = [p for _, p in rows if p.id]
    assert internal and all(p.id in user_ids and p.participant_user_id for p in internal)
    external = [p for _, p in rows if not p.id and p.participant_user_id]
    assert external and all(p.user_email for p in external)
    guests = [p for _, p in rows if not p.id and not p.participant_user_id]
    assert guests and any(p.user_email == "" for p in guests)
    puids: dict[str, set[str]] = {}
    for p in internal:
        puids.setdefault(p.id, set()).add(p.participant_user_id)
    assert all(len(v) == 1 for v in puids.values())  # stable per person across instances


def test_rejoins_waiting_room_same_named_guests_and_host(
    account: GeneratedAccount, rows: list[tuple[MeetingInstance, Participant]]
) -> None:
    per_person = Counter((i.uuid, p.user_id) for i, p in rows if p.status == "in_meeting")
    assert max(per_person.values()) >= 2  # rejoins: several segments of one person
    assert any(p.status == "in_waiting_room" for _, p in rows)
    guests_by_name = Counter((i.uuid, p.name) for i, p in rows if not p.participant_user_id and not p.id)
    distinct = {(i.uuid, p.name, p.user_id) for i, p in rows if not p.participant_user_id and not p.id}
    assert any(
        len({uid for (u, n, uid) in distinct if (u, n) == key}) >= 2 for key, _ in guests_by_name.items()
    )  # two different guests with the same display name in one instance
    for inst in account.all_instances(account.epoch):
        first = account.participants(inst, account.epoch)[0]
        assert first.id == inst.host_id and first.join_time == inst.start_time


def test_participant_counts_bounds_and_single_person_instances(account: GeneratedAccount) -> None:
    now = account.epoch
    counts = []
    for inst in account.all_instances(now):
        segments = account.participants(inst, now)
        assert len({p.user_id for p in segments}) == inst.participants_count
        assert all(inst.start_time <= p.join_time < p.leave_time <= inst.end_time for p in segments)
        assert segments == sorted(segments, key=lambda p: (p.join_time, p.user_id))
        keys = [(p.participant_user_id or p.user_id, p.join_time) for p in segments]
        assert len(keys) == len(set(keys))  # (participant key, join_time) is a key
        counts.append(inst.participants_count)
    assert 1 in counts and max(counts) >= 4


def test_enough_participant_rows_in_tiny(rows: list[tuple[MeetingInstance, Participant]]) -> None:
    assert 150 <= len(rows) <= 1500


# -- webinars and recordings -----------------------------------------------------------------------


def test_webinars_registrants_and_attendees(account: GeneratedAccount, later: object) -> None:
    instances = account.all_webinar_instances(account.epoch)
    assert {w.type for w in instances} == {5, 9}
    recurring = Counter(w.id for w in instances if w.type == 9)
    assert max(recurring.values()) >= 2
    absentees = attended = 0
    for w in instances:
        registrants = account.webinar_registrants(w, account.epoch)
        assert len(registrants) == w.registrants_count
        absentees += sum(not r.attended for r in registrants)
        people = account.webinar_participants(w, account.epoch)
        assert len({p.user_id for p in people}) == w.participants_count
        with_registration = {p.registrant_id for p in people if p.registrant_id}
        assert with_registration == {r.id for r in registrants if r.attended}
        attended += len(with_registration)
        assert len(with_registration) >= w.participants_count - 3  # host and panelists do not register
    assert absentees and attended
    host = account.all_webinar_instances(account.epoch)[0].host_id
    assert account.webinars(host, later) or account.webinars(host, account.epoch)  # type: ignore[arg-type]


def test_recordings_have_two_to_six_files(account: GeneratedAccount) -> None:
    now = account.epoch
    recordings = [r for u in account.users(now) for r in account.recordings(u.id, now - 40 * DAY, now, now)]
    assert recordings
    for r in recordings:
        assert 2 <= len(r.files) <= 6 and {"MP4", "M4A"} <= {f.file_type for f in r.files}
        assert r.total_size == sum(f.file_size for f in r.files) > 0
        for f in r.files:
            assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", f.id)
            assert f.meeting_id == r.uuid and r.start_time <= f.recording_start < f.recording_end
    recorded = [i for i in account.all_instances(now - DAY) if i.has_recording]
    assert len(recordings) >= len(recorded)


# -- daily usage, sign-ins, operation logs ---------------------------------------------------------


def test_daily_usage_is_computed_from_instances(account: GeneratedAccount) -> None:
    now = account.epoch + 5 * DAY + timedelta(hours=12)
    days = account.daily_usage(now.year, now.month, now)
    assert [d.date.day for d in days] == list(range(1, now.day + 1))
    instances = account.all_instances(now)
    for d in days:
        on_day = [i for i in instances if i.start_time.date() == d.date]
        assert d.meetings == len(on_day)
        assert d.participants == sum(i.participants_count for i in on_day)
        assert d.meeting_minutes == sum(i.duration for i in on_day)
    new_users = sum(d.new_users for d in account.daily_usage(2026, 11, account.horizon))
    assert new_users == sum(
        1 for u in account.users(account.horizon) if u.user_created_at.strftime("%Y%m") == "202611"
    )
    assert new_users >= 1


def test_sign_ins_match_hosting_and_last_login(account: GeneratedAccount) -> None:
    now = account.epoch
    events = account.sign_in_activity(now - 30 * DAY, now, now)
    assert events == sorted(events, key=lambda e: (e.time, e.email, e.type))
    assert {e.type for e in events} == {"Sign in", "Sign out"} and all(e.time <= now for e in events)
    users = {u.email: u for u in account.users(now)}
    signed_in = {e.email for e in events if e.type == "Sign in"}
    assert not any(users[e].status == "pending" for e in signed_in)
    for u in users.values():
        last = max((e.time for e in events if e.email == u.email and e.type == "Sign in"), default=None)
        if last is not None:
            assert u.last_login_time == last
        for inst in account.instances_of_host(u.id, now - 29 * DAY, now, now, reported_only=False):
            assert any(
                e.email == u.email and e.type == "Sign in" and e.time.date() == inst.start_time.date()
                for e in events
            ), "a host signs in on the days they host"


def test_operation_logs_record_user_edits(account: GeneratedAccount, later: object) -> None:
    logs = account.operation_logs(account.epoch - 60 * DAY, later, later)  # type: ignore[arg-type]
    assert logs == sorted(
        logs, key=lambda o: (o.time, o.operator, o.action, o.category_type, o.operation_detail)
    )
    for m in account.members:
        for change in m.timeline.changes:
            values = dict(change.changes)
            if "dept" in values and change.at >= account.epoch - 60 * DAY:
                assert any(
                    o.time == change.at and o.action == "Update" and m.user.email in o.operation_detail
                    for o in logs
                )
    assert {"Add", "Update", "Deactivate"} <= {o.action for o in logs}
    assert not [
        o
        for o in account.operation_logs(account.epoch - 60 * DAY, later, account.epoch)
        if o.time > account.epoch
    ]  # type: ignore[arg-type]


# -- visibility by now -----------------------------------------------------------------------------


def test_nothing_visible_ends_after_now(account: GeneratedAccount) -> None:
    now = account.epoch
    assert all(
        i.end_time <= now
        for i in account.instances_in_window(now - 60 * DAY, now + 60 * DAY, now, reported_only=False)
    )
    reported = account.instances_in_window(now - 60 * DAY, now, now, reported_only=True)
    assert all(i.report_ready_at <= now for i in reported)
    unreported = [i for i in account.all_instances(now) if i.report_ready_at > now]
    assert unreported and not set(unreported) & set(reported)
    future = [i for i in account.all_instances(account.horizon) if i.end_time > now]
    assert future and account.instance(future[0].uuid, now) is None
    assert account.participants(future[0], now) == []
    assert account.instance(future[0].uuid, future[0].end_time) == future[0]


def test_advancing_reveals_instances_late_reports_users_and_changes(account: GeneratedAccount) -> None:
    before, after = account.epoch, account.epoch + 2 * DAY
    assert len(account.all_instances(after)) > len(account.all_instances(before))
    late = [i for i in account.all_instances(before) if i.report_ready_at > before]
    assert late and all(
        i in account.all_instances(after, reported_only=True) for i in late if i.report_ready_at <= after
    )
    assert len(account.users(account.horizon)) > len(account.users(before))
    assert account.users(account.horizon, status="inactive") != account.users(before, status="inactive")


def test_windows_are_half_open_and_sorted(account: GeneratedAccount) -> None:
    now = account.epoch
    everything = account.all_instances(now)
    assert everything == sorted(everything, key=lambda i: (i.start_time, i.uuid))
    pivot = everything[len(everything) // 2].start_time
    first = account.instances_in_window(now - 60 * DAY, pivot, now, reported_only=False)
    second = account.instances_in_window(pivot, now, now, reported_only=False)
    assert first + second == everything
    for u in account.users(now):
        mine = account.instances_of_host(u.id, now - 60 * DAY, now, now, reported_only=False)
        assert mine == [i for i in everything if i.host_id == u.id]
