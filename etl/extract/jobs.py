"""The tasks of one extraction, derived from the registry: each stream is fetched for the keys of its
parent's records (``children_of``), per month window when it is windowed, and once per run otherwise.

The generic path, for any stream of ``etl.streams``:

* account-wide windowed streams (``roots(windowed=True)``): one task per window;
* the children of a listing: per record of the parent, by its first key field. A ``listing`` child is
  listed for that key (per month window if it is windowed); a ``changed`` child is fetched once per key and
  again when the parent record changes; an ``ended`` child once the parent has ended for good; a stream
  with ``details`` gets one more call per record of its listing (and its own children after it);
* keys a crashed run left unfinished and keyed gaps (``keyed_streams()``): fetched again first.

Zoom exceptions, each named and kept out of the generic path:

* ``USERS``: the users listing is the one snapshot root, and Zoom-specific: on GraphQL a page of users
  carries each user's first page of meetings (``NESTED``, one round trip for both), pending users' ids are
  looked up by email and statuses GraphQL leaves out are listed again on REST (``etl.extract.users``);
* a pending user hosts nothing: no per-user snapshot listing for them; a user who could not have hosted in
  a window (created after it, or not signed in since before it) is not listed for it (``windows``), and
  the skip is recorded and revisited;
* a listing that also lists another stream's items (``Stream.lists_also``: the meeting report lists the
  webinars that ended for good and dropped out of the webinar listing): those items feed that stream's
  instances, for users who may host webinars; and the instances' rows get their host from the webinar
  listing that led to them (neither the instance listing nor its report names it).

Every task is submitted with the checkpoint groups it keeps open (``Run.groups``): the users listing holds
every group of the streams below it, a listing task for one month window holds that month's groups, and
children are added to their own stream's groups before their parent finishes. So a window's
``Checkpoint`` comes only once every listing and every child of that window has emitted its pages.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

import orjson

from etl.errors import GraphQLUnavailable, PaginationError, ResourceError
from etl.extract.fetch import OnRecords, Unit, emit_gap, fetch_unit, skip
from etl.extract.gaps import Scope
from etl.extract.run import Run, family
from etl.extract.scheduler import Emit, Group
from etl.extract.users import USERS, identify_pending, reconcile_users  # USERS: a Zoom exception
from etl.extract.windows import Window, cannot_have_hosted, parse_time, report_floor, revisit_windows
from etl.records import Event, Gap, Page, Skip, SourceChoice
from etl.sources import graphql, rest
from etl.streams import (
    BY_NAME,
    USERS_WITH_MEETINGS,
    Stream,
    children_of,
    descends,
    family_of,
    keyed_streams,
    roots,
)

_ABSENT = object()
NESTED = "meetings"  # Zoom exception: the per-user stream GraphQL nests in a page of users
PENDING_DEPTH = 3  # keys left by earlier runs: finished before new work starts


def own(groups: Sequence[Group], name: str) -> list[Group]:
    return [g for g in groups if g.tag == name]


def depth_of(stream: Stream) -> int:
    """How deep a stream's tasks are queued: its number of ancestors (the scheduler runs deepest first)."""
    depth, parent = 0, stream.parent
    while parent is not None:
        depth, parent = depth + 1, BY_NAME[parent].parent
    return depth


def leaves_gaps(stream: Stream) -> bool:
    """Whether a unit of ``stream`` records the gap it leaves: every unit but a snapshot listing only REST
    serves, which the next run lists again whole anyway."""
    return stream.windowing != "none" or stream.graphql is not None or stream.keyed


def digest_of(record: Mapping[str, Any]) -> str:
    """A short fingerprint of a parent record: when it changes, its children are fetched again."""
    return hashlib.blake2b(orjson.dumps(record, option=orjson.OPT_SORT_KEYS), digest_size=8).hexdigest()


def day_of(record: Mapping[str, Any]) -> date | None:
    started = parse_time(record.get("start_time"))
    return started.date() if started else None


def key_of(stream: Stream, record: Mapping[str, Any]) -> str:
    """The key a record hands its children: its stream's first key field."""
    return str(record.get(stream.keys[0]) or "")


