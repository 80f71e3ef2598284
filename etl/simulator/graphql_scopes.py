"""Which scopes a GraphQL request needs: each field that reads a resource, as the REST operation it is
modelled on (Zoom: GraphQL scopes "operate similarly to REST scopes", FACTS.md §1.5).

A request is refused, before it runs, when the token lacks the scopes of any such field it names (code 4700
for a classic token, 4711 for a granular one, as REST). Fields are matched by name wherever they appear
(the schema uses each of these names for one field only); a document that does not parse needs nothing
here, and graphql-core reports its syntax error as usual.
"""

from __future__ import annotations

from graphql import FieldNode, GraphQLError, parse, visit
from graphql.language import Visitor

from etl.simulator.rest import ROUTE_BY_TEMPLATE

FIELD_OPERATIONS = {
    "users": "/users",
    "user": "/users/{userId}",
    "meetings": "/users/{userId}/meetings",
    "pastMeetingByUUID": "/past_meetings/{meetingId}",
    "participants": "/past_meetings/{meetingId}/participants",
    "meetingParticipantReports": "/report/meetings/{meetingId}/participants",
    "dailyReport": "/report/daily",
    "recordings": "/users/{userId}/recordings",
    "webinars": "/users/{userId}/webinars",
}


class _Fields(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_field(self, node: FieldNode, *_: object) -> None:
        self.names.add(node.name.value)


def needed_scopes(query: object) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """(classic, granular) scopes per resource field ``query`` names, in a stable order."""
    if not isinstance(query, str):
        return ()
    try:
        document = parse(query)
    except GraphQLError:
        return ()
    fields = _Fields()
    visit(document, fields)
    routes = (ROUTE_BY_TEMPLATE[FIELD_OPERATIONS[n]] for n in sorted(fields.names) if n in FIELD_OPERATIONS)
    return tuple((r.scopes, r.granular) for r in routes)
