"""The authorization matrix (issue 15), generated from the app's route table: every route has a rule, the rule is
the one expected here, and every role gets the answer its rule gives (anonymous: 401; a role below the rule: 403;
the rule's role and above: past the gate, whatever the route then answers).  A new route without a rule, or with
a rule this table does not expect, fails the first test."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.access import PUBLIC_PATHS, api_routes, needed_role
from api.app import create_app
from api.routes.tiles import tile_of
from api.settings import Settings
from geo import users

ADMIN_KEY = "k-matrix-admin-5b8e0d1c7a"

# What each route needs: the campaign's roles (geo/users.py).  Reads: viewer; inspections, hidden dangers and
# enforcement measures: inspector; plans: planner; imports, feature edits, accidents: admin.
EXPECTED = {
    ("GET", "/risks/near"): "viewer",
    ("GET", "/features"): "viewer",
    ("GET", "/features/{kind}/{id}"): "viewer",
    ("GET", "/pipeline-segments"): "viewer",
    ("GET", "/areas"): "viewer",
    ("GET", "/areas/"): "viewer",
    ("GET", "/areas/{id}"): "viewer",
    ("GET", "/features/{kind}/{id}/history"): "viewer",
    ("GET", "/areas/{id}/series"): "viewer",
    ("GET", "/level-changes"): "viewer",
    ("GET", "/level-changes/areas"): "viewer",
    ("GET", "/risk-list"): "viewer",
    ("GET", "/hidden-dangers"): "viewer",
    ("GET", "/hidden-dangers/summary"): "viewer",
    ("GET", "/major-risks"): "viewer",
    ("POST", "/siting-check"): "viewer",  # a question, not a write
    ("POST", "/imports"): "admin",
    ("POST", "/features/{kind}"): "admin",
    ("PATCH", "/features/{kind}/{id}"): "admin",
    ("DELETE", "/features/{kind}/{id}"): "admin",
    ("GET", "/records/summary"): "viewer",
    ("GET", "/inspections/{id}"): "viewer",
    ("GET", "/hidden-dangers/{id}"): "viewer",
    ("GET", "/enforcement-actions/{id}"): "viewer",
    ("GET", "/accidents/{id}"): "viewer",
    ("GET", "/inspections/{id}/history"): "viewer",
    ("GET", "/hidden-dangers/{id}/history"): "viewer",
    ("GET", "/enforcement-actions/{id}/history"): "viewer",
    ("GET", "/accidents/{id}/history"): "viewer",
    ("GET", "/hidden-dangers/{id}/photos/{photo_id}"): "viewer",
    ("POST", "/inspections"): "inspector",
    ("POST", "/hidden-dangers"): "inspector",
    ("POST", "/enforcement-actions"): "inspector",
    ("POST", "/accidents"): "admin",
    ("PATCH", "/hidden-dangers/{id}"): "inspector",
    ("POST", "/hidden-dangers/{id}/photos"): "inspector",
    ("GET", "/exposure"): "viewer",
    ("GET", "/exposure/scale"): "viewer",
    ("POST", "/plans"): "planner",
    ("GET", "/plans"): "viewer",
    ("GET", "/plans/{id}"): "viewer",
    ("POST", "/campaigns"): "planner",
    ("GET", "/campaigns"): "viewer",
    ("GET", "/campaigns/{id}"): "viewer",
    ("DELETE", "/campaigns/{id}"): "planner",
    ("GET", "/allocations"): "viewer",
    ("GET", "/supervision"): "viewer",
    ("GET", "/supervision/staffing"): "viewer",
    ("GET", "/supervision/{kind}/{id}"): "viewer",
    ("GET", "/"): "viewer",
    ("GET", "/qgis"): "viewer",  # the QGIS project of every layer (issue 16)
    ("GET", "/inspect/{kind}/{id}"): "viewer",
    ("GET", "/tiles/{layer}/{z}/{x}/{y}.mvt"): "viewer",
    ("GET", "/tiles/{layer}.json"): "viewer",
    ("GET", "/audit"): "admin",  # every area's writes, and refused credentials
    ("GET", "/ogc"): "viewer",
    ("GET", "/ogc/conformance"): "viewer",
    ("GET", "/ogc/api"): "viewer",
    ("GET", "/ogc/collections"): "viewer",
    ("GET", "/ogc/collections/{collectionId}"): "viewer",
    ("GET", "/ogc/collections/{collectionId}/queryables"): "viewer",
    ("GET", "/ogc/collections/{collectionId}/items"): "viewer",
    ("GET", "/ogc/collections/{collectionId}/items/{featureId}"): "viewer",
}

# Path parameters that reach the route's own checks (a missing id: 404 after the gate, never a write).
FILL = {"{kind}": "enterprise", "{id}": "999999999", "{photo_id}": "1",
        "{layer}": "enterprise", "{z}": "0", "{x}": "0", "{y}": "0",
        "{collectionId}": "enterprise", "{featureId}": "999999999"}


def route_table(app) -> dict[tuple[str, str], str | None]:
    """(method, path) -> the role the route declares (None: none), for every route but the public ones."""
    table = {}
    for route in api_routes(app.routes):
        if route.path in PUBLIC_PATHS:
            continue
        for method in sorted(route.methods - {"HEAD"}):
            table[(method, route.path)] = needed_role(route.dependant)
    return table


@pytest.fixture(scope="module")
def matrix(demo_url):
    """An app with anonymous reads off, one user of each role, and a client."""
    from geo import store

    conn = store.connect(demo_url)
    tokens = {}
    try:
        for role in users.ROLES:
            _, tokens[role] = users.add(conn, f"matrix-{role}", role, [], "test")
    finally:
        conn.close()
    # (no limit on refused credentials: the matrix is refused hundreds of times from one address on purpose)
    with TestClient(create_app(Settings(database_url=demo_url, api_keys=ADMIN_KEY, plan_max_time_s=1,
                                        auth_fail_limit=0))) as c:
        yield c, tokens


def test_every_route_declares_the_rule_this_table_expects(matrix):
    client, _ = matrix
    table = route_table(client.app)
    undeclared = sorted(k for k, v in table.items() if v is None)
    assert not undeclared, f"routes without a rule (add Needs.<role> to them): {undeclared}"
    assert table == EXPECTED, (f"new or changed routes: {sorted(set(table.items()) - set(EXPECTED.items()))}; "
                               f"gone: {sorted(set(EXPECTED.items()) - set(table.items()))}")


def _call(client, method: str, path: str, headers: dict) -> int:
    url = path
    for hole, value in FILL.items():
        url = url.replace(hole, value)
    body = {} if method in ("POST", "PATCH") else None
    return client.request(method, url, json=body, headers=headers).status_code


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED))
def test_each_role_gets_the_answer_of_the_routes_rule(matrix, method, path):
    """Anonymous (reads not open): 401; the role just below the rule: 403; the rule's role: past the gate."""
    client, tokens = matrix
    needed = EXPECTED[(method, path)]
    assert _call(client, method, path, {}) == 401
    rank = users.ROLES.index(needed)
    if rank > 0:
        below = users.ROLES[rank - 1]
        assert _call(client, method, path, {"Authorization": f"Bearer {tokens[below]}"}) == 403, below
    status = _call(client, method, path, {"Authorization": f"Bearer {tokens[needed]}"})
    assert status not in (401, 403), (needed, status)
    if needed != "admin":
        assert _call(client, method, path, {"X-API-Key": ADMIN_KEY}) not in (401, 403)


