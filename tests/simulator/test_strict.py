"""Zoom as it is (issue 16): where the simulator used to be kinder than Zoom's documented contract.

Each test pins one refusal or answer to Zoom's OpenAPI file or FACTS.md §5 ("Real accounts"); each failed on
the simulator before the change it covers.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import orjson

from etl.simulator.app import GRANULAR_SCOPES
from etl.simulator.faults import FaultInjector, FaultSettings
from etl.simulator.oauth import ALL_SCOPES
from etl.simulator.rest import ROUTES

USERS_QUERY = "{ users(first: 1) { edges { id } pageInfo { cursor } } }"
DAILY_QUERY = "{ dailyReport(year: 2026, month: 1) { edges { date } } }"


def _enc(uuid: str) -> str:
    return quote(quote(uuid, safe=""), safe="")


def test_reports_answer_code_200_on_the_free_plan(simulator_factory, zoom_client) -> None:
    """OpenAPI, each report operation: "Prerequisites: Pro or higher plan"; Free gets code 200."""
    client = zoom_client(simulator_factory(plan="free", rate_limits=False))
    today = client.sim.clock.now().date()
    window = f"from={today - timedelta(days=20)}&to={today}"
    user_id = client.sim.account.users(client.sim.clock.now(), "active")[0].id
    for path in (
        "/v2/report/daily",
        f"/v2/report/users?{window}",
        f"/v2/report/users/{user_id}/meetings?{window}",
        f"/v2/report/activities?{window}",
    ):
        status, _, body = client.get(path)
        assert (status, body["code"]) == (400, 200), path
        assert "paid account" in body["message"]
    assert client.get("/v2/users")[0] == 200  # the rest of the API still answers


def test_webinar_participant_reports_reach_back_six_months_not_a_year(simulator_factory, zoom_client) -> None:
    """OpenAPI: "You can get webinar participant reports for the last 6 months." The webinar's own
    participants listing (``/past_webinars``) still reaches back a year."""
    sim = simulator_factory(rate_limits=False)
    client = zoom_client(sim)
    now = sim.clock.now()
    instance = next(
        i
        for u in sim.account.users(now, "active")
        for w in sim.account.webinars(u.id, now)
        for i in sim.account.webinar_instances_of(w.id, now)
        if sim.account.webinar_participants(i, now)
    )
    report = f"/v2/report/webinars/{_enc(instance.uuid)}/participants"
    assert client.get(report)[0] == 200
    sim.advance(days=(now - instance.start_time).days + 200)  # the instance is now ~7 months old
    status, _, body = client.get(report)
    assert (status, body["code"]) == (400, 12702), body
    assert client.get(f"/v2/past_webinars/{_enc(instance.uuid)}/participants")[0] == 200


def test_some_429s_carry_no_rate_limit_headers(simulator_factory, zoom_client) -> None:
    """devforum t/18928: a real 429 carried neither ``Retry-After`` nor ``X-RateLimit-*`` (knob)."""
    sim = simulator_factory(rate_limits=False, faults={"storm_requests": 2, "bare_429_rate": 1.0})
    client = zoom_client(sim)
    for _ in range(2):
        status, headers, body = client.get("/v2/users")
        assert (status, body["code"]) == (429, 429)
        assert not [h for h in headers if h.lower() == "retry-after" or h.lower().startswith("x-ratelimit")]
    assert client.get("/v2/users")[0] == 200
    plain = zoom_client(simulator_factory(rate_limits=False, faults={"storm_requests": 1}))
    assert "Retry-After" in plain.get("/v2/users")[1]  # off by default


def test_a_pending_users_lookup_by_email_sometimes_fails(simulator_factory, zoom_client) -> None:
    """devforum t/98314: ``GET /users/{email}`` usually gives a pending user's id, but not always (1001), and
    an expired invitation is 1120. Chosen per user and seed, so a rerun meets the same failures."""
    sim = simulator_factory(profile="demo", rate_limits=False, faults={"pending_lookup_failure_rate": 1.0})
    client = zoom_client(sim)
    [pending] = sim.account.users(sim.clock.now(), "pending")
    status, _, body = client.get(f"/v2/users/{quote(pending.email)}")
    assert (status, body["code"]) in ((404, 1001), (400, 1120))
    assert client.get_ok(f"/v2/users/{pending.id}")["status"] == "pending"  # by id it still answers
    faults = FaultInjector(FaultSettings(pending_lookup_failure_rate=0.5), seed=1)
    codes = [faults.pending_lookup_fails(f"user{n}@example.com") for n in range(400)]
    assert codes == [faults.pending_lookup_fails(f"user{n}@example.com") for n in range(400)]  # replayable
    assert 150 < codes.count(0) < 250 and codes.count(1001) > 50 and codes.count(1120) > 50
    default = zoom_client(simulator_factory(profile="demo", rate_limits=False))
    assert default.get(f"/v2/users/{quote(pending.email)}")[0] == 200  # off by default


# ---- scopes ------------------------------------------------------------------------------------------


def test_the_token_lists_the_scope_family_it_was_given(simulator_factory, zoom_client) -> None:
    classic = zoom_client(simulator_factory(scopes="classic")).oauth()[2]["scope"].split()
    granular = zoom_client(simulator_factory(scopes="granular")).oauth()[2]["scope"].split()
    assert classic == list(ALL_SCOPES)
    assert granular == list(GRANULAR_SCOPES)
    assert (
        "user:read:list_users:admin" in granular and "report:read:list_meeting_participants:admin" in granular
    )
    assert all(set(r.scopes) & set(ALL_SCOPES) and set(r.granular) & set(GRANULAR_SCOPES) for r in ROUTES)


def test_a_granular_token_reads_every_route(simulator_factory, zoom_client) -> None:
    client = zoom_client(simulator_factory(scopes="granular", rate_limits=False))
    assert client.get("/v2/users")[0] == 200
    assert client.get("/v2/report/daily")[0] == 200
    status, _, body = client.graphql(USERS_QUERY)
    assert status == 200 and body["data"]["users"]["edges"]


def test_a_granular_token_missing_a_scope_gets_4711_naming_it(simulator_factory, zoom_client) -> None:
    """FACTS §5: a token missing a granular scope gets 4711 "Invalid access token, does not contain
    scopes:[...]" (a classic one, 4700), on REST and on GraphQL alike."""
    held = tuple(s for s in GRANULAR_SCOPES if s != "report:read:daily_usage:admin")
    client = zoom_client(simulator_factory(scopes=held, rate_limits=False))
    assert client.get("/v2/users")[0] == 200
    status, _, body = client.get("/v2/report/daily")
    assert (status, body["code"]) == (400, 4711)
    assert "report:read:daily_usage:admin" in body["message"]
    status, _, body = client.graphql(DAILY_QUERY)
    assert (status, body["code"]) == (400, 4711) and "report:read:daily_usage:admin" in body["message"]
    assert client.graphql(USERS_QUERY)[0] == 200


def test_graphql_checks_scopes_field_by_field(simulator_factory, zoom_client) -> None:
    client = zoom_client(simulator_factory(scopes=("user:read:admin",), rate_limits=False))
    assert client.graphql(USERS_QUERY)[0] == 200
    query = "{ users(first: 1) { edges { id recordings(first: 1) { edges { uuid } } } } }"
    status, _, body = client.graphql(query)
    assert (status, body["code"]) == (400, 4700) and "recording:read" in body["message"]
    payload = orjson.dumps({"query": DAILY_QUERY})
    assert (
        client.request(
            "POST", "/v3/graphql", headers={"Authorization": f"Bearer {client.token}"}, body=payload
        )[2]["code"]
        == 4700
    )