def submit_roots(run: Run, pending: Mapping[str, Sequence[str]]) -> None:
    """The tasks that need nothing before them: the users listing, account-wide windows, pending keys."""
    if any(descends(name, USERS) for name in run.active):
        # users_task holds ``users_groups`` (bound now, not looked up when it runs): its per-user tasks
        # join those groups, so no window checkpoint can come before the listings it covers.
        users_groups = run.groups((USERS,))
        run.scheduler.submit(
            run.lane(USERS), partial(users_task, run=run, groups=users_groups), groups=users_groups
        )
    for stream in roots(windowed=True):
        if stream.name not in run.requested:
            continue
        name = stream.name
        for window in run.trackers[name].windows or ():
            run.outstanding.claim(name, Scope("", window.start, window.end))
            groups = run.groups((name,), window.month)
            run.scheduler.submit(
                run.lane(name), partial(account_window_task, run=run, name=name, window=window), groups=groups
            )
        for window in gap_windows(run, name, run.outstanding.unclaimed(name)):
            run.scheduler.submit(
                run.lane(name), partial(account_window_task, run=run, name=name, window=window)
            )
    for stream in keyed_streams():
        if stream.name not in run.requested:
            continue
        for key in pending.get(stream.name, ()):
            if run.claim(stream.name, key):
                task = partial(child_key_task, run=run, name=stream.name, key=key, digest=None, day=None)
                run.scheduler.submit(run.lane(stream.name), task, depth=PENDING_DEPTH)


# ---- users (a Zoom exception) and everything per user --------------------------------------------------


def users_task(emit: Emit, *, run: Run, groups: Sequence[Group]) -> None:
    stream = BY_NAME[USERS]
    emit_pages = USERS in run.requested
    listed: Counter[str] = Counter()  # users GraphQL listed, by status

    def on_users(records: list[dict[str, Any]], nested: bool) -> None:
        records = [r for r in records if isinstance(r, dict)]  # an Unreadable is no user: rejects get it
        if emit_pages:
            identify_pending(run, emit, records)
        for record in records:
            listed[str(record.get("status") or "")] += 1
            meetings = record.pop(NESTED, _ABSENT) if nested else _ABSENT
            spawn_user(run, emit, record, groups, meetings)

    if NESTED in run.active and run.sources.graphql(USERS) and run.sources.graphql(NESTED):
        try:
            size = run.nested_page
            query = replace(USERS_WITH_MEETINGS, page_size=size, units=size + 1)
            dropped = 0
            for page in graphql.fetch_pages(run.client, run.documents, query, {}):
                for path, message in page.missing:
                    emit(Skip(USERS, run.account_id, path, message))
                dropped += page.dropped
                on_users([dict(item) for item in page.partial], True)
                on_users(page.records, True)
                if emit_pages:
                    emit(Page(USERS, run.account_id, "graphql", page.request, _now(), page.records, {}))
            if emit_pages:
                lost = f"GraphQL dropped {dropped} item(s) (partial errors)" if dropped else ""
                emit_gap(run, USERS, Scope(""), lost, emit)
            reconcile_users(run, emit, listed, lambda records: on_users(records, False))
            submit_user_gaps(run, groups)
            return
        except (GraphQLUnavailable, ResourceError) as exc:  # NOT_FOUND on the account's own user list
            reason = f"{USERS_WITH_MEETINGS.name} unavailable ({exc}); users and meetings queried separately"
            emit(SourceChoice(USERS, run.account_id, run.sources.source(USERS), reason))
    unit = Unit(stream=stream, resource=USERS, emit_pages=emit_pages, gap=Scope(""))
    listed.clear()
    fetch_unit(run, unit, emit, lambda records: on_users(records, False))
    if run.sources.graphql(USERS):
        reconcile_users(run, emit, listed, lambda records: on_users(records, False))
    submit_user_gaps(run, groups)


def submit_user_gaps(run: Run, groups: Sequence[Group]) -> None:
    """Tasks for the per-user gaps earlier runs left that no unit of this run covers (a user the listing
    no longer shows, a window older than this run's range); called once every user has been spawned."""
    for stream in children_of(USERS):
        name = stream.name
        if name not in run.requested:
            continue
        if stream.windowing == "none":
            for gap in run.outstanding.unclaimed(name):
                task = partial(listing_task, run=run, name=name, key=gap.scope, groups=())
                run.scheduler.submit(run.lane(name), task, depth=1)
            continue
        for gap, window in zip_gaps(run, name, run.outstanding.unclaimed(name)):
            held = [g for g in groups if g.tag == name and g.month == window.month]
            task = partial(listing_task, run=run, name=name, key=gap.scope, window=window, groups=held)
            run.scheduler.submit(run.lane(name), task, depth=1, groups=held)


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