# ----- the area dimension: a user of 路北区 asks every read route about 遵化市 --------------------------------------

OWN, OTHER, OTHER_NAME = "130203", "130281", "遵化市"
# The parameters a list route needs to answer at all.
READ_PARAMS = {
    "/areas": {"level": "county"},
    "/records/summary": {"from": "2025-01-01", "to": "2026-11-30"},
    "/level-changes": {"since": "2026-01-01"},
    "/level-changes/areas": {"since": "2026-01-01"},
    "/allocations": {"teams": "2"},
    "/risk-list": {"limit": "5000"},
    "/features": {"kind": "venue", "limit": "1000"},
    "/hidden-dangers": {"limit": "1000"},
    "/supervision": {"limit": "1000"},
    "/risks/near": {},  # filled in with a point of 遵化市 below
    "/exposure": {},
    "/ogc/collections/{collectionId}/items": {"limit": "10000"},
}


@pytest.fixture(scope="module")
def other_county(matrix, demo_url):
    """Records, a photo, a plan and a campaign in 遵化市 (made by the admin key), the sites' ids and source ids
    there, a point there, and a token of a planner of 路北区."""
    from geo import store
    from geo.risk.config import load_model
    from geo.risk.scoring import score
    from tests.api.conftest import AS_OF

    client, _ = matrix
    admin = {"X-API-Key": ADMIN_KEY}
    conn = store.connect(demo_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT f.id, f.source_id, f.name, ST_X(ST_PointOnSurface(f.geom)), "
                        "ST_Y(ST_PointOnSurface(f.geom)), k.kind "
                        "FROM (SELECT id, source_id, name, geom, 'enterprise' FROM enterprise UNION ALL "
                        "      SELECT id, source_id, name, geom, 'venue' FROM venue UNION ALL "
                        "      SELECT id, source_id, name, geom, 'tailings_pond' FROM tailings_pond) "
                        "     AS f(id, source_id, name, geom, kind_) "
                        "JOIN area a ON a.admin_code = %s AND ST_Intersects(a.geom, ST_PointOnSurface(f.geom)) "
                        "CROSS JOIN LATERAL (SELECT f.kind_ AS kind) k ORDER BY k.kind, f.id", (OTHER,))
            sites = cur.fetchall()
        _, scoped = users.add(conn, "matrix-lubei", "planner", [OWN], "test")
    finally:
        conn.close()
    enterprise = next(s for s in sites if s[5] == "enterprise")
    made = {}
    r = client.post("/inspections", headers=admin, json={
        "site_kind": "enterprise", "site_id": enterprise[0], "inspected_on": "2026-11-02",
        "outcome": "dangers_found", "hidden_dangers": [{"description": "遵化的隐患", "grade": "general",
                                                        "deadline": "2026-11-20"}]})
    assert r.status_code == 201, r.text
    made["inspection"] = r.json()["id"]
    danger = client.get(f"/inspections/{made['inspection']}", headers=admin).json()["hidden_dangers"][0]["id"]
    made["hidden_danger"] = danger
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000100ffff03000006000557bfabd40000000049454e44ae426082")
    r = client.post(f"/hidden-dangers/{danger}/photos", headers=admin, files={"file": ("p.png", png, "image/png")})
    assert r.status_code in (200, 201), r.text
    made["photo"] = r.json()["id"]
    r = client.post("/enforcement-actions", headers=admin, json={
        "site_kind": "enterprise", "site_id": enterprise[0], "decided_on": "2026-11-03", "measure": "rectify_order"})
    assert r.status_code == 201, r.text
    made["enforcement_action"] = r.json()["id"]
    r = client.post("/accidents", headers=admin, json={"occurred_on": "2026-10-01", "lon": enterprise[3],
                                                       "lat": enterprise[4], "deaths": 1})
    assert r.status_code == 201, r.text
    made["accident"] = r.json()["id"]
    r = client.post("/plans", headers=admin, json={"teams": 1, "days": 1, "area": OTHER, "min_level": "yellow",
                                                   "time_limit_s": 1})
    assert r.status_code == 201, r.text
    made["plan"] = r.json()["id"]
    r = client.post("/campaigns", headers=admin, json={"teams": 1, "days": 1, "area": OTHER, "min_level": "red",
                                                       "visits": {"red": 1},
                                                       "time_limit_s": 1})
    assert r.status_code == 202, r.text
    made["campaign"] = r.json()["id"]
    conn = store.connect(demo_url)
    try:
        score(conn, load_model(), AS_OF)  # places the new accident
    finally:
        conn.close()
    return {"sites": sites, "enterprise": enterprise, "made": made, "headers": {"Authorization": f"Bearer {scoped}"}}


