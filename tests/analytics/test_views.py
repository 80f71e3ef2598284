"""Each analytics view against rows inserted by hand; expected answers are worked out in the comments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from warehouse_rows import SYNCED, Tables, at

Rows = Callable[[Tables, str], list[dict[str, Any]]]


def seg(uuid: str, key: str, join: datetime, leave: datetime | None, **extra: Any) -> dict[str, Any]:
    """One meeting participant join segment; duration in seconds unless given."""
    duration = int((leave - join).total_seconds()) if leave else None
    return {
        "meeting_uuid": uuid,
        "participant_key": key,
        "join_time": join,
        "leave_time": leave,
        "duration": duration,
        **extra,
    }


def wseg(uuid: str, key: str, join: datetime, leave: datetime, **extra: Any) -> dict[str, Any]:
    row = seg(uuid, key, join, leave, **extra)
    row["webinar_uuid"] = row.pop("meeting_uuid")
    return row


def test_daily_meetings(rows: Rows) -> None:
    tables = {
        "meeting_instances": [
            {"uuid": "m1", "id": 1, "start_time": at(10, 9), "end_time": at(10, 10), "duration": 60},
            # No duration: 23:30 -> 00:15 is 45 minutes, on the day it started.
            {"uuid": "m2", "id": 2, "start_time": at(10, 23, 30), "end_time": at(11, 0, 15)},
            {"uuid": "m3", "id": 3, "start_time": at(11, 8), "duration": 30},
            {"account_id": "acc2", "uuid": "m5", "id": 5, "start_time": at(10, 12), "duration": 15},
        ],
        "meeting_participants": [
            seg("m1", "pA", at(10, 9), at(10, 9, 30)),  # 1800 s
            seg("m1", "pA", at(10, 9, 40), at(10, 10)),  # rejoin: 1200 s, same participant
            seg("m1", "pB", at(10, 9, 5), at(10, 10)),  # 3300 s
            seg("m2", "pC", at(10, 23, 30), at(11, 0, 15)),  # 2700 s
            # m4 has no instance row: it counts on the day of its first join.
            seg("m4", "pD", at(12, 10), at(12, 10, 10)),  # 600 s
            {**seg("m4", "pE", at(12, 10, 5), at(12, 10, 8)), "duration": None},  # leave - join: 180 s
            {**seg("m5", "pZ", at(10, 12), at(10, 12, 15)), "account_id": "acc2"},  # 900 s
        ],
    }
    got = rows(tables, "SELECT * FROM analytics.daily_meetings")
    assert got == [
        # 2 instances; 60 + 45 minutes; 2 + 1 participants; (1800+1200+3300+2700)/60 = 150 minutes.
        {
            "account_id": "acc1",
            "day": date(2024, 3, 10),
            "meetings": 2,
            "meeting_minutes": 105,
            "participants": 3,
            "participant_minutes": 150.0,
        },
        {
            "account_id": "acc1",
            "day": date(2024, 3, 11),
            "meetings": 1,
            "meeting_minutes": 30,
            "participants": 0,
            "participant_minutes": 0.0,
        },
        # (600 + 180) / 60 = 13 minutes.
        {
            "account_id": "acc1",
            "day": date(2024, 3, 12),
            "meetings": 1,
            "meeting_minutes": 0,
            "participants": 2,
            "participant_minutes": 13.0,
        },
        {
            "account_id": "acc2",
            "day": date(2024, 3, 10),
            "meetings": 1,
            "meeting_minutes": 15,
            "participants": 1,
            "participant_minutes": 15.0,
        },
    ]


def test_daily_meetings_days_do_not_depend_on_the_session_time_zone(rows: Rows) -> None:
    tables = {"meeting_instances": [{"uuid": "late", "start_time": at(10, 23, 30), "duration": 10}]}
    utc = rows(tables, "SELECT day FROM analytics.daily_meetings")
    la = rows(tables, "SET TimeZone = 'America/Los_Angeles'; SELECT day FROM analytics.daily_meetings")
    assert utc == la == [{"day": date(2024, 3, 10)}]


PEAK_SQL = "SELECT * FROM analytics.peak_concurrency"


def test_peak_concurrency(rows: Rows) -> None:
    m = "m1"
    tables = {
        "meeting_participants": [
            # 03-10: A overlaps B, B overlaps C, A and C do not: never more than 2 at once.
            seg(m, "A", at(10, 10), at(10, 10, 30)),
            seg(m, "B", at(10, 10, 20), at(10, 10, 50)),
            seg(m, "C", at(10, 10, 40), at(10, 11)),
            seg(m, "W", at(10, 10), at(10, 11), status="in_waiting_room"),  # not in the meeting
            # 03-11: D and E only touch (leave 12:30, join 12:30); X has no leave_time: 12:10 + 600 s.
            seg(m, "D", at(11, 12), at(11, 12, 30)),
            seg(m, "E", at(11, 12, 30), at(11, 13)),
            {**seg(m, "X", at(11, 12, 10), None), "duration": 600},
            # 03-12 -> 03-13: F and G cross midnight, H joins at 00:30: 3 on 03-13.
            seg(m, "F", at(12, 22), at(13, 2)),
            seg(m, "G", at(12, 23), at(13, 1)),
            seg(m, "H", at(13, 0, 30), at(13, 0, 40)),
            # acc2: two people carried over midnight, only leaving on 03-14: the peak is 2 at 00:00.
            {**seg(m, "F2", at(13, 23), at(14, 1)), "account_id": "acc2"},
            {**seg(m, "G2", at(13, 23, 30), at(14, 2)), "account_id": "acc2"},
            # acc3: one segment over three days.
            {**seg(m, "S", at(20, 12), at(22, 6)), "account_id": "acc3"},
        ]
    }
    got = {
        (r["account_id"], r["day"].day): (r["peak_participants"], r["peak_at"], r["segments_started"])
        for r in rows(tables, PEAK_SQL)
    }
    assert got == {
        ("acc1", 10): (2, at(10, 10, 20), 3),
        ("acc1", 11): (2, at(11, 12, 10), 3),
        ("acc1", 12): (2, at(12, 23), 2),
        ("acc1", 13): (3, at(13, 0, 30), 1),
        ("acc2", 13): (2, at(13, 23, 30), 2),
        ("acc2", 14): (2, at(14), 0),
        ("acc3", 20): (1, at(20, 12), 1),
        ("acc3", 21): (1, at(21), 0),
        ("acc3", 22): (1, at(22), 0),
    }


def test_webinar_attendance(rows: Rows) -> None:
    tables = {
        "webinar_instances": [
            {"uuid": "w1", "id": 111, "topic": "Launch", "start_time": at(10, 15)},
            {"uuid": "w3", "id": 333, "topic": "Empty", "start_time": at(12, 15)},
        ],
        "webinar_participants": [
            wseg("w1", "k1", at(10, 15), at(10, 15, 20), registrant_id="R1"),  # 1200 s
            wseg("w1", "k1", at(10, 15, 30), at(10, 16), registrant_id="R1"),  # rejoin, 1800 s
            wseg("w1", "k2", at(10, 15), at(10, 16), registrant_id="R2"),  # 3600 s
            wseg("w1", "k3", at(10, 15), at(10, 15, 30), registrant_id=""),  # panelist, 1800 s
            wseg("w1", "k4", at(10, 14, 55), at(10, 15), registrant_id="R4", status="in_waiting_room"),
        ],
        "webinar_absentees": [
            {"webinar_uuid": "w1", "id": "R3"},
            {"webinar_uuid": "w1", "id": "R4"},
            {"webinar_uuid": "w1", "id": "R5"},
            {"webinar_uuid": "w2", "id": "R6"},  # w2: known only from its absentees
            {"webinar_uuid": "w2", "id": "R7"},
        ],
    }
    got = {r["webinar_uuid"]: r for r in rows(tables, "SELECT * FROM analytics.webinar_attendance")}
    w1 = got["w1"]
    assert (w1["webinar_id"], w1["topic"], w1["start_time"]) == (111, "Launch", at(10, 15))
    # R1 (twice) and R2 attended; R3, R4, R5 absent: 5 registered, 2/5 attended.
    assert (w1["registrants"], w1["attended_registrants"], w1["absentees"]) == (5, 2, 3)
    assert w1["attendance_rate"] == 0.4
    # k1 3000 s, k2 3600 s, k3 1800 s: 8400 / 3 / 60 = 46.67 minutes.
    assert (w1["attendees"], w1["avg_minutes_in_session"]) == (3, 46.67)
    w2 = got["w2"]
    assert (w2["webinar_id"], w2["registrants"], w2["attended_registrants"], w2["attendance_rate"]) == (
        None,
        2,
        0,
        0.0,
    )
    assert (w2["attendees"], w2["avg_minutes_in_session"]) == (0, None)
    w3 = got["w3"]
    assert (w3["registrants"], w3["attendance_rate"], w3["attendees"]) == (0, None, 0)


REF = datetime(2024, 6, 30, 12, tzinfo=UTC)


def days_before(days: int, ref: datetime = REF) -> datetime:
    return ref - timedelta(days=days)


def licensed(user_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": user_id,
        "email": f"{user_id}@example.com",
        "type": 2,
        "status": "active",
        "user_created_at": datetime(2023, 1, 1, tzinfo=UTC),
        **extra,
    }


def hosted(uuid: str, host: str, start: datetime) -> dict[str, Any]:
    return {"uuid": uuid, "host_id": host, "start_time": start}


LICENSE_TABLES: Tables = {
    "users": [
        licensed("u1"),  # hosted 45 days before: idle for 30, not for 60 or 90
        licensed("u2"),  # hosted 10 days before
        licensed("u3"),  # never hosted
        licensed("u4"),  # webinar 70 days before, meeting 100 days before
        licensed("u5", type=1),  # Basic: no license
        licensed("u6", status="inactive"),  # deactivated: no seat
        licensed("u7", status="pending"),  # pending: holds a seat, never hosted
        licensed("u8", user_created_at=days_before(-5)),  # did not exist at the reference time
        licensed("u9"),  # hosted 95 days before, and 5 days AFTER the reference time
        licensed("u10"),  # hosted exactly 30 days before: not idle for 30
    ],
    "meeting_instances": [
        hosted("a", "u1", days_before(45)),
        hosted("b", "u2", days_before(10)),
        hosted("c", "u2", days_before(200)),
        hosted("d", "u4", days_before(100)),
        hosted("e", "u9", days_before(95)),
        hosted("f", "u9", days_before(-5)),
        hosted("g", "u10", days_before(30)),
    ],
    "webinar_instances": [hosted("w", "u4", days_before(70))],
}


def test_license_utilization_at_a_reference_time(rows: Rows) -> None:
    got = rows(
        LICENSE_TABLES, "SELECT * FROM analytics.license_utilization_at(TIMESTAMPTZ '2024-06-30 12:00Z')"
    )
    flags = {
        r["user_id"]: (r["days_since_last_hosted"], r["idle_30d"], r["idle_60d"], r["idle_90d"]) for r in got
    }
    assert flags == {
        "u1": (45, True, False, False),
        "u2": (10, False, False, False),
        "u3": (None, True, True, True),
        "u4": (70, True, True, False),
        "u7": (None, True, True, True),
        "u9": (95, True, True, True),
        "u10": (30, False, False, False),
    }
    assert {r["reference_time"] for r in got} == {REF}
    assert next(r for r in got if r["user_id"] == "u4")["last_hosted_at"] == days_before(70)


def run_row(run_id: str, status: str, data_as_of: datetime | None) -> dict[str, Any]:
    return {"run_id": run_id, "started_at": SYNCED, "status": status, "data_as_of": data_as_of}


def test_license_utilization_view_looks_back_from_the_last_successful_sync(rows: Rows) -> None:
    """Not from the reader's clock: REF is years before today, and the view still answers as at REF. A
    failed run (or one still running) does not move the reference time; a partial one does."""
    tables = {
        **LICENSE_TABLES,
        "_etl.runs": [
            run_row("r1", "ok", REF - timedelta(days=20)),
            run_row("r2", "partial", REF),
            run_row("r3", "failed", REF + timedelta(days=40)),
            run_row("r4", "running", None),
        ],
    }
    view = rows(tables, "SELECT * FROM analytics.license_utilization")
    assert view == rows(
        tables, "SELECT * FROM analytics.license_utilization_at(TIMESTAMPTZ '2024-06-30 12:00Z')"
    )
    assert {r["reference_time"] for r in view} == {REF}
    assert rows(tables, "SELECT analytics.reference_time() AS t") == [{"t": REF}]


def test_without_a_finished_sync_the_reference_time_is_now(rows: Rows) -> None:
    now = datetime.now(UTC)
    tables = {
        "users": [licensed("recent"), licensed("idle45")],
        "meeting_instances": [
            hosted("x", "recent", days_before(2, now)),
            hosted("y", "idle45", days_before(45, now)),
        ],
        "_etl.runs": [run_row("r1", "failed", REF)],
    }
    got = {
        r["user_id"]: (r["idle_30d"], r["idle_60d"])
        for r in rows(tables, "SELECT * FROM analytics.license_utilization")
    }
    assert got == {"recent": (False, False), "idle45": (True, False)}


def test_user_engagement(rows: Rows) -> None:
    tables = {
        "users": [
            {"id": "u1", "email": "Alice@X.com", "type": 2, "status": "active", "last_login_time": at(1)},
            {"id": "u2", "email": "bob@x.com", "type": 1, "status": "active"},
            {"id": "u3", "email": "carol@x.com", "type": 1, "status": "inactive"},
        ],
        "meeting_instances": [
            {"uuid": "m1", "host_id": "u1", "start_time": at(10, 9), "duration": 60},
            {"uuid": "m2", "host_id": "u1", "start_time": at(12, 10), "duration": 30},
            {"uuid": "m3", "host_id": "u2", "start_time": at(11, 12), "end_time": at(11, 12, 20)},
        ],
        "meeting_participants": [
            seg("m1", "k-u1", at(10, 9), at(10, 10), id="u1"),  # 3600 s
            seg("m1", "k-bob", at(10, 9, 10), at(10, 9, 40), id="", user_email="BOB@x.com"),  # by email
            seg("m1", "k-bob", at(10, 9, 45), at(10, 10), id="", user_email="BOB@x.com"),  # rejoin
            seg("m1", "k-guest", at(10, 9), at(10, 10), id="", user_email=""),  # nobody's
            seg("m3", "k-u1", at(11, 12), at(11, 12, 20), id="u1"),  # 1200 s
            seg("m3", "k-u2", at(11, 12), at(11, 12, 20), id="u2"),  # 1200 s
            seg("m2", "k-u1", at(12, 10), at(12, 10, 30), id="u1"),  # 1800 s
        ],
        "sign_in_activity": [
            {"email": "bob@X.com", "time": at(20, 8), "type": "Sign in"},
            {"email": "alice@x.com", "time": at(25, 8), "type": "Sign out"},  # not a sign-in
        ],
    }
    got = {r["user_id"]: r for r in rows(tables, "SELECT * FROM analytics.user_engagement")}
    u1, u2, u3 = got["u1"], got["u2"], got["u3"]
    assert (u1["meetings_hosted"], u1["hosted_minutes"], u1["meetings_attended"]) == (2, 90, 3)
    assert u1["attended_minutes"] == (3600 + 1200 + 1800) / 60
    assert (u1["last_hosted_at"], u1["last_attended_at"], u1["last_active_at"]) == (
        at(12, 10),
        at(12, 10, 30),
        at(12, 10, 30),
    )
    # m3 has no duration: 12:00 -> 12:20 is 20 minutes; bob attended m1 (twice) and m3.
    assert (u2["meetings_hosted"], u2["hosted_minutes"], u2["meetings_attended"]) == (1, 20, 2)
    assert u2["attended_minutes"] == (1800 + 900 + 1200) / 60
    assert (u2["last_attended_at"], u2["last_active_at"]) == (at(11, 12, 20), at(20, 8))
    assert (u3["meetings_hosted"], u3["meetings_attended"], u3["attended_minutes"], u3["last_active_at"]) == (
        0,
        0,
        0.0,
        None,
    )


def test_recording_storage(rows: Rows) -> None:
    tables = {
        "users": [{"id": "u1", "email": "a@x.com", "display_name": "Alice"}],
        "recordings": [
            {
                "meeting_uuid": "rA",
                "host_id": "u1",
                "start_time": at(10),
                "total_size": 999,
                "recording_count": 3,
            },
            {
                "meeting_uuid": "rB",
                "host_id": "u1",
                "start_time": at(12),
                "total_size": 1000,
                "recording_count": 2,
            },
            {"meeting_uuid": "rC", "host_id": "u2", "start_time": at(11), "total_size": 1},
        ],
        "recording_files": [
            {"id": "f1", "meeting_uuid": "rA", "file_size": 100},
            {"id": "f2", "meeting_uuid": "rA", "file_size": 200},
            {"id": "f3", "meeting_uuid": "rA", "file_size": 50, "deleted_time": at(13)},
            {"id": "f4", "meeting_uuid": "rC", "file_size": 2_000_000_000},
        ],
    }
    got = rows(tables, "SELECT * FROM analytics.recording_storage")
    # u2 first (more bytes). rA counts its files (300 B + 50 B in the trash), rB has no files: its total_size.
    assert [
        (
            r["host_id"],
            r["email"],
            r["recordings"],
            r["files"],
            r["storage_bytes"],
            r["storage_gb"],
            r["trash_bytes"],
        )
        for r in got
    ] == [
        ("u2", None, 1, 1, 2_000_000_000, 2.0, 0),
        ("u1", "a@x.com", 2, 4, 1300, 0.0, 50),
    ]
    assert (got[1]["first_recording_at"], got[1]["last_recording_at"]) == (at(10), at(12))


def test_sign_ins_daily(rows: Rows) -> None:
    def event(email: str, when: datetime, kind: str, client: str) -> dict[str, Any]:
        return {"email": email, "time": when, "type": kind, "client_type": client}

    tables = {
        "sign_in_activity": [
            event("a@x.com", at(10, 8), "Sign in", "Browser"),
            event("A@X.com", at(10, 9), "Sign in", "Browser"),  # same person
            event("b@x.com", at(10, 9), "Sign in", "Browser"),
            event("b@x.com", at(10, 17), "Sign out", "Browser"),
            event("c@x.com", at(10, 23, 59), "Sign in", "Mac"),
            event("a@x.com", at(11, 0, 1), "Sign in", "Mac"),
        ]
    }
    got = [tuple(r.values())[1:] for r in rows(tables, "SELECT * FROM analytics.sign_ins_daily")]
    assert got == [
        (date(2024, 3, 10), "Browser", 3, 1, 2),
        (date(2024, 3, 10), "Mac", 1, 0, 1),
        (date(2024, 3, 11), "Mac", 1, 0, 1),
    ]
