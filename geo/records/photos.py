"""Photos of hidden dangers: only JPEG, PNG and WebP images, judged by their first bytes (their "magic numbers"),
never by the file's name or the type its sender declares, and no larger than a limit (a setting)."""

from __future__ import annotations

import datetime as dt

from geo.errors import FieldError, PhotoTooLarge, UnsupportedPhoto

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
HARD_MAX_BYTES = 100 * 1024 * 1024  # migration 0013's check: a limit set higher is refused by the database
CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp")


def content_type(head: bytes) -> str | None:
    """The image type the bytes start with, or None.

    >>> content_type(b"\\x89PNG\\r\\n\\x1a\\n...")
    'image/png'
    >>> content_type(b"not an image") is None
    True
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_photo(data: bytes, max_bytes: int, name: str = "the photo") -> str:
    """The content type of ``data``; PhotoTooLarge over ``max_bytes``, UnsupportedPhoto when it is empty or not a
    JPEG, PNG or WebP image."""
    if len(data) > max_bytes:
        raise PhotoTooLarge(f"{name} is larger than the limit of {max_bytes:,} bytes (RISKMAP_PHOTO_MAX_MB)")
    kind = content_type(data[:12])
    if kind is None:
        what = "empty" if not data else "not a JPEG, PNG or WebP image (judged by its content, not its name)"
        raise UnsupportedPhoto(f"{name} is {what}; photos must be JPEG, PNG or WebP")
    return kind


def taken_at_as_stored(taken_at: dt.datetime | None) -> dt.datetime | None:
    """When a photo was taken, as PostgreSQL can store it: a time with a UTC offset is moved to UTC, the same
    instant (Python accepts offsets up to ±23:59, PostgreSQL only up to ±15:59, and refused a wider one with an
    error, a 500); a time without one is kept.  FieldError naming taken_at when the instant in UTC falls outside
    the years 1 to 9999 (0001-01-01T00:00+05:00).

    >>> taken_at_as_stored(dt.datetime(2026, 3, 1, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=21))))
    datetime.datetime(2026, 2, 28, 13, 30, tzinfo=datetime.timezone.utc)
    """
    if taken_at is None or taken_at.utcoffset() is None:
        return taken_at
    try:
        return taken_at.astimezone(dt.UTC)
    except OverflowError:
        raise FieldError("taken_at", f"{taken_at.isoformat()} is out of range: in UTC it falls outside the "
                                     "years 1 to 9999") from None
