"""Zoom's transcript (WebVTT) and chat (TXT) files as rows; pure functions, no I/O.

Formats, from real Zoom cloud files (research notes WEBHOOKS_RECORDINGS.md §2.4, §2.5):

- ``TRANSCRIPT``: ``WEBVTT``, a blank line, then cues: a number, ``HH:MM:SS.mmm --> HH:MM:SS.mmm``, a line
  ``Speaker Name: text``. Some cues have no speaker (``Hmm.``): speaker None. The speaker is what comes
  before the first ``": "`` (a display name holding ``": "`` is split wrongly: the format cannot tell).
- ``CC``: the same without cue numbers and without speakers; a caption line such as ``Note: ...`` is
  text, so speakers are read from ``TRANSCRIPT`` files only.
- ``CHAT``: ``HH:MM:SS<TAB>Sender:<TAB>message`` (2024 files); the older ``HH:MM:SS From  Name  to
  Everyone: message`` is read too; a line without a time continues the message before it.

A BOM and CRLF line ends are accepted. A file these rules cannot read raises ``BadFile`` naming the line,
and its caller records it in ``_etl.rejects``: a bad file is never silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TS = r"(\d{2,}):(\d{2}):(\d{2})[.,](\d{3})"
_CUE_TIME = re.compile(rf"^{_TS}\s+-->\s+{_TS}")
_SPEAKER = re.compile(r"^(?P<speaker>[^:\n]{1,200}?): (?P<text>.*)$", re.S)
_CHAT_TAB = re.compile(r"^(\d{2}):(\d{2}):(\d{2})\t(?P<sender>[^\t]*?):?\t(?P<message>.*)$")
_CHAT_OLD = re.compile(
    r"^(\d{2}):(\d{2}):(\d{2})\s+From\s+(?P<sender>.+?)\s+to\s+(?P<to>.+?):\s?(?P<message>.*)$"
)


class BadFile(ValueError):
    """A file that is not what its type says; the message names the line."""


@dataclass(frozen=True, slots=True)
class Cue:
    sequence: int
    start_ms: int
    end_ms: int
    speaker: str | None
    text: str


@dataclass(frozen=True, slots=True)
class ChatLine:
    sequence: int
    offset_s: int
    sender: str
    recipient: str | None
    message: str


def _ms(h: str, m: str, s: str, ms: str) -> int:
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(ms)


def _lines(text: str) -> str:
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def parse_vtt(text: str, *, speakers: bool) -> list[Cue]:
    """The cues of a WebVTT file; ``speakers``: split ``Name: text`` (TRANSCRIPT), else keep the text (CC)."""
    text = _lines(text)
    if not text.startswith("WEBVTT"):
        raise BadFile("line 1: not a WebVTT file (no WEBVTT header)")
    cues: list[Cue] = []
    blocks = re.split(r"\n[ \t]*\n", text)
    line_no = blocks[0].count("\n") + 3  # the header's lines, then one blank line
    for block in blocks[1:]:
        start_line = line_no
        line_no += block.count("\n") + 2
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines or lines[0].startswith("NOTE"):
            continue
        if not _CUE_TIME.match(lines[0]):
            if len(lines) < 2 or not _CUE_TIME.match(lines[1]):
                raise BadFile(f"line {start_line}: expected a cue timing (HH:MM:SS.mmm --> HH:MM:SS.mmm)")
            lines = lines[1:]  # the cue id (Zoom numbers them)
        m = _CUE_TIME.match(lines[0])
        assert m is not None
        start, end = _ms(*m.groups()[:4]), _ms(*m.groups()[4:])
        if end < start:
            raise BadFile(f"line {start_line}: cue ends before it starts")
        body = "\n".join(lines[1:]).strip()
        speaker = None
        if speakers and (sm := _SPEAKER.match(body)):
            speaker, body = sm["speaker"].strip(), sm["text"].strip()
        cues.append(Cue(len(cues) + 1, start, end, speaker, body))
    return cues


def parse_chat(text: str) -> list[ChatLine]:
    """The messages of a chat file, in order."""
    out: list[ChatLine] = []
    for number, line in enumerate(_lines(text).split("\n"), 1):
        if not line.strip():
            continue
        m = _CHAT_TAB.match(line)
        recipient = None
        if m is None:
            m = _CHAT_OLD.match(line)
            recipient = m["to"].strip() if m else None
        if m is None:
            if not out:
                raise BadFile(f"line {number}: not a chat line (HH:MM:SS<TAB>Sender:<TAB>message)")
            last = out[-1]
            out[-1] = ChatLine(
                last.sequence, last.offset_s, last.sender, last.recipient, f"{last.message}\n{line}"
            )
            continue
        h, mi, s = (int(g) for g in m.groups()[:3])
        out.append(
            ChatLine(len(out) + 1, (h * 60 + mi) * 60 + s, m["sender"].strip(), recipient, m["message"])
        )
    return out
