"""What a simulated recording file holds: bytes of the stated ``file_size``, deterministic from a seed.

Video and audio (``MP4``, ``M4A``) are placeholders shaped like the real thing only at the start: an ISO
base media ``ftyp`` box (brand ``isom`` or ``M4A ``), then one ``mdat`` box covering the rest, filled by a
64 KiB block drawn from the file's seed and repeated. Any byte range is computed without building the
file, so a large file costs no memory and ``Range`` requests are cheap.

Text files are real-shaped (the research notes, WEBHOOKS_RECORDINGS.md §2.4-2.6, from real Zoom output):

- ``TRANSCRIPT``: WebVTT, numbered cues, ``HH:MM:SS.mmm --> HH:MM:SS.mmm``, one line ``Speaker: text``; now
  and then a cue without a speaker (``Hmm.``), as in real files; LF endings, no BOM;
- ``CC``: WebVTT without cue numbers or speakers;
- ``CHAT``: ``HH:MM:SS<TAB>Sender Name:<TAB>message`` lines, offsets from the recording's start, reactions
  as messages;
- ``TIMELINE``: JSON ``{"timeline": [{"ts": ..., "users": [...]}]}`` (its real structure is unverified).

Their ``file_size`` is the length of their UTF-8 text, so the listing and the download always agree.
"""

from __future__ import annotations

import struct
from datetime import timedelta
from random import Random

import orjson

BLOCK = 65_536
CONTENT_TYPES = {
    "MP4": "video/mp4",
    "M4A": "audio/mp4",
    "TRANSCRIPT": "text/vtt",
    "CC": "text/vtt",
    "CHAT": "text/plain; charset=utf-8",
    "TIMELINE": "application/json",
    "CSV": "text/csv",
    "SUMMARY": "application/json",
}
TEXT_TYPES = frozenset({"TRANSCRIPT", "CC", "CHAT", "TIMELINE"})
LINES = (
    "Good morning, everyone, thanks for joining.",
    "Let's start with the numbers from last week.",
    "The release went out on Thursday: no rollback this time.",
    "Can you share your screen?",
    "I think we should revisit the budget: it is tight.",
    "Customer feedback on the new dashboard is mostly positive.",
    "We still have two open incidents, both minor.",
    "Action item for me: send the notes by Friday.",
    "Could you repeat the last point? The audio dropped.",
    "Yes, that matches what we saw in the logs.",
    "Hiring: two offers out, one accepted.",
    "Let's take that offline.",
    "Any questions before we wrap up?",
    "Thanks, everyone. See you next week.",
)
FILLERS = ("Hmm.", "Okay.", "Right.")
CHAT_LINES = (
    "Here is the link to the doc: https://docs.example.com/q3-plan",
    "+1",
    "Sorry, I have to drop for another call",
    "Can someone post the slides?",
    "Great work on the release!",
    "Is this being recorded?",
)


def media_header(file_type: str, size: int) -> bytes:
    """An ``ftyp`` box then the header of one ``mdat`` box spanning the rest (cut to ``size``)."""
    brand = b"M4A " if file_type == "M4A" else b"isom"
    ftyp = struct.pack(">I4s4sI", 24, b"ftyp", brand, 512) + brand + b"mp41"
    mdat = struct.pack(">I4s", max(0, size - len(ftyp)), b"mdat")
    return (ftyp + mdat)[:size]


class MediaBody:
    """The bytes of one binary file, by range: header, then a seeded 64 KiB block repeated."""

    def __init__(self, file_type: str, size: int, seed: int) -> None:
        self.size = size
        self.header = media_header(file_type, size)
        self.block = Random(seed).randbytes(BLOCK)

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``."""
        end = min(end, self.size)
        out = bytearray()
        pos = start
        while pos < end:
            if pos < len(self.header):
                piece = self.header[pos : min(end, len(self.header))]
            else:
                offset = (pos - len(self.header)) % BLOCK
                piece = self.block[offset : offset + min(end - pos, BLOCK - offset)]
            out += piece
            pos += len(piece)
        return bytes(out)


def _stamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _cues(
    rng: Random, length: float, names: tuple[str, ...], cap: int
) -> list[tuple[float, float, str, str]]:
    """(start, end, speaker or "", text) cues over ``length`` seconds; at most ``cap``."""
    cues: list[tuple[float, float, str, str]] = []
    t = rng.uniform(0.05, 3.0)
    speaker = names[0] if names else ""
    while t < length - 1 and len(cues) < cap:
        if rng.random() < 0.3:
            speaker = rng.choice(names) if names else ""
        duration = rng.uniform(1.0, 6.0)
        end = min(length, t + duration)
        if rng.random() < 0.04:
            cues.append((t, end, "", rng.choice(FILLERS)))
        else:
            cues.append((t, end, speaker, rng.choice(LINES)))
        t = end + rng.uniform(0.2, 20.0)
    return cues


def transcript_vtt(seed: int, length: float, names: tuple[str, ...], cap: int = 400) -> str:
    rng = Random(seed)
    blocks = ["WEBVTT", ""]
    for n, (start, end, speaker, text) in enumerate(_cues(rng, length, names, cap), 1):
        blocks += [
            str(n),
            f"{_stamp(start)} --> {_stamp(end)}",
            f"{speaker}: {text}" if speaker else text,
            "",
        ]
    return "\n".join(blocks)


def captions_vtt(seed: int, length: float, names: tuple[str, ...], cap: int = 400) -> str:
    rng = Random(seed)
    blocks = ["WEBVTT", ""]
    for start, end, _speaker, text in _cues(rng, length, names, cap):
        blocks += [f"{_stamp(start)} --> {_stamp(end)}", text, ""]
    return "\n".join(blocks)


def chat_txt(seed: int, length: float, names: tuple[str, ...]) -> str:
    rng = Random(seed)
    lines: list[str] = []
    t = 0.0
    for _ in range(rng.randint(1, 25)):
        t += rng.uniform(5, max(6.0, length / 10))
        if t >= length:
            break
        sender = rng.choice(names) if names else "Guest"
        if lines and rng.random() < 0.15:
            message = f'Reacted to "{lines[-1].split(chr(9))[-1][:20]}..." with \U0001f44d\U0001f3fb'
        else:
            message = rng.choice(CHAT_LINES)
        whole = int(t)
        lines.append(f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}\t{sender}:\t{message}")
    return "\n".join(lines) + "\n"


def timeline_json(seed: int, length: float, names: tuple[str, ...]) -> str:
    rng = Random(seed)
    entries: list[dict[str, object]] = []
    t = 0.0
    while t < length and len(entries) < 200:
        who = rng.choice(names) if names else "Guest"
        entries.append({"ts": _stamp(t), "users": [{"username": who, "multiple_people": False}]})
        t += rng.uniform(5, 120)
    return orjson.dumps({"timeline": entries}).decode()


def text_of(file_type: str, seed: int, length: timedelta, names: tuple[str, ...]) -> str:
    """The text of a ``TEXT_TYPES`` file of a recording ``length`` long with these speakers."""
    seconds = max(1.0, length.total_seconds())
    if file_type == "TRANSCRIPT":
        return transcript_vtt(seed, seconds, names)
    if file_type == "CC":
        return captions_vtt(seed, seconds, names)
    if file_type == "CHAT":
        return chat_txt(seed, seconds, names)
    return timeline_json(seed, seconds, names)
