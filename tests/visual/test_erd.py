"""The entity-relationship diagram: relations come from declared keys only, and the layout puts each table
right of the tables it refers to."""

from __future__ import annotations

import re
from dataclasses import replace

from etl.contracts import load_contracts
from etl.streams import STREAMS
from etl.visual import erd

EXPECTED = {
    ("meeting_instances", "host_id", "users", "id"),
    ("meetings", "host_id", "users", "id"),
    ("recordings", "host_id", "users", "id"),
    ("webinars", "host_id", "users", "id"),
    ("meeting_participants", "meeting_uuid", "meeting_instances", "uuid"),
    ("webinar_instances", "id", "webinars", "id"),
    ("webinar_participants", "webinar_uuid", "webinar_instances", "uuid"),
    ("webinar_absentees", "webinar_uuid", "webinar_instances", "uuid"),
    ("webinar_registrants", "webinar_id", "webinars", "id"),
    ("recording_files", "meeting_uuid", "recordings", "meeting_uuid"),  # contract parent_keys
}


def test_every_declared_parent_is_a_relation_and_nothing_else() -> None:
    links = erd.relations(load_contracts())
    assert {(r.child, r.column, r.parent, r.parent_column) for r in links} == EXPECTED
    # Every stream fetched per parent key shows up as a reference from its table to its parent's.
    children = {(r.child, r.parent) for r in links}
    assert {(s.tables[0], s.parent) for s in STREAMS if s.parent} <= children
    assert all(r.declared_by for r in links)


def test_a_relation_needs_a_declaration_not_a_matching_name() -> None:
    contracts = load_contracts()
    instances = contracts["webinar_instances"]
    # Without its declared source for the page context key, webinar_instances.id is just a column named id.
    plain = tuple(replace(c, sources=("id",)) if c.name == "id" else c for c in instances.columns)
    undeclared = {**contracts, "webinar_instances": replace(instances, columns=plain)}
    pairs = {(r.child, r.parent) for r in erd.relations(undeclared)}
    assert ("webinar_instances", "webinars") not in pairs
    # And user_engagement-like names (a column host_id in a table with no declared parent) link nothing.
    lone = {(r.child, r.parent) for r in erd.relations(contracts, ())}
    assert lone == {("recording_files", "recordings")}


def test_the_layout_puts_children_right_of_their_parents() -> None:
    contracts = load_contracts()
    links = erd.relations(contracts)
    drawing = erd.draw(contracts, links)
    assert drawing.count('<g class="table"') == len(contracts)
    assert drawing.count('<g class="link">') == len(links)
    x = {
        t: float(v)
        for t, v in re.findall(r'<g class="table" id="erd-(\w+)"><rect class="box" x="([0-9.]+)"', drawing)
    }
    for link in links:
        assert x[link.child] > x[link.parent], link
    lone = {"daily_usage", "operation_logs", "sign_in_activity"}
    assert {x[t] for t in lone} == {max(x.values())}  # tables with no relation: a column of their own
