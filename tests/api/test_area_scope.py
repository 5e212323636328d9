"""Users limited to areas (issue 15): a county's user sees and changes only what lies in their county, enforced by
the database (row-level security, migration 0019), and learns nothing of another county's features through
feature pages, near queries, bbox pages, lists and their counts, exports, records or plans.

路北区 (130203) is the user's county; 遵化市 (130281) is the other one (both in the Tangshan demo)."""

from __future__ import annotations

import csv
import io
import math

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from geo import store, users
from geo.risk.config import load_model
from geo.risk.scoring import score
from tests.api.conftest import AS_OF

OWN, OTHER = "130203", "130281"
ADMIN_KEY = "k-scope-admin-93e1c0b7d2"


@pytest.fixture(scope="module")
def api(demo_url, conn):
    """The app (anonymous reads off) and tokens: a planner of 路北区, a planner of 遵化市, a planner of every area,
    an admin of 路北区."""
    tokens = {}
    for name, role, areas in [("lubei", "planner", [OWN]), ("zunhua", "planner", [OTHER]),
                              ("everywhere", "planner", []), ("lubei-admin", "admin", [OWN])]:
        _, tokens[name] = users.add(conn, name, role, areas, "test")
    with TestClient(create_app(Settings(database_url=demo_url, api_keys=ADMIN_KEY, plan_max_time_s=1))) as c:
        yield c, {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}


