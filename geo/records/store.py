"""Reading and changing stored records: one record with its site (and a danger's photos, an inspection's dangers),
the history of a record (record_history: every change, its rows before and after, when and who), a hidden
danger's status changes along the allowed transitions, and its photos.

Every function takes the connection; those that write run one transaction, say who writes (riskmap.actor, kept
by the history) and commit, or roll back whole.  Records are created and updated in bulk by the importer
(geo/importer.py); the API's single records go through it too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources

from psycopg2 import sql

from geo.dates import not_ahead
from geo.errors import FieldError, NotFound
from geo.importer import set_actor
from geo.records import transitions
from geo.records.kinds import RECORD_KINDS
from geo.records.photos import check_photo, taken_at_as_stored

# Fields a change of a hidden danger may set beside its status (PATCH /hidden-dangers/{id}, the CLI).
EDITABLE = ("deadline", "responsible_unit", "responsible_person", "measures")
_PHOTO_COLUMNS = ("id", "content_type", "bytes", "sha256", "taken_at", "created_at", "added_by")


@cache
def _sql(name: str) -> str:
    return resources.files("geo.records").joinpath(f"sql/{name}.sql").read_text(encoding="utf-8")


@contextmanager
def transaction(conn) -> Iterator[None]:
    """One transaction on ``conn`` (whatever its autocommit setting, which it restores): committed when the block
    ends, rolled back whole when it raises."""
    autocommit = conn.autocommit
    conn.autocommit = False
    try:
        yield
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        if autocommit:
            conn.autocommit = True


def _word(kind: str) -> str:
    return kind.replace("_", " ")


def id_of(conn, kind: str, source_id: str) -> int | None:
    """The riskmap id of the record of ``kind`` with this register id, None when there is none."""
    with conn.cursor() as cur:
        cur.execute(sql.SQL(_sql("record_id")).format(table=sql.Identifier(RECORD_KINDS[kind].table)),
                    {"source_id": source_id})
        row = cur.fetchone()
    return row[0] if row else None  # no rollback: the caller's transaction may go on


def read(conn, kind: str, record_id: int) -> dict:
    """The record ``record_id`` of ``kind`` as a dict of its columns, with ``site`` ({kind, id, source_id, name};
    source_id and name None when the site is gone), and for an accident ``lon``/``lat``, for a hidden danger its
    ``inspection`` ({id, source_id}) and ``photos``, for an inspection its ``hidden_dangers``.  NotFound when
    there is none."""
    if kind not in RECORD_KINDS:
        raise NotFound(f"no record kind {kind!r}")
    with conn.cursor() as cur:
        cur.execute(sql.SQL(_sql("record")).format(table=sql.Identifier(kind)), {"id": record_id})
        row = cur.fetchone()
        if row is None:
            raise NotFound(f"no {_word(kind)} with id {record_id}")
        record = row[0]
        geom = record.pop("geom", None)
        if geom is not None:
            record["lon"], record["lat"] = geom["coordinates"][:2]
        record["site"] = None
        if record.get("site_kind"):
            cur.execute(_sql("site"), {"kind": record["site_kind"], "id": record["site_id"]})
            found = cur.fetchone()
            record["site"] = {"kind": record["site_kind"], "id": record["site_id"],
                              "source_id": found[0] if found else None, "name": found[1] if found else None}
        if kind == "hidden_danger":
            record["inspection"] = None
            if record.get("inspection_id"):
                cur.execute(_sql("inspection_source_id"), {"id": record["inspection_id"]})
                found = cur.fetchone()
                record["inspection"] = {"id": record["inspection_id"], "source_id": found[0] if found else None}
            cur.execute(_sql("photos"), {"id": record_id})
            record["photos"] = [_photo(r) for r in cur.fetchall()]
        if kind == "inspection":
            cur.execute(_sql("inspection_dangers"), {"id": record_id})
            record["hidden_dangers"] = [{"id": i, "source_id": s, "grade": g, "status": st, "deadline": d}
                                        for i, s, g, st, d in cur.fetchall()]
    conn.rollback()
    return record


_SITE_DANGER_COLUMNS = ("id", "source_id", "description", "category", "grade", "found_on", "deadline", "status",
                        "status_changed_on", "responsible_unit", "responsible_person", "photos")


def site_dangers(conn, site_kind: str, site_id: int) -> list[dict]:
    """The hidden dangers of a site not yet closed (open, reopened, or rectified and not yet verified), each with
    its deadline, status, responsible unit and person and number of photos: open ones first, by deadline."""
    with conn.cursor() as cur:
        cur.execute(_sql("site_dangers"), {"kind": site_kind, "id": site_id})
        rows = cur.fetchall()
    conn.rollback()
    return [dict(zip(_SITE_DANGER_COLUMNS, row, strict=True)) for row in rows]


def history(conn, kind: str, record_id: int) -> list[dict]:
    """Every change of the record, oldest first: operation (insert, update, delete), changed_at, changed_by,
    the row ``before`` and ``after`` (None for an insert's before and a delete's after) and the columns that
    ``changed``.  A deleted record keeps its history; NotFound when the record never existed."""
    if kind not in RECORD_KINDS:
        raise NotFound(f"no record kind {kind!r}")
    with conn.cursor() as cur:
        cur.execute(_sql("history"), {"table": kind, "id": record_id})
        rows = cur.fetchall()
    conn.rollback()
    if not rows:
        raise NotFound(f"no {_word(kind)} with id {record_id}")
    out = []
    for hid, operation, at, by, before, after in rows:
        keys = sorted(set(before or {}) | set(after or {}))
        changed = [k for k in keys if (before or {}).get(k) != (after or {}).get(k) and k != "updated_at"]
        out.append({"id": hid, "operation": operation, "changed_at": at, "changed_by": by,
                    "before": before, "after": after, "changed": changed})
    return out


def change_danger(conn, danger_id: int, *, status: str | None = None, on: dt.date | None = None,
                  actor: str | None = None, today: dt.date | None = None, **fields) -> dict:
    """Change a hidden danger's status (to ``status`` on the date ``on``, along the allowed transitions:
    geo/records/transitions.py) and/or the fields of ``EDITABLE``, in one transaction that says who
    (``actor``) and commits.  Returns the danger as ``read`` does.

    NotFound when there is no such danger; TransitionRefused (a conflict) for a change the rules do not allow;
    FieldError for a date before the danger was found or before its last change, a date after ``today``
    (default: the clock's; geo/dates.py), or nothing to change."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise FieldError(sorted(unknown)[0], f"cannot be changed here; the fields that can: {', '.join(EDITABLE)}")
    if status is None and not fields:
        raise FieldError("status", "nothing to change: give a status (with its date) or one of: "
                                   + ", ".join(EDITABLE))
    if status is not None and on is None:
        raise FieldError("on", "a status change needs its date")
    if status is not None:
        not_ahead(on, "on", today or dt.date.today(), "the change's date")
    with transaction(conn), conn.cursor() as cur:
        set_actor(cur, actor)
        cur.execute(_sql("danger_for_update"), {"id": danger_id})
        row = cur.fetchone()
        if row is None:
            raise NotFound(f"no hidden danger with id {danger_id}")
        stored = dict(zip(("status", "found_on", "status_changed_on", "rectified_on", "verified_on",
                           "reopened_on", "deadline"), row, strict=True))
        columns = transitions.change(stored, status, on) if status is not None else {}
        deadline = fields.get("deadline")
        if deadline is not None and deadline < stored["found_on"]:
            raise FieldError("deadline", f"the deadline {deadline.isoformat()} is before the danger was found "
                                         f"({stored['found_on'].isoformat()})")
        params = {"id": danger_id, "status": columns.get("status"),
                  "status_changed_on": columns.get("status_changed_on")}
        for name in ("rectified_on", "verified_on", "reopened_on"):
            params[f"set_{name}"], params[name] = name in columns, columns.get(name)
        for name in EDITABLE:
            params[f"set_{name}"], params[name] = name in fields, fields.get(name)
        cur.execute(_sql("update_danger"), params)
    return read(conn, "hidden_danger", danger_id)


def _photo(row) -> dict:
    photo = dict(zip(_PHOTO_COLUMNS, row, strict=True))
    photo["size"] = photo.pop("bytes")
    return photo


def add_photo(conn, danger_id: int, data: bytes, *, max_bytes: int, actor: str | None = None,
              taken_at: dt.datetime | None = None, name: str = "the photo") -> tuple[dict, bool]:
    """Store a photo of a hidden danger, checked by its content (geo/records/photos.py); returns the photo (id,
    content_type, size, sha256, taken_at, created_at, added_by) and whether it is new: the same photo twice is
    stored once.  NotFound when there is no such danger; FieldError for a ``taken_at`` out of range
    (geo/records/photos.py: a time with an offset is stored in UTC)."""
    kind = check_photo(data, max_bytes, name)
    taken_at = taken_at_as_stored(taken_at)
    digest = hashlib.sha256(data).hexdigest()
    with transaction(conn), conn.cursor() as cur:
        set_actor(cur, actor)
        cur.execute(_sql("danger_exists"), {"id": danger_id})
        if cur.fetchone() is None:
            raise NotFound(f"no hidden danger with id {danger_id}")
        params = {"danger": danger_id, "content_type": kind, "bytes": data, "sha256": digest,
                  "taken_at": taken_at}
        cur.execute(_sql("add_photo"), params)
        row = cur.fetchone()
        created = row is not None
        if not created:
            cur.execute(_sql("photo_by_hash"), params)
            row = cur.fetchone()
    return _photo(row), created


def read_photo(conn, danger_id: int, photo_id: int) -> tuple[str, bytes]:
    """The content type and bytes of a photo of a hidden danger; NotFound when the danger has no such photo."""
    with conn.cursor() as cur:
        cur.execute(_sql("photo"), {"danger": danger_id, "id": photo_id})
        row = cur.fetchone()
    conn.rollback()
    if row is None:
        raise NotFound(f"hidden danger {danger_id} has no photo {photo_id}")
    return row[0], bytes(row[1])