def _fill_other(path: str, other: dict) -> str:
    made, enterprise = other["made"], other["enterprise"]
    if path.startswith("/features/") or path.startswith("/supervision/") or path.startswith("/inspect/"):
        return path.replace("{kind}", "enterprise").replace("{id}", str(enterprise[0]))
    if path.startswith("/areas/"):
        return path.replace("{id}", OTHER)
    if path.startswith("/ogc/"):  # (a collection of every county: only a feature of 遵化市 is a 404)
        return path.replace("{collectionId}", "enterprise").replace("{featureId}", str(enterprise[0]))
    for prefix, kind in (("/inspections/", "inspection"), ("/hidden-dangers/", "hidden_danger"),
                         ("/enforcement-actions/", "enforcement_action"), ("/accidents/", "accident"),
                         ("/plans/", "plan"), ("/campaigns/", "campaign")):
        if path.startswith(prefix):
            return path.replace("{id}", str(made[kind])).replace("{photo_id}", str(made["photo"]))
    raise AssertionError(f"no id of 遵化市 for {path}: add one to _fill_other")


@pytest.mark.parametrize("path", sorted(p for m, p in EXPECTED if m == "GET"))
def test_a_county_user_learns_nothing_of_another_county_from_any_read(matrix, other_county, path):
    """Every read route, asked by a planner of 路北区 about 遵化市: a single thing of 遵化市 is a 404, and no answer
    names a site of 遵化市 (by id in the URL, source id or name) or the county itself."""
    client, _ = matrix
    headers = other_county["headers"]
    if not users.allows("planner", EXPECTED[("GET", path)]):
        assert client.get(path, headers=headers).status_code == 403
        return
    if path.startswith("/tiles/"):  # the tile of a site of 遵化市 at zoom 15: empty for this user; names none
        tile = tile_of(other_county["enterprise"][3], other_county["enterprise"][4], 15)
        r = client.get(path.replace("{layer}", "enterprise").replace("{z}/{x}/{y}", "/".join(map(str, tile))),
                       headers=headers)
        assert r.status_code in (200, 204) and (path.endswith(".json") or r.status_code == 204), (path, r.text)
        assert not [s for s in other_county["sites"] if s[1] in r.text or s[2] in r.text]
        return
    if "{" in path and not (path.startswith("/ogc/") and "{featureId}" not in path):
        r = client.get(_fill_other(path, other_county), headers=headers)
        assert r.status_code == 404, (path, r.status_code, r.text[:300])
        return
    params = dict(READ_PARAMS.get(path, {}))
    enterprise = other_county["enterprise"]
    if path == "/risks/near":
        params = {"lon": enterprise[3], "lat": enterprise[4], "radius_m": 3000}
    if path == "/exposure":
        params = {"bbox": f"{enterprise[3] - 0.2},{enterprise[4] - 0.2},{enterprise[3] + 0.2},{enterprise[4] + 0.2}"}
    r = client.get(_fill_other(path, other_county) if "{" in path else path, params=params, headers=headers)
    if path == "/areas/":  # /areas/{id} with the id left out: a 422 naming it, for everyone
        assert r.status_code == 422
        return
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    body = r.text
    leaked = [s[1] for s in other_county["sites"] if s[1] in body or s[2] in body]
    assert not leaked, f"{path} names sites of 遵化市: {leaked[:5]}"
    assert OTHER_NAME not in body and f'"{OTHER}"' not in body, path
