"""The authorization matrix (issue 15), generated from the app's route table: every route has a rule, the rule is
the one expected here, and every role gets the answer its rule gives (anonymous: 401; a role below the rule: 403;
the rule's role and above: past the gate, whatever the route then answers).  A new route without a rule, or with
a rule this table does not expect, fails the first test."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.access import PUBLIC_PATHS, api_routes, needed_role
from api.app import create_app
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
    ("GET", "/allocations"): "viewer",
    ("GET", "/supervision"): "viewer",
    ("GET", "/supervision/staffing"): "viewer",
    ("GET", "/supervision/{kind}/{id}"): "viewer",
    ("GET", "/"): "viewer",
    ("GET", "/inspect/{kind}/{id}"): "viewer",
}

# Path parameters that reach the route's own checks (a missing id: 404 after the gate, never a write).
FILL = {"{kind}": "enterprise", "{id}": "999999999", "{photo_id}": "1"}


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
    with TestClient(create_app(Settings(database_url=demo_url, api_keys=ADMIN_KEY, plan_max_time_s=1))) as c:
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