def spawn_user(run: Run, emit: Emit, user: Mapping[str, Any], groups: Sequence[Group], nested: Any) -> None:
    """Queue one user's work for every active per-user stream (once per run, whichever source listed it)."""
    user_id = key_of(BY_NAME[USERS], user)
    if not user_id or not run.claim(USERS, user_id):
        return
    pending_user = user.get("status") == "pending"  # Zoom: an invitation not accepted hosts nothing
    for stream in children_of(USERS):
        name = stream.name
        if name not in run.active:
            continue
        if stream.windowing != "none":
            windowed_user(run, name, user, groups)
        elif name == NESTED and isinstance(nested, Mapping):
            nested_meetings(run, emit, user_id, nested, groups)
        elif not pending_user:
            task = partial(listing_task, run=run, name=name, key=user_id, groups=family(groups, (name,)))
            run.scheduler.submit(run.lane(name), task, depth=1, groups=family(groups, (name,)))


def nested_meetings(
    run: Run, emit: Emit, user_id: str, connection: Mapping[str, Any], groups: Sequence[Group]
) -> None:
    """The first page of a user's meetings came nested under the user: emit it, continue if needed."""
    stream = BY_NAME[NESTED]
    records = [dict(r) for r in connection.get("edges") or [] if isinstance(r, Mapping)]
    if NESTED in run.requested and records:
        request = f"POST /v3/graphql {USERS_WITH_MEETINGS.name} (nested {NESTED} of {user_id})"
        context = {stream.context_key: user_id}
        emit(Page(NESTED, run.account_id, "graphql", request, _now(), records, context))
    cursor = str((connection.get("page_info") or {}).get("cursor") or "")
    if cursor:
        held = own(groups, NESTED)
        task = partial(listing_task, run=run, name=NESTED, key=user_id, groups=held, after=cursor)
        run.scheduler.submit(run.lane(NESTED), task, depth=1, groups=held)
    elif NESTED in run.requested:  # the whole listing came nested, complete
        emit_gap(run, NESTED, Scope(user_id), "", emit)


def windowed_user(run: Run, name: str, user: Mapping[str, Any], groups: Sequence[Group]) -> None:
    """One listing per month window the user could have hosted in; skips recorded; old skips revisited.
    The stream's children follow its windows: their trackers note the same skips."""
    stream = BY_NAME[name]
    user_id = key_of(BY_NAME[USERS], user)
    names = [name, *(c.name for c in children_of(name))]
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
        if stream.lists_also and finds_others(run, stream, user):
            held += family(groups, (stream.lists_also,))
        run.outstanding.claim(name, Scope(user_id, window.start, window.end))
        task = partial(listing_task, run=run, name=name, key=user_id, window=window, groups=held)
        run.scheduler.submit(run.lane(name), task, depth=1, groups=held)
    floor = report_floor(run.today) if stream.windowing == "report_month" else None
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
        task = partial(listing_task, run=run, name=name, key=user_id, window=window, groups=held)
        run.scheduler.submit(run.lane(name), task, depth=1, groups=[done, *held])


def finds_others(run: Run, stream: Stream, user: Mapping[str, Any]) -> bool:
    """Zoom exception: whether ``user``'s listing of ``stream`` is read for the items it lists for
    ``stream.lists_also`` (the webinars in the meeting report): a stream of that family is synced, and
    the user may host webinars."""
    assert stream.lists_also is not None
    return any(name in run.trackers for name in family_of(stream.lists_also)) and may_host_webinars(user)


def may_host_webinars(user: Mapping[str, Any]) -> bool:
    """Zoom: only a licensed user (type 2) hosts webinars; an unknown type counts as possible."""
    return user.get("status") != "pending" and user.get("type") in (2, "2", None)


# ---- the generic listing of one stream for one parent key ----------------------------------------------


def listing_task(
    emit: Emit,
    *,
    run: Run,
    name: str,
    key: str,
    groups: Sequence[Group],
    window: Window | None = None,
    after: str | None = None,
) -> None:
    """The listing of ``name`` for the parent key ``key`` (in ``window`` if it is windowed; from the
    GraphQL cursor ``after`` when a first page came nested); its records spawn the stream's children."""
    stream = BY_NAME[name]
    values = window.params() if window else {}
    label = _resource(stream, key)
    unit = Unit(
        stream=stream,
        resource=f"{label} {window}" if window else label,
        variables={stream.parent_param: key, **values, **({"after": after} if after else {})},
        path_params={stream.parent_param: key},
        params=values,
        context={stream.context_key: key},
        emit_pages=name in run.requested,
        gap=(Scope(key, window.start, window.end) if window else Scope(key)) if leaves_gaps(stream) else None,
    )
    on_records = children_handler(run, stream, key, groups)
    others = family(groups, (stream.lists_also,)) if stream.lists_also else []
    served_by_rest: list[bool] = []

    def on_others(records: list[dict[str, Any]]) -> None:
        served_by_rest.append(True)
        for record in records:
            listed_elsewhere(run, stream, record, key, others)

    fetch_unit(run, unit, emit, on_records, on_others=on_others if others else None)
    if others and window is not None and not served_by_rest:
        others_report_task(emit, run=run, stream=stream, key=key, window=window, groups=others)


