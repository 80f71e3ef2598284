"""Named sizes of the generated account.

``tiny`` is for unit tests: small enough to generate in a few milliseconds, yet it holds every special
case the extractors must handle (rejoins, same-named guests, UUIDs with ``/``, late reports, deactivations
after the clock's start...). ``demo`` is what ``zoom-etl demo`` syncs. ``bench`` is sized for the
rate-limit benchmark (~100k participant rows) and ``large`` for the memory bar (1.1M participant rows
within the 6 months Zoom's reports reach, generated lazily, never stored). Both hold an all-hands every 4
weeks, whose participants report spans several pages of 300. Recording files are served as real bytes,
scaled down (``media_scale``): tens of kilobytes a video on ``tiny`` and ``demo``, hundreds on ``bench``.

Every profile keeps ``future_days`` (>= 14) of data beyond the clock's start, revealed as the clock moves.
"""

from __future__ import annotations

from dataclasses import replace

from etl.simulator.model import Profile

PROFILES: dict[str, Profile] = {
    "tiny": Profile(
        name="tiny",
        users=8,
        history_days=30,
        future_days=14,
        meetings_per_user_week=3.0,
        mean_participants=4.5,
        webinars_per_month=2,
        media_scale=20_000,
    ),
    "demo": Profile(
        name="demo",
        users=40,
        history_days=60,
        future_days=14,
        meetings_per_user_week=3.0,
        mean_participants=4.5,
        webinars_per_month=4,
        media_scale=20_000,
    ),
    "bench": Profile(
        name="bench",
        users=260,
        history_days=120,
        future_days=14,
        meetings_per_user_week=6.0,
        mean_participants=8.0,
        webinars_per_month=8,
        all_hands=400,
        media_scale=2_000,
    ),
    "large": Profile(
        name="large",
        users=1500,
        history_days=200,
        future_days=14,
        meetings_per_user_week=2.5,
        mean_participants=18.0,
        webinars_per_month=20,
        all_hands=900,
        media_scale=2_000,
    ),
}


def get_profile(profile: str | Profile) -> Profile:
    """The named profile (a copy, so callers may tweak it), or ``profile`` itself if already one."""
    if isinstance(profile, Profile):
        return profile
    try:
        return replace(PROFILES[profile], extra=dict(PROFILES[profile].extra))
    except KeyError:
        names = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown simulator profile {profile!r}; known profiles: {names}") from None
