"""The tasks of one extraction, and how each spawns the next (users -> per-user listings -> instances ->
participants; webinars -> instances -> details, participants, absentees).

Every task is submitted with the checkpoint groups it keeps open (``engine.Run.groups``): the users
listing holds every group of the streams below it, a listing task for one month window holds that month's
groups, and children are added to their own stream's groups before their parent finishes. So a window's
``Checkpoint`` comes only once every listing and every child of that window has emitted its pages.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import orjson

from etl.errors import GraphQLUnavailable, PaginationError, ResourceError
from etl.extract.fetch import Unit, emit_gap, fetch_unit, skip
from etl.extract.gaps import Scope
from etl.extract.scheduler import Emit, Group
from etl.extract.users import identify_pending, reconcile_users
from etl.extract.windows import Window, cannot_have_hosted, parse_time, report_floor, revisit_windows
from etl.records import Event, Gap, Page, Skip, SourceChoice
from etl.sources import graphql, rest
from etl.streams import BY_NAME, USERS_WITH_MEETINGS

if TYPE_CHECKING:
    from etl.extract.engine import Run

_ABSENT = object()
WEBINAR_FAMILY = ("webinar_instances", "webinar_participants", "webinar_absentees")
PER_USER_WINDOWED = ("meeting_instances", "recordings")
ACCOUNT_STREAMS = ("daily_usage", "sign_in_activity", "operation_logs")
KEYED_CHILDREN = ("meeting_participants", "webinar_participants", "webinar_absentees")


def own(groups: Sequence[Group], name: str) -> list[Group]:
    return [g for g in groups if g.tag == name]


def digest_of(record: Mapping[str, Any]) -> str:
    """A short fingerprint of a parent record: when it changes, its children are fetched again."""
    return hashlib.blake2b(orjson.dumps(record, option=orjson.OPT_SORT_KEYS), digest_size=8).hexdigest()


def day_of(record: Mapping[str, Any]) -> date | None:
    started = parse_time(record.get("start_time"))
    return started.date() if started else None


def submit_roots(run: Run, pending: Mapping[str, Sequence[str]]) -> None:
    """The tasks that need nothing before them: the users listing, account-wide windows, pending keys."""
    if any(BY_NAME[name].parent is not None or name == "users" for name in run.active):
        # users_task holds ``users_groups`` (bound now, not looked up when it runs): its per-user tasks
        # join those groups, so no window checkpoint can come before the listings it covers.
        users_groups = run.groups(("users",))
        run.scheduler.submit(
            run.lane("users"), lambda emit: users_task(run, emit, users_groups), groups=users_groups
        )
    for name in ACCOUNT_STREAMS:
        if name in run.requested:
            for window in run.trackers[name].windows or ():
                run.outstanding.claim(name, Scope("", window.start, window.end))
                groups = run.groups((name,), window.month)
                run.scheduler.submit(
                    run.lane(name), _bind(account_window_task, run, name, window), groups=groups
                )
            for window in gap_windows(run, name, run.outstanding.unclaimed(name)):
                run.scheduler.submit(run.lane(name), _bind(account_window_task, run, name, window))
    for name in KEYED_CHILDREN:
        if name not in run.requested:
            continue
        for key in pending.get(name, ()):
            if run.claim(name, key):
                run.scheduler.submit(
                    run.lane(name), _bind(child_key_task, run, name, key, None, None, False), depth=3
                )


def _bind(fn: Any, *args: Any) -> Any:
    def task(emit: Emit) -> None:
        fn(emit, *args)

    return task


# ---- users and everything per user ---------------------------------------------------------------------


def users_task(run: Run, emit: Emit, groups: Sequence[Group]) -> None:
    stream = BY_NAME["users"]
    emit_pages = "users" in run.requested
    listed: Counter[str] = Counter()  # users GraphQL listed, by status

    def on_users(records: list[dict[str, Any]], nested: bool) -> None:
        records = [r for r in records if isinstance(r, dict)]  # an Unreadable is no user: rejects get it
        if emit_pages:
            identify_pending(run, emit, records)
        for record in records:
            listed[str(record.get("status") or "")] += 1
            meetings = record.pop("meetings", _ABSENT) if nested else _ABSENT
            spawn_user(run, emit, record, groups, meetings)

    if "meetings" in run.active and run.sources.graphql("users") and run.sources.graphql("meetings"):
        try:
            size = run.nested_page
            query = replace(USERS_WITH_MEETINGS, page_size=size, units=size + 1)
            dropped = 0
            for page in graphql.fetch_pages(run.client, run.documents, query, {}):
                for path, message in page.missing:
                    emit(Skip("users", run.account_id, path, message))
                dropped += page.dropped
                on_users([dict(item) for item in page.partial], True)
                on_users(page.records, True)
                if emit_pages:
                    emit(Page("users", run.account_id, "graphql", page.request, _now(), page.records, {}))
            if emit_pages:
                lost = f"GraphQL dropped {dropped} item(s) (partial errors)" if dropped else ""
                emit_gap(run, "users", Scope(""), lost, emit)
            reconcile_users(run, emit, listed, lambda records: on_users(records, False))
            submit_user_gaps(run, groups)
            return
        except (GraphQLUnavailable, ResourceError) as exc:  # NOT_FOUND on the account's own user list
            reason = f"users_with_meetings unavailable ({exc}); users and meetings queried separately"
            emit(SourceChoice("users", run.account_id, run.sources.source("users"), reason))
    unit = Unit(stream, "users", {}, {}, {}, {}, emit_pages, Scope(""))
    listed.clear()
    fetch_unit(run, unit, emit, lambda records: on_users(records, False))
    if run.sources.graphql("users"):
        reconcile_users(run, emit, listed, lambda records: on_users(records, False))
    submit_user_gaps(run, groups)


def submit_user_gaps(run: Run, groups: Sequence[Group]) -> None:
    """Tasks for the per-user gaps earlier runs left that no unit of this run covers (a user the listing
    no longer shows, a window older than this run's range); called once every user has been spawned."""
    if "meetings" in run.requested:
        for gap in run.outstanding.unclaimed("meetings"):
            run.scheduler.submit(run.lane("meetings"), _bind(meetings_task, run, gap.scope, None), depth=1)
    for name in PER_USER_WINDOWED:
        if name not in run.requested:
            continue
        for gap, window in zip_gaps(run, name, run.outstanding.unclaimed(name)):
            held = [g for g in groups if g.tag == name and g.month == window.month]
            run.scheduler.submit(
                run.lane(name),
                _bind(listing_task, run, name, gap.scope, window, held),
                depth=1,
                groups=held,
            )


def zip_gaps(run: Run, name: str, gaps: Sequence[Gap]) -> list[tuple[Gap, Window]]:
    """Each gap with the window that fetches it again (its days, from Zoom's report floor on)."""
    windowing = BY_NAME[name].windowing
    floor = report_floor(run.today) if windowing in ("report_month", "year_month") else None
    found: list[tuple[Gap, Window]] = []
    for gap in gaps:
        if gap.first_day is not None and gap.last_day is not None:
            first = max(gap.first_day, floor) if floor else gap.first_day
            found.append((gap, Window(first, gap.last_day)))
    return found


def expire_gaps(run: Run) -> list[Event]:
    """Close the gaps Zoom can no longer serve, each with a skip that says why: a windowed gap older than
    the six months Zoom keeps reports (its documented limit), or one without days (nothing to re-read)."""
    events: list[Event] = []
    floor = report_floor(run.today)
    for name in run.requested:
        stream = BY_NAME[name]
        if stream.windowing == "none":
            continue
        reported = stream.windowing in ("report_month", "year_month")
        for gap in run.outstanding.of(name):
            first, last = gap.first_day, gap.last_day
            if first is not None and last is not None and not (reported and last < floor):
                continue
            run.outstanding.claim(name, Scope(gap.scope, first, last))
            reason = "older than the 6 months Zoom keeps reports: not fetchable"
            where = f"outstanding gap {gap.scope} {first}..{last}".replace("  ", " ")
            events.append(Skip(name, run.account_id, where, reason))
            events.append(Gap(name, run.account_id, gap.scope, first, last, reason, closed=True))
    return events


def gap_windows(run: Run, name: str, gaps: Sequence[Gap]) -> list[Window]:
    return sorted({window for _, window in zip_gaps(run, name, gaps)})


def spawn_user(run: Run, emit: Emit, user: Mapping[str, Any], groups: Sequence[Group], meetings: Any) -> None:
    """Queue one user's work for every active per-user stream (once per run, whichever source listed it)."""
    user_id = str(user.get("id") or "")
    if not user_id or not run.claim("user", user_id):
        return
    pending_user = user.get("status") == "pending"
    if "meetings" in run.active:
        if isinstance(meetings, Mapping):
            nested_meetings(run, emit, user_id, meetings, groups)
        elif not pending_user:
            run.scheduler.submit(
                run.lane("meetings"),
                _bind(meetings_task, run, user_id, None),
                depth=1,
                groups=own(groups, "meetings"),
            )
    for name in ("meeting_instances", "recordings"):
        if name in run.active:
            windowed_user(run, name, user, groups)
    if "webinars" in run.active and not pending_user:
        run.scheduler.submit(
            run.lane("webinars"),
            _bind(webinars_task, run, user_id, groups),
            depth=1,
            groups=[g for g in groups if g.tag in ("webinars", *WEBINAR_FAMILY)],
        )


def nested_meetings(
    run: Run, emit: Emit, user_id: str, connection: Mapping[str, Any], groups: Sequence[Group]
) -> None:
    """The first page of a user's meetings came nested under the user: emit it, continue if needed."""
    records = [dict(r) for r in connection.get("edges") or [] if isinstance(r, Mapping)]
    if "meetings" in run.requested and records:
        request = f"POST /v3/graphql {USERS_WITH_MEETINGS.name} (nested meetings of {user_id})"
        emit(Page("meetings", run.account_id, "graphql", request, _now(), records, {"host_id": user_id}))
    cursor = str((connection.get("page_info") or {}).get("cursor") or "")
    if cursor:
        run.scheduler.submit(
            run.lane("meetings"),
            _bind(meetings_task, run, user_id, cursor),
            depth=1,
            groups=own(groups, "meetings"),
        )
    elif "meetings" in run.requested:  # the whole listing came nested, complete
        emit_gap(run, "meetings", Scope(user_id), "", emit)


def meetings_task(emit: Emit, run: Run, user_id: str, after: str | None) -> None:
    variables: dict[str, Any] = {"userId": user_id, **({"after": after} if after else {})}
    unit = Unit(
        BY_NAME["meetings"],
        f"user {user_id}",
        variables,
        {"userId": user_id},
        {},
        {"host_id": user_id},
        "meetings" in run.requested,
        Scope(user_id),
    )
    fetch_unit(run, unit, emit)


def windowed_user(run: Run, name: str, user: Mapping[str, Any], groups: Sequence[Group]) -> None:
    """One listing per month window the user could have hosted in; skips recorded; old skips revisited."""
    user_id = str(user["id"])
    names = [n for n in (name, "meeting_participants" if name == "meeting_instances" else "") if n]
    trackers = [run.trackers[n] for n in names if n in run.trackers]
    months: dict[tuple[int, int], Window] = {}
    for tracker in trackers:
        for window in tracker.windows or ():
            known = months.get(window.month)
            months[window.month] = window if known is None or window.start < known.start else known
    for month, window in sorted(months.items()):
        if cannot_have_hosted(user, window):
            for tracker in trackers:
                tracker.note_skip(user_id, window)
            continue
        held = [g for g in groups if g.tag in names and g.month == month]
        if name == "meeting_instances" and finds_webinars(run, user):
            held += [g for g in groups if g.tag in WEBINAR_FAMILY]
        run.outstanding.claim(name, Scope(user_id, window.start, window.end))
        run.scheduler.submit(
            run.lane(name), _bind(listing_task, run, name, user_id, window, held), depth=1, groups=held
        )
    floor = report_floor(run.today) if BY_NAME[name].windowing == "report_month" else None
    revisit: dict[tuple[int, int], Window] = {}
    for tracker in trackers:
        for window in revisit_windows(tracker.skipped, user, floor, run.today):
            if window.month not in months:
                revisit.setdefault(window.month, window)
    if not revisit:
        return
    first = min(months) if months else None
    held = [g for g in groups if g.tag in names and first is not None and g.month == first]

    def forget_skip(emit: Emit) -> None:
        for tracker in trackers:
            tracker.revisited(user_id)

    done = Group(f"revisit {user_id}", on_done=forget_skip)
    for window in sorted(revisit.values()):
        run.outstanding.claim(name, Scope(user_id, window.start, window.end))
        run.scheduler.submit(
            run.lane(name),
            _bind(listing_task, run, name, user_id, window, held),
            depth=1,
            groups=[done, *held],
        )


def finds_webinars(run: Run, user: Mapping[str, Any]) -> bool:
    """Whether ``user``'s meeting report is read for webinars too: a webinar stream is synced, and the
    user may host webinars."""
    return any(name in run.trackers for name in WEBINAR_FAMILY) and may_host_webinars(user)


def may_host_webinars(user: Mapping[str, Any]) -> bool:
    """Zoom: only a licensed user (type 2) hosts webinars; an unknown type counts as possible."""
    return user.get("status") != "pending" and user.get("type") in (2, "2", None)


def listing_task(
    emit: Emit, run: Run, name: str, user_id: str, window: Window, groups: Sequence[Group]
) -> None:
    on_records = None
    if name == "meeting_instances" and "meeting_participants" in run.requested:
        on_records = _instances_handler(run, own(groups, "meeting_participants"))
    webinar_groups = [g for g in groups if g.tag in WEBINAR_FAMILY]
    served_by_rest: list[bool] = []

    def on_webinars(records: list[dict[str, Any]]) -> None:
        served_by_rest.append(True)
        for record in records:
            past_webinar(run, record, user_id, webinar_groups)

    unit = Unit(
        BY_NAME[name],
        f"user {user_id} {window}",
        {"userId": user_id, **window.params()},
        {"userId": user_id},
        window.params(),
        {"host_id": user_id},
        name in run.requested,
        Scope(user_id, window.start, window.end),
    )
    finding = bool(webinar_groups)
    fetch_unit(run, unit, emit, on_records, on_others=on_webinars if finding else None)
    if finding and not served_by_rest:
        webinar_report_task(emit, run, user_id, window, webinar_groups)


def webinar_report_task(emit: Emit, run: Run, user_id: str, window: Window, groups: Sequence[Group]) -> None:
    """The webinars in ``user_id``'s meeting report for ``window`` (types 5, 6, 9), when GraphQL served
    the meetings: webinars that ended for good drop out of ``GET /users/{id}/webinars``, and this report
    (six months back) is where Zoom still lists their instances. One Heavy call per licensed user and
    month; its meetings are left alone (GraphQL gave them, one-participant ones included)."""
    endpoint = BY_NAME["meeting_instances"].rest[0]
    try:
        for page in rest.fetch_pages(run.client, endpoint, {"userId": user_id}, window.params()):
            for record in page.others:
                past_webinar(run, record, user_id, groups)
    except (ResourceError, PaginationError) as exc:
        where = f"webinars in the meeting report of user {user_id} {window}"
        emit(skip(run, "webinar_instances", where, exc))


def past_webinar(run: Run, record: Mapping[str, Any], host_id: str, groups: Sequence[Group]) -> None:
    """A webinar instance the meeting report lists: fetched like one found through its webinar, once.
    Only what ``GET /past_webinars/{id}/instances`` gives of it is kept (uuid, start time): the report's
    meeting fields would make the row's columns depend on which listing found the instance first."""
    webinar_id = str(record.get("id") or "")
    if webinar_id:
        listed = {"uuid": record.get("uuid"), "start_time": record.get("start_time")}
        submit_webinar_instance(run, webinar_id, host_id, listed, groups)


def _instances_handler(run: Run, groups: Sequence[Group]) -> Any:
    tracker = run.trackers["meeting_participants"]

    def on_records(records: list[dict[str, Any]]) -> None:
        for record in records:
            uuid = str(record.get("uuid") or "")
            if not uuid:
                continue
            digest = digest_of(record)
            if tracker.is_new(uuid, digest) and run.claim("meeting_participants", uuid):
                run.scheduler.submit(
                    run.lane("meeting_participants"),
                    _bind(child_key_task, run, "meeting_participants", uuid, digest, day_of(record), False),
                    depth=2,
                    groups=groups,
                )

    return on_records


def child_key_task(
    emit: Emit, run: Run, name: str, key: str, digest: str | None, day: date | None, settled_only: bool
) -> None:
    """The rows of one instance (participants, absentees); ``done_keys`` once they are all emitted."""
    stream = BY_NAME[name]
    unit = Unit(
        stream,
        f"{stream.context_key} {key}",
        {"meetingId": key},
        {stream.parent_param: key},
        {},
        {stream.context_key: key},
        gap=Scope(key),
    )
    if fetch_unit(run, unit, emit):
        emit(run.trackers[name].key_done(key, digest, day, settled_only=settled_only))


# ---- webinars ------------------------------------------------------------------------------------------


def webinars_task(emit: Emit, run: Run, user_id: str, groups: Sequence[Group]) -> None:
    wanted = any(name in run.active for name in WEBINAR_FAMILY)

    def on_records(records: list[dict[str, Any]]) -> None:
        for record in records:
            webinar_id = str(record.get("id") or "")
            host_id = str(record.get("host_id") or user_id)
            if wanted and webinar_id and run.claim("webinar", webinar_id):
                run.scheduler.submit(
                    run.lane("webinar_instances"),
                    _bind(webinar_instances_task, run, webinar_id, host_id, groups),
                    depth=2,
                    groups=[g for g in groups if g.tag in WEBINAR_FAMILY],
                )

    unit = Unit(
        BY_NAME["webinars"],
        f"user {user_id}",
        {},
        {"userId": user_id},
        {},
        {"host_id": user_id},
        "webinars" in run.requested,
    )
    fetch_unit(run, unit, emit, on_records)


def webinar_instances_task(
    emit: Emit, run: Run, webinar_id: str, host_id: str, groups: Sequence[Group]
) -> None:
    stream = BY_NAME["webinar_instances"]

    def on_records(records: list[dict[str, Any]]) -> None:
        for record in records:
            submit_webinar_instance(run, webinar_id, host_id, dict(record), groups)

    unit = Unit(stream, f"webinar {webinar_id}", {}, {"webinarId": webinar_id}, {}, {}, False)
    fetch_unit(run, unit, emit, on_records)


def submit_webinar_instance(
    run: Run, webinar_id: str, host_id: str, record: dict[str, Any], groups: Sequence[Group]
) -> None:
    """The details, participants and absentees of one ended webinar instance, each once per run and only
    while not fetched before (whichever listing found it: its webinar's instances, or a meeting report)."""
    uuid = str(record.get("uuid") or "")
    if not uuid:
        return
    day = day_of(record)
    for name in WEBINAR_FAMILY:
        tracker = run.trackers.get(name)
        if tracker is None or not tracker.is_new(uuid, "ended") or not run.claim(name, uuid):
            continue
        if name == "webinar_instances":
            task = _bind(webinar_details_task, run, webinar_id, host_id, record, day)
        else:
            task = _bind(child_key_task, run, name, uuid, "ended", day, True)
        run.scheduler.submit(run.lane(name), task, depth=3, groups=own(groups, name))


def webinar_details_task(
    emit: Emit, run: Run, webinar_id: str, host_id: str, instance: dict[str, Any], day: date | None
) -> None:
    """A webinar instance as its report tells it; the bare listing item if the report is not there. Neither
    names the host, so ``host_id`` comes from the webinar listing that led here."""
    stream = BY_NAME["webinar_instances"]
    uuid = str(instance["uuid"])
    assert stream.details is not None
    record, request, complete = dict(instance), f"GET /v2/past_webinars/{webinar_id}/instances", False
    if not run.sources.serves(stream.details):  # no report on Free: the listing item is all there is
        complete = True
    else:
        try:
            request, detail = rest.fetch_detail(run.client, stream.details, {"webinarId": uuid})
            record.update(detail or {})
            complete = True
        except ResourceError as exc:
            emit(skip(run, stream.name, f"webinar_uuid {uuid} report", exc))
    record.setdefault("id", int(webinar_id) if webinar_id.isdigit() else webinar_id)
    record["uuid"] = uuid
    if not record.get("host_id"):
        record["host_id"] = host_id
    emit(Page(stream.name, run.account_id, "rest", request, _now(), [record], {"webinar_id": webinar_id}))
    if complete:
        emit(run.trackers[stream.name].key_done(uuid, "ended", day, settled_only=True))


# ---- account-wide windows ------------------------------------------------------------------------------


def account_window_task(emit: Emit, run: Run, name: str, window: Window) -> None:
    stream = BY_NAME[name]
    if stream.windowing == "year_month":
        values: dict[str, Any] = {"year": window.start.year, "month": window.start.month}
        resource = f"{window.start.year}-{window.start.month:02d}"
    else:
        values, resource = window.params(), str(window)
    unit = Unit(stream, resource, values, {}, values, {}, gap=Scope("", window.start, window.end))
    fetch_unit(run, unit, emit)


def _now() -> datetime:
    return datetime.now(UTC)
