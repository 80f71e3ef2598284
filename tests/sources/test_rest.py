"""REST ids and paths: Zoom's double encoding, `me` refused, max page sizes."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etl.sources.rest import Endpoint, encode_id


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("/abc==", "%252Fabc%253D%253D"),
        ("ab//cd+e=", "ab%252F%252Fcd%252Be%253D"),
        ("4444AAAiAAAAAiAiAiiAii==", "4444AAAiAAAAAiAiAiiAii%3D%3D"),
        ("ab/cd+e=", "ab%2Fcd%2Be%3D"),
        ("93989529046", "93989529046"),
        (93989529046, "93989529046"),
        ("user@example.com", "user%40example.com"),
    ],
)
def test_encode_id(raw: str | int, encoded: str) -> None:
    assert encode_id(raw) == encoded


@given(st.text(alphabet="ABCabc012+/=", min_size=1, max_size=24))
def test_encoded_ids_decode_back_and_never_contain_a_raw_slash(uuid: str) -> None:
    encoded = encode_id(uuid)
    assert "/" not in encoded
    double = uuid.startswith("/") or "//" in uuid
    decoded = unquote(unquote(encoded)) if double else unquote(encoded)
    assert decoded == uuid


def test_render_fills_and_encodes_placeholders_and_refuses_me() -> None:
    endpoint = Endpoint(
        path="/report/meetings/{meetingId}/participants",
        records_key="participants",
        category="heavy",
        scopes=(),
        granular=(),
    )
    assert (
        endpoint.render({"meetingId": "/x//y=="})
        == "/report/meetings/%252Fx%252F%252Fy%253D%253D/participants"
    )
    with pytest.raises(ValueError, match="no value"):
        endpoint.render({})
    users = Endpoint(
        path="/users/{userId}/meetings", records_key="meetings", category="medium", scopes=(), granular=()
    )
    with pytest.raises(ValueError, match="Server-to-Server"):
        users.render({"userId": "me"})


def test_query_uses_the_max_page_size_and_fixed_params() -> None:
    endpoint = Endpoint(
        path="/users",
        records_key="users",
        category="medium",
        scopes=(),
        granular=(),
        params=(("status", "active"),),
    )
    assert endpoint.query({"next_page_token": "t"}) == {
        "status": "active",
        "page_size": 300,
        "next_page_token": "t",
    }
    assert (
        Endpoint(
            path="/report/daily", records_key="dates", category="heavy", scopes=(), granular=(), paging="none"
        ).query()
        == {}
    )
