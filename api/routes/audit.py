"""GET /audit: the audit trail (geo/audit.py), filtered and paged, as JSON or CSV.

Who may read it: an admin of every area (the trail holds every area's rows).  The CSV goes through the one
formula-safe writer (geo/spreadsheet.py): the trail holds whatever text writers sent, and a name such as
``=HYPERLINK(...)`` must not run in a spreadsheet.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, Field

from api.access import Needs
from api.dependencies import Connection
from api.errors import field_error
from api.routes.risk_list import attachment, negotiate
from geo import audit
from geo.spreadsheet import csv_bytes

router = APIRouter(dependencies=[Needs.admin], tags=["audit"])

MAX_LIMIT = 1000
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text holds no NUL character: such a filter is a 422, not a 500
CSV = "text/csv"
Action = Literal["insert", "update", "delete", "truncate", "auth_failed"]


class AuditEvent(BaseModel):
    id: int = Field(description="The event's number: events are numbered in the order they were written.")
    at: dt.datetime = Field(description="When (the database's clock, with its offset).")
    actor: str = Field(description="Who: user:<name>, api:<key fingerprint>, cli:<OS user>, or unknown (a write on a "
                                   "connection that did not say); for auth_failed the key's fingerprint sent, or "
                                   "anonymous.")
    client: str | None = Field(description="From where: the client's IP address (the CLI: its host).")
    request: str | None = Field(description="The request, e.g. PATCH /hidden-dangers/12, or the command line.")
    action: Action = Field(description="insert, update, delete, truncate, or auth_failed (a refused credential).")
    table_name: str | None = Field(description="The table written.")
    row_key: str | None = Field(description="The row's id; null for a statement's summary (the road network, a "
                                            "statement inserting more than 10,000 rows) and auth_failed.")
    before: dict[str, Any] | None = Field(description="The row before (update, delete).")
    after: dict[str, Any] | None = Field(description="The row after (insert, update), but null for a statement of "
                                                     "more than 10,000 rows (a bulk import: the row as written is "
                                                     "in its table until its next change, whose `before` keeps "
                                                     "it; a bulk insert is one event whose `after` gives the rows "
                                                     "written and their ids as ranges: {\"rows\": n, \"ids\": "
                                                     "[[first, last], ...]}); for auth_failed the reason; for the "
                                                     "road network the rows written.")


class AuditPage(BaseModel):
    events: list[AuditEvent] = Field(description="Oldest first.")
    next: str | None = Field(description="The next page; null on the last one.")


def _utc(value: dt.datetime | None, field: str) -> dt.datetime | None:
    """The time in UTC (without an offset it is UTC already); a 422 naming ``field`` when it is out of range
    there.  (PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 allows: the database gets UTC.)"""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise field_error(field, f"{value.isoformat()} is out of range") from None


@router.get(
    "/audit", response_model=AuditPage, summary="The audit trail: every write, and refused credentials",
    responses={200: {"description": "One page of events (JSON), or a CSV attachment.",
                     "content": {CSV: {"schema": {"type": "string"}}}},
               401: {"description": "No API key (problem+json)."},
               403: {"description": "The API key is not valid, or writes are disabled."}})
def read_audit(
    request: Request,
    conn: Connection,
    since: Annotated[dt.datetime, Query(description="From this time (inclusive): an ISO 8601 date or time; "
                                                    "UTC when it has no offset.", examples=["2026-12-01"])],
    until: Annotated[dt.datetime | None, Query(description="Up to this time (exclusive).")] = None,
    who: Annotated[str | None, Query(alias="actor", max_length=1000, pattern=NO_NUL,
                                     description="Only this actor's events.")] = None,
    table: Annotated[str | None, Query(max_length=200, pattern=NO_NUL, description="Only events of this table.")]
    = None,
    action: Annotated[Action | None, Query(description="Only events of this action.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = 100,
    after: Annotated[int | None, Query(ge=0, le=2**63 - 1, description="Events numbered above this one (from "
                                                                        "the `next` link).")] = None,
    format: Annotated[Literal["json", "csv"] | None, Query(description="json or csv; without it the Accept "
                                                                       "header decides (text/csv), else JSON.")] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
):
    """The audit trail's events from `since`, oldest first: who wrote (or was refused), when, from where, by what
    request, which row of which table, and the row before and after (a photo's bytes and very large geometries
    replaced by their size).  Follow `next` for the rest.  CSV (UTF-8 with BOM, for spreadsheets) holds the same
    page, the rows before and after as JSON text; its next page is in the `Link` header."""
    since, until = _utc(since, "since"), _utc(until, "until")
    if until is not None and until <= since:
        raise field_error("until", f"until ({until.isoformat()}) must be after since ({since.isoformat()})")
    which = audit.EventFilter(since=since, until=until, actor=who, table=table, action=action, after=after)
    found = audit.events(conn, which, limit + 1)
    more = len(found) > limit
    found = found[:limit]
    next_url = str(request.url.include_query_params(after=found[-1]["id"])) if more else None
    if (format or negotiate(accept, {"application/json": "json", CSV: "csv"})) == "csv":
        response = attachment(csv_bytes(audit.COLUMNS, audit.table_rows(found)), f"{CSV}; charset=utf-8",
                              "audit.csv")
        if next_url:
            response.headers["Link"] = f'<{next_url}>; rel="next"'
        return response
    return AuditPage(events=[AuditEvent(**e) for e in found], next=next_url)