def children_handler(run: Run, stream: Stream, key: str, groups: Sequence[Group]) -> OnRecords | None:
    """What each page of ``stream``'s listing for ``key`` spawns: None when no child is active."""
    if not any(c.name in run.active for c in children_of(stream.name)):
        return None

    def on_records(records: list[dict[str, Any]]) -> None:
        for record in records:
            spawn_children(run, stream, record, key, groups)

    return on_records


def spawn_children(
    run: Run, stream: Stream, record: Mapping[str, Any], parent_key: str, groups: Sequence[Group]
) -> None:
    """The children of one record of ``stream``: listed for its key, or fetched once per key."""
    key = key_of(stream, record)
    if not key:
        return
    for child in children_of(stream.name):
        name = child.name
        if name not in run.active:
            continue
        depth = depth_of(child)
        if child.refetch == "changed":
            tracker, digest = run.trackers.get(name), digest_of(record)
            if tracker is not None and tracker.is_new(key, digest) and run.claim(name, key):
                task = partial(child_key_task, run=run, name=name, key=key, digest=digest, day=day_of(record))
                run.scheduler.submit(run.lane(name), task, depth=depth, groups=own(groups, name))
        elif child.refetch == "ended" and child.details is None:
            submit_ended(run, child, key, day_of(record), groups)
        elif run.claim(f"list {name}", key):
            held = family(groups, (name,))
            if child.details is not None:  # Zoom: instances do not name their host; the listing does
                host = str(record.get("host_id") or parent_key)
                task = partial(instances_task, run=run, name=name, key=key, groups=held, host=host)
            else:
                task = partial(listing_task, run=run, name=name, key=key, groups=held)
            run.scheduler.submit(run.lane(name), task, depth=depth, groups=held)


def submit_ended(run: Run, child: Stream, key: str, day: date | None, groups: Sequence[Group]) -> None:
    """``child`` for a parent that ended for good: once per key, while the key is not done."""
    tracker = run.trackers.get(child.name)
    if tracker is None or not tracker.is_new(key, "ended") or not run.claim(child.name, key):
        return
    task = partial(
        child_key_task, run=run, name=child.name, key=key, digest="ended", day=day, settled_only=True
    )
    run.scheduler.submit(run.lane(child.name), task, depth=depth_of(child), groups=own(groups, child.name))


def child_key_task(
    emit: Emit,
    *,
    run: Run,
    name: str,
    key: str,
    digest: str | None,
    day: date | None,
    settled_only: bool = False,
) -> None:
    """The rows of one parent key (an instance's participants, absentees); ``done_keys`` once they are all
    emitted."""
    stream = BY_NAME[name]
    unit = Unit(
        stream=stream,
        resource=f"{stream.context_key} {key}",
        variables={stream.parent_param: key},
        path_params={stream.parent_param: key},
        context={stream.context_key: key},
        gap=Scope(key),
    )
    if fetch_unit(run, unit, emit):
        emit(run.trackers[name].key_done(key, digest, day, settled_only=settled_only))


# ---- a stream with details: the instances of a webinar -------------------------------------------------


def instances_task(emit: Emit, *, run: Run, name: str, key: str, groups: Sequence[Group], host: str) -> None:
    """The listing of a stream with ``details`` for ``key``: not emitted itself; each record gets its
    details and its children once (``submit_settled``). ``host``: Zoom exception, see the module docstring."""
    stream = BY_NAME[name]

    def on_records(records: list[dict[str, Any]]) -> None:
        for record in records:
            submit_settled(run, stream, key, dict(record), groups, host=host)

    unit = Unit(
        stream=stream,
        resource=_resource(stream, key),
        path_params={stream.parent_param: key},
        emit_pages=False,
    )
    fetch_unit(run, unit, emit, on_records)


