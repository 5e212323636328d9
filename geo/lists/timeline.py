"""A site's records on one timeline (the feature page's, issue 14 item 2): its inspections, its hidden dangers with
their status history, its enforcement actions and the accidents attributed to it, newest first."""

from __future__ import annotations

import datetime as dt

from geo.lists.hidden_dangers import days_overdue, is_overdue
from geo.lists.store import query_rows, sql_text

EVENTS = ("inspection", "hidden_danger", "enforcement_action", "accident")


def site_timeline(conn, kind: str, site_id: int, as_of: dt.date) -> list[dict]:
    """The site's records as events, newest first: ``{"event", "id", "on", **detail}``, ``on`` the record's date
    (inspected, found, decided, occurred).  A hidden danger also says whether it is overdue on ``as_of`` and by how
    many days, and carries its status history (``history``: the status, the date the record gives for it, who
    made the change and when it was stored), oldest first.  geo/lists/sql/site_timeline.sql says how ties on a
    date are ordered."""
    events = []
    for row in query_rows(conn, sql_text("site_timeline"), {"kind": kind, "id": site_id}):
        detail = dict(row["detail"])
        event = {"event": row["event"], "id": row["id"], "on": row["on_date"], **detail}
        if row["event"] == "hidden_danger":
            deadline = dt.date.fromisoformat(detail["deadline"]) if detail["deadline"] else None
            event["deadline"] = deadline
            event["overdue"] = is_overdue(detail["status"], deadline, as_of)
            event["days_overdue"] = days_overdue(detail["status"], deadline, as_of)
            event["history"] = [{**h, "on": dt.date.fromisoformat(h["on"]) if h["on"] else None}
                                for h in detail["history"]]
        if row["event"] == "enforcement_action" and detail["lifted_on"]:
            event["lifted_on"] = dt.date.fromisoformat(detail["lifted_on"])
        events.append(event)
    return events
