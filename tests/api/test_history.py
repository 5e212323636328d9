"""GET /features/{kind}/{id}/history and GET /areas/{id}/series on the scored demo, after a second scoring run
(as of a fixed date) that a recorded major hidden danger changed."""

from __future__ import annotations

import datetime as dt

import pytest

from geo.risk.config import load_model
from geo.risk.scoring import score
from tests.api.conftest import AS_OF
from tests.geo.risk.record_rows import add_danger

LATER = dt.date(2026, 12, 31)


@pytest.fixture(scope="module")
def changed_site(conn):
    """A blue enterprise of the demo given an open major hidden danger, then scored as of LATER (before the app
    starts, so that no background run scores as of another date)."""
    with conn.cursor() as cur:
        cur.execute("SELECT feature_id FROM feature_risk WHERE kind = 'enterprise' AND level = 'blue' "
                    "ORDER BY feature_id LIMIT 1")
        site = cur.fetchone()[0]
    conn.autocommit = False
    add_danger(conn, "enterprise", site, dt.date(2026, 12, 1), grade="major")
    score(conn, load_model(), LATER)
    conn.autocommit = True
    return site


@pytest.fixture(scope="module")
def county(conn, changed_site):
    """The admin code of the county the changed enterprise lies in."""
    with conn.cursor() as cur:
        cur.execute("SELECT a.admin_code FROM area a JOIN feature_risk r ON ST_Covers(a.geom, "
                    "ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326)) WHERE r.kind = 'enterprise' AND r.feature_id = %s",
                    (changed_site,))
        return cur.fetchone()[0]


def test_feature_history_lists_each_run_that_changed_the_score(changed_site, client):
    """The enterprise's history has the demo's first run (blue, as of the demo's date) and the run as of 31
    December that made it red; an untouched one has the first run only."""
    body = client.get(f"/features/enterprise/{changed_site}/history").json()
    assert body["kind"] == "enterprise" and body["id"] == changed_site
    entries = body["history"]
    assert [e["as_of"] for e in entries] == [AS_OF.isoformat(), LATER.isoformat()]
    assert [e["level"] for e in entries] == ["blue", "red"]
    assert entries[1]["run"] > entries[0]["run"]
    # (red by the direct-red rule; its score now counts the records' one danger instead of the register's counts)
    stored = client.get(f"/features/enterprise/{changed_site}").json()["properties"]
    assert entries[1]["score"] == round(stored["score"], 2)
    other = client.get(f"/features/enterprise/{changed_site + 1}/history").json()["history"]
    assert len(other) == 1 and other[0]["as_of"] == AS_OF.isoformat()


def test_feature_history_of_an_unknown_feature_is_404_and_a_bad_kind_422(client):
    """A feature that never existed is a 404 problem; an unknown class a 422 naming the field."""
    r = client.get("/features/enterprise/999999999/history")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    r = client.get("/features/settlement/1/history")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "kind"


def test_area_series_gives_the_state_at_each_months_end(conn, county, changed_site, client):
    """October holds nothing (the first run is as of 29 November); November and December hold every scored site
    of the county, December with the changed enterprise red; December's counts per level equal the area risk's
    (enterprises, ponds, venues) plus the pipelines whose point lies in the county, and its mean score theirs."""
    body = client.get(f"/areas/{county}/series", params={"from": "2026-10", "to": "2026-12"}).json()
    assert body["area_id"] == county and body["name"]
    months = {m["month"]: m for m in body["months"]}
    assert list(months) == ["2026-10", "2026-11", "2026-12"]
    assert months["2026-10"]["features"] == 0 and months["2026-10"]["mean_score"] is None
    assert months["2026-12"]["counts"]["red"] == months["2026-11"]["counts"]["red"] + 1
    with conn.cursor() as cur:
        cur.execute("""
            WITH a AS (SELECT geom FROM area WHERE admin_code = %(code)s),
            inside AS (
                SELECT r.level, r.score, false AS pipe FROM feature_risk r, a
                WHERE r.kind IN ('enterprise', 'tailings_pond', 'venue')
                  AND ST_Covers(a.geom, ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326))
                UNION ALL
                SELECT r.level, r.score, true FROM feature_risk r
                JOIN pipeline p ON r.kind = 'pipeline' AND p.id = r.feature_id, a
                WHERE ST_Covers(a.geom, ST_PointOnSurface(p.geom)))
            SELECT count(*), count(*) FILTER (WHERE level = 'red'), count(*) FILTER (WHERE level = 'blue'),
                   avg(score), count(*) FILTER (WHERE level = 'red' AND NOT pipe) FROM inside""", {"code": county})
        n, red, blue, mean, red_sites = cur.fetchone()
        cur.execute("SELECT sum((c.value ->> 'red')::int) FROM area_risk r, jsonb_each(r.counts) c "
                    "WHERE r.area_type = 'admin' AND r.area_id = %s AND c.key IN ('enterprise', 'tailings_pond', "
                    "'venue')", (county,))
        area_red = cur.fetchone()[0]
    december = months["2026-12"]
    assert december["features"] == n and december["counts"]["red"] == red and december["counts"]["blue"] == blue
    assert december["mean_score"] == pytest.approx(float(mean), abs=0.005)
    assert red_sites == area_red  # the sites count where the area risk counts them


def test_area_series_defaults_to_24_months_up_to_the_last_run(county, client):
    """Without from and to: the 24 months ending with the month of the last run's date."""
    months = client.get(f"/areas/{county}/series").json()["months"]
    assert len(months) == 24 and months[-1]["month"] == "2026-12" and months[0]["month"] == "2025-01"


@pytest.mark.parametrize(("params", "field"), [({"from": "2026-13"}, "from"), ({"to": "26-01"}, "to"),
                                               ({"from": "2026-05", "to": "2026-01"}, "from"),
                                               ({"from": "1990-01", "to": "2026-01"}, "from")])
def test_area_series_rejects_bad_months(county, client, params, field):
    """A month not YYYY-MM, a first month after the last, or more than 240 months: a 422 naming the field."""
    r = client.get(f"/areas/{county}/series", params=params)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == field


def test_area_series_of_an_unknown_area_is_404(client):
    """A code no admin area has: a 404 problem."""
    assert client.get("/areas/999999/series").status_code == 404
