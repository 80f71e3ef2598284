"""The HTML report (``zoom-etl report --html``): charts of the analytics views, the freshness of every
stream and the last runs, in one self-contained page.

``collect`` reads the views into plain dicts (summed over accounts where a sum means something), the
CLI reads ``etl.status.read_status`` for streams and runs, and ``render`` turns both into HTML.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from etl.analytics import open_reader
from etl.status import Status, read_status
from etl.visual import svg
from etl.visual.page import Cell, Section, document, table
from etl.visual.svg import Series

DAYS = 90  # the daily charts show the DAYS days up to the latest day with data
TOP = 12  # hosts and webinars in the ranked charts


def _rows(conn: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = conn.execute(sql)
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def collect(conn: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """What the charts show, from the analytics views of a reader connection (``open_reader``)."""
    return {
        "reference_time": conn.execute("SELECT analytics.reference_time()").fetchone()[0],  # type: ignore[index]
        "daily": _rows(
            conn,
            "SELECT day, sum(meetings) AS meetings, sum(meeting_minutes) AS meeting_minutes,"
            " sum(participants) AS participants, sum(participant_minutes) AS participant_minutes"
            " FROM analytics.daily_meetings"
            f" WHERE day > (SELECT max(day) FROM analytics.daily_meetings) - {DAYS}"
            " GROUP BY day ORDER BY day",
        ),
        "peak": _rows(
            conn,
            "SELECT account_id, day, peak_participants, peak_at FROM analytics.peak_concurrency"
            f" WHERE day > (SELECT max(day) FROM analytics.peak_concurrency) - {DAYS}"
            " ORDER BY day, account_id",
        ),
        "licenses": _rows(
            conn,
            "SELECT count(*) AS licensed, count(*) FILTER (WHERE idle_30d) AS idle_30d,"
            " count(*) FILTER (WHERE idle_60d) AS idle_60d, count(*) FILTER (WHERE idle_90d) AS idle_90d,"
            " count(*) FILTER (WHERE last_hosted_at IS NULL) AS never_hosted"
            " FROM analytics.license_utilization",
        )[0],
        "webinars": _rows(
            conn,
            "SELECT topic, start_time, registrants, attended_registrants, absentees, attendance_rate,"
            " attendees, avg_minutes_in_session FROM analytics.webinar_attendance"
            f" ORDER BY start_time DESC NULLS LAST, webinar_uuid LIMIT {TOP}",
        ),
        "recordings": _rows(
            conn,
            "SELECT coalesce(display_name, email, host_id) AS host, recordings, files, storage_bytes,"
            " trash_bytes FROM analytics.recording_storage"
            f" ORDER BY storage_bytes DESC, host_id LIMIT {TOP}",
        ),
        "recording_totals": _rows(
            conn,
            "SELECT count(*) AS hosts, coalesce(sum(recordings), 0) AS recordings,"
            " coalesce(sum(storage_bytes), 0) AS storage_bytes, coalesce(sum(trash_bytes), 0) AS trash_bytes"
            " FROM analytics.recording_storage",
        )[0],
    }


def _day(value: date) -> str:
    return f"{value:%b %d}"


def _when(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return f"{value:%Y-%m-%d %H:%M} UTC"


def _age(hours: float | None) -> str:
    if hours is None:
        return ""
    if hours < 1:
        return f"{hours * 60:.0f} min"
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"


def _kpis(items: list[tuple[str, str]]) -> str:
    return (
        '<div class="kpis">'
        + "".join(f'<div class="kpi"><b>{svg.esc(v)}</b><span>{svg.esc(k)}</span></div>' for k, v in items)
        + "</div>"
    )


def _calendar(days: list[date]) -> list[date]:
    """Every day from the first to the last of ``days``: a day without meetings is a zero, not a gap."""
    if not days:
        return []
    first, last = min(days), max(days)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _daily(data: dict[str, Any]) -> list[Section]:
    by_day = {r["day"]: r for r in data["daily"]}
    days = _calendar(list(by_day))
    labels = [_day(d) for d in days]

    def column(name: str) -> tuple[float, ...]:
        return tuple(float(by_day[d][name] or 0) if d in by_day else 0.0 for d in days)

    meetings = Series("meetings", column("meetings"))
    minutes = Series("meeting minutes", column("meeting_minutes"), "min")
    accounts = sorted({r["account_id"] for r in data["peak"]})
    peak_days = _calendar([r["day"] for r in data["peak"]])
    by_key = {(r["account_id"], r["day"]): r["peak_participants"] for r in data["peak"]}
    peaks = [
        Series(
            account if len(accounts) > 1 else "peak participants",
            tuple(float(by_key.get((account, d), 0)) for d in peak_days),
        )
        for account in accounts
    ]
    window = f"UTC days, the {DAYS} up to the latest with meetings (analytics.daily_meetings)"
    return [
        Section(
            "meetings", "Meetings per day", svg.bars(labels, [meetings], title="Meetings per day"), window
        ),
        Section(
            "minutes",
            "Meeting minutes per day",
            svg.bars(labels, [minutes], title="Meeting minutes per day"),
            "Sum of the instances' durations (analytics.daily_meetings)",
        ),
        Section(
            "peak",
            "Peak concurrency",
            svg.line([_day(d) for d in peak_days], peaks, title="Peak concurrent participants per day"),
            "Most join segments at the same moment per day and account (analytics.peak_concurrency)",
        ),
    ]


def _licenses(data: dict[str, Any]) -> Section:
    lic = data["licenses"]
    licensed = int(lic["licensed"])
    used = f"{1 - lic['idle_30d'] / licensed:.0%}" if licensed else "n/a"
    labels = ["Licensed seats", "Idle 30 days", "Idle 60 days", "Idle 90 days", "Never hosted"]
    values = tuple(float(lic[k]) for k in ("licensed", "idle_30d", "idle_60d", "idle_90d", "never_hosted"))
    chart = svg.hbars(labels, [Series("users", values)], title="License utilization", label_width=110)
    return Section(
        "licenses",
        "License utilization",
        _kpis([("licensed users", f"{licensed:,}"), ("hosted in the last 30 days", used)]) + chart,
        "Licensed active or pending users and whether they hosted before the reference time"
        " (analytics.license_utilization)",
    )


def _webinars(data: dict[str, Any]) -> Section:
    rows = data["webinars"]  # latest first
    labels = [
        f"{_day(r['start_time'])} · {r['topic'] or '(no topic)'}"
        if r["start_time"]
        else str(r["topic"] or "(no topic)")
        for r in rows
    ]
    series = [
        Series("registrants", tuple(float(r["registrants"] or 0) for r in rows)),
        Series("attended registrants", tuple(float(r["attended_registrants"] or 0) for r in rows)),
        Series("attendees", tuple(float(r["attendees"] or 0) for r in rows)),
    ]
    return Section(
        "webinars",
        "Webinar attendance",
        svg.hbars(labels, series, title="Webinar attendance"),
        f"The {TOP} latest webinar instances: registered vs attended (analytics.webinar_attendance)",
    )


def _recordings(data: dict[str, Any]) -> Section:
    rows, totals = data["recordings"], data["recording_totals"]
    labels = [str(r["host"]) for r in rows]
    values = tuple(round(r["storage_bytes"] / 1e9, 3) for r in rows)
    chart = svg.hbars(labels, [Series("storage", values, "GB")], title="Recording storage by host")
    kpis = _kpis(
        [
            ("in use", svg.number(round(totals["storage_bytes"] / 1e9, 1), "GB")),
            ("in the trash", svg.number(round(totals["trash_bytes"] / 1e9, 1), "GB")),
            ("recordings", f"{totals['recordings']:,}"),
            ("hosts", f"{totals['hosts']:,}"),
        ]
    )
    return Section(
        "recordings",
        "Recording storage",
        kpis + chart,
        f"Cloud recording storage, GB (10^9 bytes), the {TOP} largest hosts (analytics.recording_storage)",
    )


def _freshness(status: Status) -> Section:
    accounts = sorted({s.account_id for s in status.streams})
    one = len(accounts) == 1  # then the account is said once, in the note
    rows = [
        [
            s.stream,
            *([] if one else [s.account_id]),
            s.source or "",
            s.watermark or "",
            _when(s.updated_at),
            Cell(_age(s.age_hours), "num"),
        ]
        for s in status.streams
    ]
    headers = ["stream", *([] if one else ["account"]), "source", "watermark", "last updated", "age"]
    note = "From _etl.state: where each stream's checkpoint stands; age when this page was made"
    return Section(
        "freshness",
        "Freshness of every stream",
        table(headers, rows),
        f"{note} (account {accounts[0]})" if one else note,
    )


def _runs(status: Status) -> Section:
    rows = []
    for run in status.runs:
        started, ended = run["started_at"], run["ended_at"]
        seconds = (ended - started).total_seconds() if started and ended else None
        rows.append(
            [
                _when(started),
                Cell(run["status"], str(run["status"]), badge=True),
                Cell("" if seconds is None else f"{seconds:,.1f} s", "num"),
                Cell(f"{sum(run['rows_by_table'].values()):,}", "num"),
                Cell(f"{sum(run['requests_by_category'].values()):,}", "num"),
                Cell(run["skips"], "num"),
                Cell(run["rejects"], "num"),
                Cell(run["errors"], "num"),
                run["message"] or "",
                run["run_id"],
            ]
        )
    headers = [
        "started",
        "status",
        "took",
        "rows",
        "requests",
        "skips",
        "rejects",
        "errors",
        "message",
        "run",
    ]
    return Section("runs", "Last runs", table(headers, rows), "From _etl.runs, newest first", wide=True)


def _tables(status: Status) -> Section:
    rows = [[name, Cell(f"{count:,}", "num")] for name, count in sorted(status.tables.items())]
    return Section("tables", "Rows per table", table(["table (schema zoom)", "rows"], rows))


def render(data: dict[str, Any], status: Status, *, generated_at: datetime) -> str:
    """The page, from ``collect``'s data and the warehouse's status."""
    subtitle = (
        f"Warehouse {status.read_path or status.warehouse} · data as of {_when(data['reference_time'])}"
        f" · page made {_when(generated_at)}"
    )
    sections = [
        *_daily(data),
        _licenses(data),
        _webinars(data),
        _recordings(data),
        _freshness(status),
        _tables(status),
        _runs(status),
    ]
    return document("zoom-etl report", subtitle, sections)


def write(warehouse: Path, out: Path, *, now: datetime | None = None) -> int:
    """Read the warehouse's published state, write the page to ``out``; returns its size in bytes."""
    with open_reader(warehouse) as conn:
        data = collect(conn)
    status = read_status(warehouse, now=now)
    text = render(data, status, generated_at=now or datetime.now(UTC))
    out.write_text(text, encoding="utf-8")
    return len(text.encode())
