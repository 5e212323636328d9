"""A site's timeline (geo/lists/timeline.py): its records, newest first, each hidden danger with its status history
read from record_history (who and when), on the small campaign of tests/geo/lists/campaign.py."""

from __future__ import annotations

import pytest

from geo.lists.timeline import site_timeline
from tests.geo.lists.campaign import build, d


def as_actor(conn, actor: str, statement: str, params=()) -> None:
    """Runs one statement in its own transaction as ``actor`` (riskmap.actor, what record_history records)."""
    with conn.cursor() as cur:
        cur.execute("SELECT set_config('riskmap.actor', %s, true)", (actor,))
        cur.execute(statement, params)
    conn.commit()


@pytest.fixture
def e1(db):
    """E1 with an inspection (03-01, which found D1), an order to rectify (03-05, lifted 04-10), an accident
    (05-05); D1 rectified on 04-05 by 张工, its description then corrected, reopened on 05-01 by 王科."""
    c = build(db)
    kind, fid = c.sites["E1"]
    with db.cursor() as cur:
        cur.execute("INSERT INTO inspection (source_id, site_kind, site_id, inspected_on, team, inspection_type, "
                    "outcome) VALUES ('I1', %s, %s, '2026-03-01', '第3组', 'special', 'dangers_found') "
                    "RETURNING id", (kind, fid))
        inspection = cur.fetchone()[0]
        cur.execute("UPDATE hidden_danger SET inspection_id = %s WHERE id = %s", (inspection, c.dangers["D1"]))
        cur.execute("INSERT INTO enforcement_action (source_id, site_kind, site_id, decided_on, measure, lifted_on) "
                    "VALUES ('EA1', %s, %s, '2026-03-05', 'rectify_order', '2026-04-10')", (kind, fid))
        cur.execute("INSERT INTO accident (source_id, occurred_on, accident_type, accident_class, deaths, "
                    "serious_injuries, site_kind, site_id, geom) VALUES ('A1', '2026-05-05', 'poisoning', "
                    "'general', 0, 2, %s, %s, ST_SetSRID(ST_Point(118.05, 39.65), 4326))", (kind, fid))
        # another site's records stay off this timeline
        cur.execute("INSERT INTO inspection (source_id, site_kind, site_id, inspected_on) "
                    "VALUES ('I2', 'enterprise', %s, '2026-05-06')", (c.sites["E2"][1],))
    db.commit()
    as_actor(db, "张工", "UPDATE hidden_danger SET status = 'rectified', rectified_on = '2026-04-05', "
                       "status_changed_on = '2026-04-05' WHERE source_id = 'D1'")
    as_actor(db, "张工", "UPDATE hidden_danger SET description = '储罐安全阀失效' WHERE source_id = 'D1'")
    as_actor(db, "王科", "UPDATE hidden_danger SET status = 'reopened', reopened_on = '2026-05-01', "
                       "status_changed_on = '2026-05-01' WHERE source_id = 'D1'")
    return c


def test_records_newest_first(db, e1):
    """The accident, the enforcement action, then on 03-01 the danger before the inspection that found it; no
    other site's record."""
    events = site_timeline(db, *e1.sites["E1"], d(6, 12))
    assert [(e["event"], e["source_id"], e["on"]) for e in events] == [
        ("accident", "A1", d(5, 5)), ("enforcement_action", "EA1", d(3, 5)), ("hidden_danger", "D1", d(3, 1)),
        ("inspection", "I1", d(3, 1))]
    accident, action, danger, inspection = events
    assert (accident["accident_class"], accident["serious_injuries"]) == ("general", 2)
    assert (action["measure"], action["lifted_on"]) == ("rectify_order", d(4, 10))
    assert (inspection["team"], inspection["inspection_type"], inspection["outcome"]) == ("第3组", "special",
                                                                                          "dangers_found")
    assert danger["description"] == "储罐安全阀失效" and danger["inspection_id"] == inspection["id"]


def test_danger_status_history_with_who(db, e1):
    """D1's history: open when recorded, rectified on 04-05 by 张工, reopened on 05-01 by 王科; the edit of its
    description is no change of status.  Reopened past its deadline of 04-01, it is 72 days overdue on 06-12."""
    danger = next(e for e in site_timeline(db, *e1.sites["E1"], d(6, 12)) if e["event"] == "hidden_danger")
    assert [(h["status"], h["on"]) for h in danger["history"]] == [
        ("open", d(3, 1)), ("rectified", d(4, 5)), ("reopened", d(5, 1))]
    assert [h["by"] for h in danger["history"]][1:] == ["张工", "王科"]
    assert all(h["at"] for h in danger["history"])
    assert (danger["status"], danger["overdue"], danger["days_overdue"]) == ("reopened", True, 72)


def test_a_site_without_records_has_an_empty_timeline(db, e1):
    """E3 has one record, D3; an id no site has, none."""
    assert [e["source_id"] for e in site_timeline(db, *e1.sites["E3"], d(6, 12))] == ["D3"]
    assert site_timeline(db, "enterprise", 10**9, d(6, 12)) == []
