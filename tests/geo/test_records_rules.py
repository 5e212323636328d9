"""The records' pure rules, without a database: the accident classes of State Council Decree No. 493, the allowed
status changes of a hidden danger and their dates, and the photo checks by content."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from geo.errors import FieldError, PhotoTooLarge, TransitionRefused, UnsupportedPhoto
from geo.records import accident_class, photos, transitions

PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@pytest.mark.parametrize(("deaths", "injured", "loss", "expected"), [
    (0, 0, 0, "general"),
    (2, 9, 999.99, "general"),
    (3, 0, 0, "relatively_serious"),  # lower bounds inclusive ("以上")
    (0, 10, 0, "relatively_serious"),
    (0, 0, 1_000, "relatively_serious"),
    (9, 49, 4_999, "relatively_serious"),  # upper bounds exclusive ("以下")
    (10, 0, 0, "serious"),
    (0, 50, 0, "serious"),
    (0, 0, 5_000, "serious"),
    (29, 99, 9_999, "serious"),
    (30, 0, 0, "especially_serious"),
    (0, 100, 0, "especially_serious"),
    (0, 0, 10_000, "especially_serious"),
    (1, 0, np.nan, "general"),  # an unknown loss counts for nothing
    (4, 0, 20_000, "especially_serious"),  # the worst of the three
])
def test_accident_class_follows_the_decree_table(deaths, injured, loss, expected):
    """The class is the worst reached by deaths, serious injuries or direct loss, bounds as in domain.md §8."""
    assert accident_class.accident_class([deaths], [injured], [loss]).tolist() == [expected]


def test_allowed_transitions_are_exactly_the_five_of_the_loop():
    """open→rectified, rectified→verified, rectified→reopened, verified→reopened, reopened→rectified; no other."""
    allowed = {(a, b) for a in transitions.STATUSES for b in transitions.STATUSES
               if b in transitions.allowed(a)}
    assert allowed == {("open", "rectified"), ("rectified", "verified"), ("rectified", "reopened"),
                       ("verified", "reopened"), ("reopened", "rectified")}


@pytest.mark.parametrize(("current", "new", "allowed"), [
    ("open", "verified", ["rectified"]),
    ("verified", "open", ["reopened"]),
    ("rectified", "rectified", ["verified", "reopened"]),
    ("reopened", "verified", ["rectified"]),
])
def test_a_refused_transition_names_the_allowed_ones(current, new, allowed):
    """A change outside the rules raises TransitionRefused listing what the current status may become."""
    with pytest.raises(TransitionRefused) as e:
        transitions.check(current, new)
    assert e.value.allowed == allowed and all(a in str(e.value) for a in allowed)


DANGER = {"status": "open", "found_on": dt.date(2026, 3, 1), "status_changed_on": dt.date(2026, 3, 1)}


def test_a_change_sets_the_date_of_its_status_and_a_new_rectification_clears_the_old_verification():
    """rectified on D writes rectified_on and status_changed_on = D; reopened → rectified clears verified_on."""
    assert transitions.change(DANGER, "rectified", dt.date(2026, 3, 9)) == {
        "status": "rectified", "status_changed_on": dt.date(2026, 3, 9), "rectified_on": dt.date(2026, 3, 9),
        "verified_on": None}
    reopened = {**DANGER, "status": "reopened", "status_changed_on": dt.date(2026, 5, 1)}
    assert transitions.change(reopened, "rectified", dt.date(2026, 5, 20))["verified_on"] is None
    assert transitions.change({**DANGER, "status": "rectified"}, "verified", dt.date(2026, 3, 2)) == {
        "status": "verified", "status_changed_on": dt.date(2026, 3, 2), "verified_on": dt.date(2026, 3, 2)}


def test_a_change_dated_before_the_danger_was_found_or_its_last_change_is_refused():
    """The date of a change may not precede found_on, nor the last status change."""
    with pytest.raises(FieldError, match="before the danger was found"):
        transitions.change(DANGER, "rectified", dt.date(2026, 2, 28))
    later = {**DANGER, "status": "rectified", "status_changed_on": dt.date(2026, 4, 1)}
    with pytest.raises(FieldError, match="before the danger's last status change"):
        transitions.change(later, "verified", dt.date(2026, 3, 15))


def test_status_paths_for_reimports():
    """A re-import may move a status forward through allowed changes; nothing leads back to open."""
    assert transitions.path("open", "verified") == ("rectified", "verified")
    assert transitions.path("verified", "rectified") == ("reopened", "rectified")
    assert transitions.path("open", "open") == ()
    assert all(transitions.path(s, "open") is None for s in ("rectified", "verified", "reopened"))


@pytest.mark.parametrize(("head", "expected"), [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    (PNG_HEAD, "image/png"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),  # a RIFF file that is not WebP
    (b"GIF89a\x01\x00", None),
    ("隐患照片".encode(), None),
    (b"", None),
])
def test_photo_types_are_told_by_their_first_bytes(head, expected):
    """JPEG, PNG and WebP by their magic numbers; anything else is no photo."""
    assert photos.content_type(head) == expected


def test_photo_checks_refuse_other_types_and_sizes_over_the_limit():
    """Text is refused as unsupported whatever its name; a photo one byte over the limit is too large."""
    with pytest.raises(UnsupportedPhoto, match="not a JPEG, PNG or WebP"):
        photos.check_photo(b"just some text", 1000, "the photo 'x.jpg'")
    with pytest.raises(PhotoTooLarge, match="larger than the limit of 1,000 bytes"):
        photos.check_photo(PNG_HEAD + b"\0" * (1001 - len(PNG_HEAD)), 1000)
    assert photos.check_photo(PNG_HEAD + b"\0" * (1000 - len(PNG_HEAD)), 1000) == "image/png"