def in_county(conn, code: str, kind: str = "enterprise") -> list[int]:
    """The ids of the sites of a class at whose point on surface the county lies (the rule of area risk)."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT f.id FROM {kind} f JOIN area a ON a.admin_code = %s "  # noqa: S608 - a fixed kind
                    "AND ST_Intersects(a.geom, ST_PointOnSurface(f.geom)) ORDER BY f.id", (code,))
        return [r[0] for r in cur.fetchall()]


def test_another_countys_feature_is_a_404_like_one_that_does_not_exist(api, conn):
    client, who = api
    other = in_county(conn, OTHER)[0]
    own = in_county(conn, OWN)[0]
    assert client.get(f"/features/enterprise/{own}", headers=who["lubei"]).status_code == 200
    hidden = client.get(f"/features/enterprise/{other}", headers=who["lubei"])
    missing = client.get("/features/enterprise/999999999", headers=who["lubei"])
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace(str(other), "N") == missing.json()["detail"].replace("999999999", "N")
    assert client.get(f"/features/enterprise/{other}/history", headers=who["lubei"]).status_code == 404
    assert client.get(f"/features/enterprise/{other}", headers=who["everywhere"]).status_code == 200
    assert client.get(f"/supervision/enterprise/{other}", headers=who["lubei"]).status_code == 404


def test_lists_and_their_exports_hold_only_the_own_county(api, conn):
    client, who = api
    own, other = set(in_county(conn, OWN)), set(in_county(conn, OTHER))
    rows = client.get("/risk-list", params={"kind": "enterprise", "limit": 5000}, headers=who["lubei"]).json()
    ids = {r["id"] for r in rows["items"]} if isinstance(rows, dict) else {r["id"] for r in rows}
    assert ids and ids <= own
    everyone = client.get("/risk-list", params={"kind": "enterprise", "limit": 5000}, headers=who["everywhere"])
    assert len(everyone.content) > len(client.get("/risk-list", params={"kind": "enterprise", "limit": 5000},
                                                  headers=who["lubei"]).content)
    text = client.get("/risk-list", params={"kind": "enterprise", "limit": 5000, "format": "csv"},
                      headers={**who["lubei"], "Accept": "text/csv"}).text
    exported = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert exported and not ({int(r["id"]) for r in exported if r.get("id", "").isdigit()} & other)
    major = client.get("/major-risks", headers={**who["lubei"], "Accept": "application/geo+json"}).json()
    assert major["features"]
    # a site's county is where its point lies; a pipeline crossing 路北区 from elsewhere has no county the user
    # may see, and shows none
    counties = {(f["properties"]["county"] or {}).get("admin_code") for f in major["features"]}
    assert counties == {OWN, None}
    assert all(f["properties"]["site"]["kind"] == "pipeline" for f in major["features"]
               if f["properties"]["county"] is None)


def test_near_queries_and_bbox_pages_do_not_reach_into_another_county(api, conn):
    client, who = api
    other = in_county(conn, OTHER)[0]
    with conn.cursor() as cur:
        cur.execute("SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM enterprise "
                    "WHERE id = %s", (other,))
        lon, lat = cur.fetchone()
    near = client.get("/risks/near", params={"lon": lon, "lat": lat, "radius_m": 5000}, headers=who["lubei"])
    assert near.status_code == 200
    assert other not in {f["properties"]["id"] for f in near.json()["features"]
                         if f["properties"]["kind"] == "enterprise"}
    assert near.json()["features"] == []  # 遵化市 is far from 路北区: nothing of it, not even a count
    everyone = client.get("/risks/near", params={"lon": lon, "lat": lat, "radius_m": 5000},
                          headers=who["everywhere"]).json()
    assert other in {f["properties"]["id"] for f in everyone["features"]}
    box = f"{lon - 0.05},{lat - 0.05},{lon + 0.05},{lat + 0.05}"
    page = client.get("/features", params={"kind": "enterprise", "bbox": box}, headers=who["lubei"]).json()
    assert page["features"] == [] and page.get("numberMatched", 0) == 0


@pytest.fixture(scope="module")
def dangers(api, conn):
    """One hidden danger at a venue of each county, recorded by the planner of every area: (own, other) ids."""
    client, who = api
    made = []
    for code in (OWN, OTHER):
        body = {"site_kind": "venue", "site_id": in_county(conn, code, "venue")[0], "description": "安全出口堵塞",
                "grade": "general", "found_on": "2026-11-20", "deadline": "2026-11-25"}
        r = client.post("/hidden-dangers", json=body, headers=who["everywhere"])
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    return tuple(made)


def test_counts_per_area_name_only_the_own_county(api, dangers):
    client, who = api
    areas = client.get("/areas", params={"level": "county"}, headers=who["lubei"]).json()
    assert {f["properties"]["area_id"] for f in areas["features"]} == {OWN}
    assert client.get(f"/areas/{OTHER}", headers=who["lubei"]).status_code == 404
    summary = client.get("/hidden-dangers/summary", headers=who["lubei"]).json()
    assert {row["admin_code"] for row in summary["areas"]} == {OWN}
    everyone = client.get("/hidden-dangers/summary", headers=who["everywhere"]).json()
    assert summary["areas"] == [row for row in everyone["areas"] if row["admin_code"] == OWN]


def test_records_of_another_countys_site_cannot_be_read_or_written(api, conn, dangers):
    client, who = api
    other_site = in_county(conn, OTHER)[0]
    danger = dangers[1]
    assert client.get(f"/hidden-dangers/{danger}", headers=who["lubei"]).status_code == 404
    assert client.get(f"/hidden-dangers/{danger}", headers=who["zunhua"]).status_code == 200
    r = client.patch(f"/hidden-dangers/{danger}", json={"status": "rectified", "on": "2026-11-20"},
                     headers=who["lubei"])
    assert r.status_code == 404
    new = {"site_kind": "enterprise", "site_id": other_site, "description": "越界记录", "grade": "general",
           "found_on": "2026-11-20", "deadline": "2026-12-20"}
    refused = client.post("/hidden-dangers", json=new, headers=who["lubei"])
    unknown = client.post("/hidden-dangers", json={**new, "site_id": 999999999}, headers=who["lubei"])
    assert refused.status_code == unknown.status_code == 422
    own_site = in_county(conn, OWN)[0]
    mine = client.post("/hidden-dangers", json={**new, "site_id": own_site, "description": "本区记录"},
                       headers=who["lubei"])
    assert mine.status_code == 201, mine.text


def test_plans_stay_in_the_planners_areas(api):
    client, who = api
    ask = {"teams": 1, "days": 1, "min_level": "yellow", "time_limit_s": 1}
    own = client.post("/plans", json={**ask, "area": OWN}, headers=who["lubei"])
    assert own.status_code == 201, own.text
    assert client.post("/plans", json={**ask, "area": OTHER}, headers=who["lubei"]).status_code in (403, 422)
    theirs = client.post("/plans", json={**ask, "area": OTHER}, headers=who["zunhua"])
    assert theirs.status_code == 201, theirs.text
    listed = {p["id"] for p in client.get("/plans", headers=who["lubei"]).json()}
    assert own.json()["id"] in listed and theirs.json()["id"] not in listed
    assert client.get(f"/plans/{theirs.json()['id']}", headers=who["lubei"]).status_code == 404


def test_an_admin_limited_to_areas_may_not_import_or_edit_features(api):
    client, who = api
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [118.17, 39.64]},
               "properties": {"source_id": "SCOPE-1", "name": "测试", "industry": "machinery"}}
    r = client.post("/features/enterprise", json=feature, headers=who["lubei-admin"])
    assert r.status_code == 403 and "every area" in r.json()["detail"]


def test_a_moved_feature_leaves_its_old_county_at_once_and_joins_the_new_one_when_scored(api, conn, demo_url):
    client, who = api
    moved = in_county(conn, OWN)[-1]
    with conn.cursor() as cur:
        cur.execute("SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM enterprise "
                    "WHERE id = %s", (in_county(conn, OTHER)[0],))
        lon, lat = cur.fetchone()
    r = client.patch(f"/features/enterprise/{moved}", json={"geometry": {"type": "Point", "coordinates": [lon, lat]}},
                     headers={"X-API-Key": ADMIN_KEY})
    assert r.status_code == 200, r.text
    assert client.get(f"/features/enterprise/{moved}", headers=who["lubei"]).status_code == 404
    scoring = store.connect(demo_url)
    try:
        score(scoring, load_model(), AS_OF)
    finally:
        scoring.close()
    assert client.get(f"/features/enterprise/{moved}", headers=who["lubei"]).status_code == 404
    assert client.get(f"/features/enterprise/{moved}", headers=who["zunhua"]).status_code == 200


def test_the_application_role_cannot_see_past_the_policies_without_the_scope(demo_url):
    """The scoped role with no areas set sees nothing (fails closed), whatever the query."""
    conn = store.connect(demo_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SET ROLE riskmap_scoped")
            for table in ("enterprise", "feature_risk", "hidden_danger", "area", "area_risk", "inspection_plan"):
                cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
                assert cur.fetchone()[0] == 0, table
    finally:
        conn.close()


def test_health_tells_the_regions_score_counts_only_to_who_may_read_every_area(api):
    client, who = api
    assert client.get("/health", headers=who["everywhere"]).json()["scores"]["state"] in ("current", "pending",
                                                                                           "updating")
    assert client.get("/health", headers=who["lubei"]).json()["scores"] is None
    anonymous = client.get("/health")
    assert anonymous.status_code == 200 and anonymous.json()["scores"] is None


FULL_PLACEMENT = """
    SELECT c.cell, coalesce(array_agg(a.admin_code ORDER BY a.admin_code)
                            FILTER (WHERE a.admin_code IS NOT NULL), '{}')
    FROM (SELECT DISTINCT ON (u.cell) u.cell, u.pt
          FROM (SELECT r.area_id AS cell, ST_Centroid(r.geom) AS pt FROM area_risk r WHERE r.area_type = 'h3'
                UNION ALL
                SELECT e.cell, e.geom FROM exposure_cell e) u) c
    LEFT JOIN area a ON a.geom && c.pt AND ST_Intersects(a.geom, c.pt)
    GROUP BY c.cell ORDER BY c.cell"""


def test_new_cells_get_their_place_as_they_are_written(cluster):
    """A site added where there was no exposure and re-scored by difference brings new H3 and exposure cells: each
    gets its place for users limited to areas in the run that wrote it (migration 0025), the same place the search
    of every cell gives; after the areas change, the next run places every cell again."""
    from geo import store
    from geo.risk.config import load_model
    from geo.risk.scoring import score
    from tests.conftest import demo_template, throwaway_database

    with throwaway_database(cluster[1], template=demo_template(cluster[1])) as url:
        conn = store.connect(url)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM scope_cell")
                before = cur.fetchone()[0]
                # a large chemical works far from the others (north of 遵化市), and so new cells around it
                cur.execute("INSERT INTO enterprise (source_id, name, industry, employees, geom) VALUES "
                            "('scope-cells-1', '新建化工', 'hazardous_chemicals', 2000, "
                            "ST_SetSRID(ST_MakePoint(117.95, 40.28), 4326))")
            conn.commit()
            summary = score(conn, load_model(), AS_OF)
            assert not summary.full
            with conn.cursor() as cur:
                cur.execute("SELECT cell, codes FROM scope_cell ORDER BY cell")
                placed = cur.fetchall()
                cur.execute(FULL_PLACEMENT)
                searched = cur.fetchall()
                cur.execute("SELECT cells_placed FROM scope_state")
                assert cur.fetchone()[0] is True
            assert len(placed) > before
            assert {c for c, _ in searched} <= {c for c, _ in placed}
            assert dict(placed) == {**dict(placed), **dict(searched)}  # the same place for every cell
            # areas change: every place is decided again, cells included, by the next run
            with conn.cursor() as cur:
                cur.execute("UPDATE area SET name = name WHERE admin_code = %s", (OTHER,))
                cur.execute("SELECT count(*), (SELECT cells_placed FROM scope_state) FROM scope_cell")
                assert cur.fetchone() == (0, False)
            conn.commit()
            score(conn, load_model(), AS_OF)
            with conn.cursor() as cur:
                cur.execute("SELECT cell, codes FROM scope_cell ORDER BY cell")
                replaced = cur.fetchall()
                cur.execute(FULL_PLACEMENT)
                assert dict(replaced) == dict(cur.fetchall())
        finally:
            conn.close()


def test_the_heatmap_of_a_user_limited_to_areas_holds_only_their_cells(api, conn):
    """A county's planner asking for the heatmap of the whole region gets points only from cells placed in their
    county, grouped on the same ladder of square sizes as everyone's (14.0625 / 2^k degrees); a user of every area
    gets points outside it too."""
    client, who = api
    with conn.cursor() as cur:
        cur.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                    "(SELECT ST_Extent(geom) e FROM exposure_cell) x")
        box = ",".join(f"{v:.5f}" for v in cur.fetchone())
        cur.execute("SELECT round(ST_X(e.geom)::numeric, 5)::float8, round(ST_Y(e.geom)::numeric, 5)::float8 "
                    "FROM exposure_cell e JOIN scope_cell s ON s.cell = e.cell WHERE %s = ANY (s.codes)", (OWN,))
        own = set(cur.fetchall())
    mine = client.get("/exposure", params={"bbox": box, "max_points": 100}, headers=who["lubei"]).json()
    everyone = client.get("/exposure", params={"bbox": box, "max_points": 100}, headers=who["everywhere"]).json()
    assert mine["points"] and {(x, y) for x, y, _ in mine["points"]} <= own
    assert {(x, y) for x, y, _ in everyone["points"]} - own
    k = round(math.log2(14.0625 / mine["grid_deg"]))
    assert mine["grid_deg"] == 14.0625 / 2**k == everyone["grid_deg"]
