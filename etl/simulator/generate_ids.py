"""Stable seeds and Zoom-shaped identifiers for the generator.

Sub-seeds come from a hash of their parts (never ``hash()`` of a str, which Python salts per process), so
any lazy part of the account (participants of one instance, sign-ins of one day) is regenerated
identically in any process, in any order.
"""

from __future__ import annotations

import base64
import hashlib
from random import Random

MEETING_ID_MIN = 2_200_000_000  # 10 digits and above 2**31: ids must be read as 64-bit integers
MEETING_ID_MAX = 99_999_999_999  # 11 digits

AWKWARD_EVERY = 16  # of every 16 UUIDs, one starts with "/" and one contains "//" (6.25% each)


def sub_seed(*parts: object) -> int:
    """A 63-bit seed derived from ``parts`` (ints, strs, tuples of them), stable across processes."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def zoom_id(rng: Random) -> str:
    """A 22-character base64url id, like Zoom's user ids (``30R7kT7bTIKSNUFEuH_Qlg``)."""
    return base64.urlsafe_b64encode(rng.getrandbits(128).to_bytes(16, "big")).decode().rstrip("=")


def stable_zoom_id(*parts: object) -> str:
    """A ``zoom_id`` that depends only on ``parts`` (participant_user_id of a given person...)."""
    return zoom_id(Random(sub_seed("zoom-id", *parts)))


def instance_uuid(rng: Random, serial: int) -> str:
    """A 24-character base64 meeting UUID ending in ``==``; ``serial`` counts the caller's UUIDs.

    Plain base64 rarely starts with ``/`` or holds ``//``, so those forms are forced on a fixed share of
    serials (any 16 consecutive UUIDs hold one of each); ``+`` occurs naturally in about a third. These
    are the encodings every client must get right (double URL-encoding).
    """
    chars = list(base64.b64encode(rng.getrandbits(128).to_bytes(16, "big")).decode())
    if serial % AWKWARD_EVERY == 3:
        chars[0] = "/"
    elif serial % AWKWARD_EVERY == 11:
        at = 1 + int(rng.random() * 19)
        chars[at] = chars[at + 1] = "/"
    return "".join(chars)


def meeting_number(rng: Random, used: set[int]) -> int:
    """A fresh meeting/webinar id (10-11 digits, > 2**31), unique within ``used`` (which it extends)."""
    while True:
        number = MEETING_ID_MIN + int(rng.random() * (MEETING_ID_MAX - MEETING_ID_MIN))
        if number not in used:
            used.add(number)
            return number


def file_id(rng: Random) -> str:
    """A UUID4-shaped recording file id (``72576a1f-4e66-4a77-87c4-f13f9808bd76``)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"
