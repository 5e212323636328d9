"""Photos of hidden dangers: only JPEG, PNG and WebP images, judged by their first bytes (their "magic numbers"),
never by the file's name or the type its sender declares, and no larger than a limit (a setting)."""

from __future__ import annotations

from geo.errors import PhotoTooLarge, UnsupportedPhoto

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
