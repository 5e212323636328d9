"""The HTTP routes, one module per resource, and the SQL they run (``api/sql/*.sql``, loaded once)."""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any, Literal

import psycopg2.extensions
from fastapi.responses import JSONResponse, Response
from psycopg2 import sql
from pydantic import BaseModel, Field

# The feature classes that carry a risk score (settlements and areas are context, not risks).
RISK_KINDS = ("enterprise", "tailings_pond", "pipeline", "venue")
GEOJSON = "application/geo+json"


@cache
def sql_text(name: str) -> str:
    """The text of ``api/sql/<name>.sql``."""
    return resources.files("api").joinpath(f"sql/{name}.sql").read_text(encoding="utf-8")


class PreparingConnection(psycopg2.extensions.connection):
    """A pooled connection that remembers the statements prepared on it (see ``execute_prepared``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.prepared: set[str] = set()


@cache
def _positional(query: str) -> tuple[str, tuple[str, ...]]:
    """``query`` with its %(name)s parameters turned into $1, $2... and the names in that order (and its %% into
    %, as psycopg2 does when it passes parameters)."""
    names: list[str] = []

    def number(m: re.Match) -> str:
        if m.group(0) == "%%":
            return "%"
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    return re.sub(r"%\((\w+)\)s|%%", number, query), tuple(names)


def execute_prepared(cur, name: str, query: str, params: dict) -> None:
    """Run ``query`` as the prepared statement ``name`` on the cursor's connection (PREPAREd on first use there):
    a hot query is planned once per connection instead of on every request."""
    text, names = _positional(query)
    conn = cur.connection
    prepared = getattr(conn, "prepared", None)
    if prepared is None:  # not a pooled connection: plain execution
        cur.execute(query, params)
        return
    if name not in prepared:
        cur.execute(f"PREPARE {name} AS {text}")
        prepared.add(name)
    cur.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(names))})", [params[n] for n in names])


def sql_for_table(name: str, table: str) -> sql.Composed:
    """``api/sql/<name>.sql`` with its ``{table}`` placeholder filled by the quoted table name."""
    return sql.SQL(sql_text(name)).format(table=sql.Identifier(table))


Level = Literal["blue", "yellow", "orange", "red"]


class GeoJSONResponse(JSONResponse):
    """GeoJSON (RFC 7946 §12 media type)."""

    media_type = GEOJSON


def geojson(text: str | bytes) -> Response:
    """A GeoJSON document, already serialised (by PostGIS, or by orjson), passed on as it is."""
    return Response(content=text, media_type=GEOJSON)


def geojson_page(request, rows: list[tuple[str, object]], limit: int) -> Response:
    """A keyset page as a GeoJSON FeatureCollection: ``rows`` are (Feature as GeoJSON text, key), one more than
    ``limit`` when another page follows; the ``next`` link repeats the request with ``after`` = the last key."""
    return geojson(geojson_page_text(request, rows, limit))


def geojson_page_text(request, rows: list[tuple[str, object]], limit: int) -> str:
    """The document of ``geojson_page``."""
    page, more = rows[:limit], len(rows) > limit
    next_url = str(request.url.include_query_params(after=page[-1][1])) if more else None
    links = [{"rel": "self", "href": str(request.url), "type": GEOJSON}]
    if next_url:
        links.append({"rel": "next", "href": next_url, "type": GEOJSON})
    tail = json.dumps({"numberReturned": len(page), "next": next_url, "links": links}, ensure_ascii=False)
    return '{"type":"FeatureCollection","features":[' + ",".join(r[0] for r in page) + "]," + tail[1:]


def ewkt_point(lon: float, lat: float) -> str:
    """A WGS 84 point as EWKT, to send as a query parameter (cast to geometry or geography in SQL).  Degrees are
    rounded to 1e-9 (0.1 mm): finer is noise, and a subnormal number such as 5e-324 underflows in PostGIS's
    arithmetic (a 500 where the point is simply 0)."""
    return f"SRID=4326;POINT({round(lon, 9)!r} {round(lat, 9)!r})"


class Factor(BaseModel):
    """One factor of a score: what it looked at, the points it gave, and where the rule comes from."""

    factor: str
    title: str | None
    source: str | None
    unit: str | None
    value: Any = Field(description="The value the rule looked at (a number, text or boolean; null if missing).")
    points: float | None
    assumed: bool | None = Field(description="True when the register lacked the value and a conservative one "
                                             "was assumed.")
