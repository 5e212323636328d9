"""Reading a page of a collection's items: the query parameters (``bbox``, ``limit``, ``datetime``, ``cursor`` and
the CQL2 ``filter`` with its ``filter-lang`` and ``filter-crs``), checked into an ``ItemQuery`` (a bad one raises
``OgcError`` 400 naming it), and the keyset page itself.  The filter is a condition in the page's SQL (and in the
count of an area layer): a filtered page is read in id order with the same cursors as an unfiltered one.

Paging is keyset paging on the feature id: a ``next`` link carries the cursor ``n<last id>`` (the features with a
larger id), a ``prev`` link ``p<first id>`` (the page before it, read backwards).  No OFFSET: a page is an index
range scan however deep, and rows inserted or deleted while a client pages change no other row's place, so a
client that follows ``next`` from the first page sees every row that existed when it started, once.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from psycopg2 import sql

from api.cql2 import FILTER_LANGS, FilterError, Where, where
from api.ogc.filters import FILTER_CRS, condition, queryables
from api.ogc.layers import Layer
from api.routes import sql_text

DEFAULT_LIMIT, MAX_LIMIT = 10, 10_000
# The query parameters of each kind of request (OGC API – Features /req/core/query-param-unknown: any other is a
# 400, so that a client never takes an unfiltered answer for a filtered one)
DOCUMENT_PARAMS = frozenset({"f"})
ITEMS_PARAMS = frozenset({"f", "limit", "bbox", "bbox-crs", "datetime", "cursor", "filter", "filter-lang",
                          "filter-crs"})
MAX_ID = 2**63 - 1
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


class OgcError(Exception):
    """An error answered with the OGC exception body, ``{"code", "description"}`` (OGC API – Features §7.5.1)."""

    def __init__(self, status: int, code: str, description: str):
        super().__init__(description)
        self.status, self.code, self.description = status, code, description


def bad(parameter: str, message: str) -> OgcError:
    return OgcError(400, "InvalidParameterValue", f"{parameter}: {message}")


@dataclass(frozen=True)
class ItemQuery:
    limit: int = DEFAULT_LIMIT
    box: tuple[float, float, float, float] | None = None
    dates: tuple[str, str] | None = None  # first and last date, "-infinity" / "infinity" when open
    after: int | str | None = None
    before: int | str | None = None
    filter: Where | None = None  # the CQL2 filter's condition (api/ogc/filters.py)


def check_known(params, known: frozenset[str]) -> None:
    unknown = sorted(set(params.keys()) - known)
    if unknown:
        raise OgcError(400, "InvalidParameterValue", f"{unknown[0]}: not a parameter of this request (it takes "
                                                     f"{', '.join(sorted(known))})")


def parse_limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    if not re.fullmatch(r"\s*\d{1,9}\s*", text):
        raise bad("limit", f"{text!r} is not a whole number from 1 to {MAX_LIMIT}")
    n = int(text)
    if n < 1:
        raise bad("limit", f"{n} is below 1")
    return min(n, MAX_LIMIT)  # (the standard: a larger limit is served as the largest one allowed)


def parse_bbox(text: str | None, crs: str | None) -> tuple[float, float, float, float] | None:
    if crs is not None and crs.strip() not in (CRS84, ""):
        raise bad("bbox-crs", f"only {CRS84} is supported, not {crs!r}")
    if text is None:
        return None
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise bad("bbox", f"{text!r} is not four (or six) comma-separated numbers") from None
    if len(values) == 6:  # minx, miny, minz, maxx, maxy, maxz: the heights do not matter here
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise bad("bbox", f"{text!r} is not four (or six) comma-separated numbers")
    x0, y0, x1, y1 = values
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise bad("bbox", "longitudes must lie in -180..180 and latitudes in -90..90 (CRS84 degrees)")
    if y0 > y1:
        raise bad("bbox", "the lower latitude comes second (minx,miny,maxx,maxy)")
    if x0 > x1:
        raise bad("bbox", "a box across the antimeridian (minx > maxx) is not supported")
    return x0, y0, x1, y1


def _date(text: str, end: bool) -> str:
    """One end of a datetime parameter as a date (RFC 3339 date or date-time; a time is dropped: the layers' dates
    are days); ".." or "" is an open end."""
    if text in ("..", ""):
        return "infinity" if end else "-infinity"
    # (GDAL 3.6 sends a date it pushes down from an attribute filter as "2026-01-01T": taken as that date)
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})([Tt]|[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2}))?", text)
    if not m:
        raise bad("datetime", f"{text!r} is not an RFC 3339 date or date-time (or '..')")
    try:
        return dt.date.fromisoformat(m.group(1)).isoformat()
    except ValueError:
        raise bad("datetime", f"{text!r} is not a valid date") from None


def parse_datetime(text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    if "/" in text:
        first, _, last = text.partition("/")
        if "/" in last:
            raise bad("datetime", f"{text!r} has more than one '/'")
        if first in ("..", "") and last in ("..", ""):
            raise bad("datetime", "an interval needs at least one end")
        d0, d1 = _date(first, False), _date(last, True)
        if d0 not in ("-infinity",) and d1 not in ("infinity",) and d0 > d1:
            raise bad("datetime", f"the interval {text!r} ends before it starts")
        return d0, d1
    if text in ("..", ""):
        raise bad("datetime", "an instant cannot be open ('..')")
    day = _date(text, False)
    return day, day


def parse_key(layer: Layer, text: str, parameter: str) -> int | str:
    """A feature id (or a cursor's key) of this layer: an integer for sites and segments, a code for areas."""
    if layer.text_ids:
        if not re.fullmatch(r"[0-9A-Za-z_]{1,32}", text):
            raise bad(parameter, f"{text!r} is not an area code")
        return text
    if not re.fullmatch(r"\d{1,19}", text) or int(text) > MAX_ID:
        raise bad(parameter, f"{text!r} is not a feature id")
    return int(text)


def parse_cursor(layer: Layer, text: str | None) -> tuple[int | str | None, int | str | None]:
    """(after, before) from a cursor of a ``next`` (``n<key>``) or ``prev`` (``p<key>``) link."""
    if text is None:
        return None, None
    if len(text) < 2 or text[0] not in "np":
        raise bad("cursor", f"{text!r} is not a cursor of a next or prev link")
    key = parse_key(layer, text[1:], "cursor")
    return (key, None) if text[0] == "n" else (None, key)


def parse_filter(layer: Layer, params) -> Where | None:
    """The condition of the request's ``filter`` (None without one); a bad one raises a 400 naming the problem."""
    text = params.get("filter")
    lang = params.get("filter-lang")
    crs = params.get("filter-crs")
    if lang is not None and lang not in FILTER_LANGS:
        raise bad("filter-lang", f"{lang!r} is not supported (only {', '.join(FILTER_LANGS)})")
    if crs is not None and crs.strip() not in FILTER_CRS:
        raise bad("filter-crs", f"only {' or '.join(FILTER_CRS)} is supported, not {crs!r}")
    if text is None:
        return None
    try:
        return where(text, queryables(layer))
    except FilterError as e:
        raise bad("filter", str(e)) from None



def item_query(layer: Layer, params) -> ItemQuery:
    """The checked parameters of an items request (``params``: the request's query parameters)."""
    check_known(params, ITEMS_PARAMS)
    dates = parse_datetime(params.get("datetime"))
    if dates is not None and layer.date is None:
        dates = None  # a layer without dates: every feature has no time and is not excluded (§7.15.6)
    after, before = parse_cursor(layer, params.get("cursor"))
    return ItemQuery(limit=parse_limit(params.get("limit")), box=parse_bbox(params.get("bbox"), params.get("bbox-crs")),
                     dates=dates, after=after, before=before, filter=parse_filter(layer, params))


def _statement(layer: Layer, backwards: bool, filter_: Where | None = None) -> sql.Composed:
    direction = sql.SQL("DESC" if backwards else "ASC")
    where_ = condition(filter_)
    if layer.family == "site":
        extra = sql.SQL("").join(sql.SQL(", {}, f.{}").format(sql.Literal(c), sql.Identifier(c)) for c in layer.extra)
        return sql.SQL(sql_text("ogc_site_items")).format(table=sql.Identifier(layer.table), extra=extra,
                                                          date=sql.Identifier(layer.date), direction=direction,
                                                          filter=where_, geometry=sql.SQL(layer.geometry_sql),
                                                          kept=sql.SQL(layer.kept_sql))
    name = {"segment": "ogc_segment_items", "danger": "ogc_danger_items", "plan": "ogc_plan_route_items",
            "area": "ogc_area_items"}[layer.family]
    return sql.SQL(sql_text(name)).format(direction=direction, filter=where_)


def _params(layer: Layer, q: ItemQuery, fid) -> dict:
    x0, y0, x1, y1 = q.box or (None, None, None, None)
    d0, d1 = q.dates or (None, None)
    return {"fid": fid, "after": q.after, "before": q.before, "nobox": q.box is None,
            "x0": x0, "y0": y0, "x1": x1, "y1": y1, "nodate": q.dates is None, "d0": d0, "d1": d1,
            "limit": q.limit, "kind": layer.kind, "area_type": layer.area_type, "resolution": layer.resolution,
            **(q.filter.params if q.filter is not None else {})}


@dataclass
class Page:
    features: list[str]  # GeoJSON Feature texts in id order
    first: int | str | None
    last: int | str | None
    more_before: bool  # a prev link is due
    more_after: bool  # a next link is due


def read_page(conn, layer: Layer, q: ItemQuery) -> Page:
    backwards = q.before is not None
    with conn.cursor() as cur:
        cur.execute(_statement(layer, backwards, q.filter), _params(layer, q, None))
        rows = cur.fetchall()
    extra, rows = len(rows) > q.limit, rows[:q.limit]
    if backwards:
        rows.reverse()
    first, last = (rows[0][1], rows[-1][1]) if rows else (None, None)
    if backwards:
        return Page([r[0] for r in rows], first, last, more_before=extra, more_after=bool(rows))
    return Page([r[0] for r in rows], first, last, more_before=q.after is not None and bool(rows), more_after=extra)


def read_one(conn, layer: Layer, fid: int | str) -> str | None:
    with conn.cursor() as cur:
        cur.execute(_statement(layer, False), _params(layer, ItemQuery(limit=1), fid))
        row = cur.fetchone()
    return row[0] if row else None


def number_matched(conn, layer: Layer, q: ItemQuery) -> int | None:
    """How many features match, where that is cheap: the area layers (a count of at most some thousands of rows
    by index); None for the others (a count of a site or segment layer reads every matching row)."""
    if layer.family != "area":
        return None
    with conn.cursor() as cur:
        cur.execute(sql.SQL(sql_text("ogc_area_count")).format(filter=condition(q.filter)), _params(layer, q, None))
        return cur.fetchone()[0]
