"""Zoom's transcript, caption and chat files as rows: the formats of real cloud files, and bad files."""

from __future__ import annotations

import pytest

from etl.recordings.layout import relative_path, safe_name, safe_uuid
from etl.recordings.parse import BadFile, parse_chat, parse_vtt

# The layout of a real Zoom cloud transcript (research notes §2.4), names replaced.
TRANSCRIPT = """WEBVTT

1
00:00:00.050 --> 00:00:01.790
Speaker One: Hi!

2
00:00:02.070 --> 00:00:04.050
Speaker Two: Get this party started: the agenda has 3 items.

48
00:05:07.300 --> 00:05:07.980
Hmm.
"""


def test_transcript_cues_carry_speaker_offsets_and_keep_colons_in_the_text() -> None:
    cues = parse_vtt(TRANSCRIPT, speakers=True)
    assert [(c.sequence, c.start_ms, c.end_ms, c.speaker) for c in cues] == [
        (1, 50, 1790, "Speaker One"),
        (2, 2070, 4050, "Speaker Two"),
        (3, 307_300, 307_980, None),
    ]
    assert cues[1].text == "Get this party started: the agenda has 3 items." and cues[2].text == "Hmm."


def test_bom_and_crlf_are_read_like_the_plain_file() -> None:
    crlf = "\ufeff" + TRANSCRIPT.replace("\n", "\r\n")
    assert parse_vtt(crlf, speakers=True) == parse_vtt(TRANSCRIPT, speakers=True)


def test_captions_have_no_numbers_and_no_speakers() -> None:
    captions = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nNote: this is said\n\n00:00:03.000 --> 00:00:04.000\nok\n"
    )
    cues = parse_vtt(captions, speakers=False)
    assert [(c.sequence, c.speaker, c.text) for c in cues] == [
        (1, None, "Note: this is said"),
        (2, None, "ok"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!DOCTYPE html><html>Only the host can download</html>", "line 1: not a WebVTT file"),
        ("WEBVTT\n\n1\nnot a time\nHi\n", "line 3: expected a cue timing"),
        ("WEBVTT\n\n00:00:05.000 --> 00:00:01.000\nbackwards\n", "cue ends before it starts"),
    ],
)
def test_a_bad_vtt_names_the_line(text: str, message: str) -> None:
    with pytest.raises(BadFile, match=message):
        parse_vtt(text, speakers=True)


def test_chat_tab_format_reactions_old_format_and_continuations() -> None:
    text = (
        "00:05:16\tAlice Example:\tLet's stay muted unless speaking\n"
        '00:12:02\tDr. Bob Example:\tReacted to "Lots of engagement c..." with \U0001f44d\n'
        "01:02:03 From  Carol  to  Everyone: old style: still read\n"
        "and a second line\n"
    )
    rows = parse_chat(text)
    assert [(r.sequence, r.offset_s, r.sender, r.recipient) for r in rows] == [
        (1, 316, "Alice Example", None),
        (2, 722, "Dr. Bob Example", None),
        (3, 3723, "Carol", "Everyone"),
    ]
    assert rows[2].message == "old style: still read\nand a second line"


def test_a_chat_file_that_is_not_one_is_refused() -> None:
    with pytest.raises(BadFile, match="line 1: not a chat line"):
        parse_chat("<html><body>Only the host can download this recording</body></html>")


def test_safe_names_and_uuids() -> None:
    assert safe_name('Q3 plan: "final" / v2?') == "Q3 plan_ _final_ _ v2_"
    assert safe_name("CON") == "_CON" and safe_name("...") == "untitled" and len(safe_name("x" * 300)) == 80
    assert safe_uuid("/ab+cd//ef==") == "_ab-cd__ef=="
    path = relative_path(
        account_id="acc",
        host="a@b.example",
        start_time=None,
        meeting_uuid="u/1==",
        topic="All hands",
        file_type="CC",
        file_key="CC|u/1==|2026-01-01T00:00:00Z",
        extension="VTT",
    )
    assert path.parts[:4] == ("acc", "a_b.example", "undated", "u_1==")
    assert path.name.startswith("All hands - CC - ") and path.name.endswith(".vtt")


def test_bandwidth_cap_paces_bytes_across_calls() -> None:
    import time

    from etl.cli.recordings import parse_rate
    from etl.http.files import host_allowed, pace

    assert parse_rate("10MB/s") == 10e6 and parse_rate("500k") == 500e3 and parse_rate(None) == 0
    throttle = pace(200_000)  # 200 kB/s
    started = time.monotonic()
    for _ in range(5):
        throttle(20_000)  # 100 kB in all: the last chunk may start 0.4 s after the first
    assert time.monotonic() - started >= 0.38
    assert host_allowed("ssrweb.zoom.us", (".zoom.us",)) and host_allowed("zoom.us", (".zoom.us",))
    assert not host_allowed("zoom.us.evil.example", (".zoom.us",)) and not host_allowed(
        "evilzoom.us", (".zoom.us",)
    )