def submit_settled(
    run: Run, stream: Stream, parent_key: str, record: dict[str, Any], groups: Sequence[Group], *, host: str
) -> None:
    """The details and the children of one record of ``stream`` that ended for good, each once per run
    and only while not fetched before (whichever listing found it)."""
    key = key_of(stream, record)
    if not key:
        return
    day = day_of(record)
    tracker = run.trackers.get(stream.name)
    if tracker is not None and tracker.is_new(key, "ended") and run.claim(stream.name, key):
        task = partial(
            details_task, run=run, name=stream.name, parent_key=parent_key, host=host, record=record, day=day
        )
        run.scheduler.submit(
            run.lane(stream.name), task, depth=depth_of(stream) + 1, groups=own(groups, stream.name)
        )
    for child in children_of(stream.name):
        if child.refetch == "ended" and child.details is None:
            submit_ended(run, child, key, day, groups)


def details_task(
    emit: Emit,
    *,
    run: Run,
    name: str,
    parent_key: str,
    host: str,
    record: dict[str, Any],
    day: date | None,
) -> None:
    """A record as its details tell it (a webinar instance's report); the bare listing item if the
    details are not there. Neither names the host: ``host`` comes from the listing that led here."""
    stream = BY_NAME[name]
    assert stream.details is not None and stream.parent is not None
    parent = BY_NAME[stream.parent]
    key = key_of(stream, record)
    listing = stream.rest[0].render({stream.parent_param: parent_key})
    found, request, complete = dict(record), f"GET /v2{listing}", False
    if not run.sources.serves(stream.details):  # no report on Free: the listing item is all there is
        complete = True
    else:
        try:
            request, detail = rest.fetch_detail(run.client, stream.details, {stream.parent_param: key})
            found.update(detail or {})
            complete = True
        except ResourceError as exc:
            emit(skip(run, stream.name, f"{stream.name} {key} details", exc))
    found.setdefault(parent.keys[0], int(parent_key) if parent_key.isdigit() else parent_key)
    found[stream.keys[0]] = key
    if not found.get("host_id"):
        found["host_id"] = host
    emit(
        Page(stream.name, run.account_id, "rest", request, _now(), [found], {stream.context_key: parent_key})
    )
    if complete:
        emit(run.trackers[stream.name].key_done(key, "ended", day, settled_only=True))


# ---- Zoom exception: the webinars the meeting report lists ---------------------------------------------


def others_report_task(
    emit: Emit, *, run: Run, stream: Stream, key: str, window: Window, groups: Sequence[Group]
) -> None:
    """The items of ``stream.lists_also`` in the user's REST listing of ``stream`` for ``window``, when
    GraphQL served the stream itself: webinars that ended for good drop out of ``GET /users/{id}/webinars``,
    and the meeting report (six months back) is where Zoom still lists their instances. One Heavy call per
    licensed user and month; its meetings are left alone (GraphQL gave them, one-participant ones
    included)."""
    endpoint = stream.rest[0]
    try:
        for page in rest.fetch_pages(run.client, endpoint, {stream.parent_param: key}, window.params()):
            for record in page.others:
                listed_elsewhere(run, stream, record, key, groups)
    except (ResourceError, PaginationError) as exc:
        assert stream.lists_also is not None
        where = f"{stream.lists_also} in the report of user {key} {window}"
        emit(skip(run, stream.lists_also, where, exc))


def listed_elsewhere(
    run: Run, stream: Stream, record: Mapping[str, Any], host_id: str, groups: Sequence[Group]
) -> None:
    """An item of ``stream.lists_also`` (a webinar instance the meeting report lists): fetched like one
    found through its own parent, once. Only what the instances listing gives of it is kept (uuid, start
    time): the report's meeting fields would make the row's columns depend on which listing found it."""
    assert stream.lists_also is not None
    target = BY_NAME[stream.lists_also]
    parent_key = str(record.get("id") or "")
    if parent_key:
        listed = {"uuid": record.get("uuid"), "start_time": record.get("start_time")}
        submit_settled(run, target, parent_key, listed, groups, host=host_id)


# ---- account-wide windows ------------------------------------------------------------------------------


def account_window_task(emit: Emit, *, run: Run, name: str, window: Window) -> None:
    stream = BY_NAME[name]
    if stream.windowing == "year_month":
        values: dict[str, Any] = {"year": window.start.year, "month": window.start.month}
        resource = f"{window.start.year}-{window.start.month:02d}"
    else:
        values, resource = window.params(), str(window)
    unit = Unit(
        stream=stream,
        resource=resource,
        variables=values,
        params=values,
        gap=Scope("", window.start, window.end),
    )
    fetch_unit(run, unit, emit)


def _resource(stream: Stream, key: str) -> str:
    """How a skip names the parent a listing is for: "user abc", "webinar 123"."""
    return f"{(stream.parent or stream.name).removesuffix('s')} {key}"


def _now() -> datetime:
    return datetime.now(UTC)
