"""A filtered page's work is bounded (issue 16): with ``ogc_filter_timeout_ms`` = 1, a CQL2 filter that matches
nothing (so every enterprise is read and tested: a long request on a large table) is answered 400 with the OGC
exception body naming the filter and what to do, not a 504 after the server's 30 s; the same request under the
default limit is answered, and the server goes on answering."""

from __future__ import annotations

import math
import urllib.parse

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings

# a ring of 600 vertices round the demo region (Tangshan), with a hole as large: no enterprise lies in it, each
# is tested against it (the box test passes), so the page reads every row
OUTER = [(118.2 + 3 * math.cos(a), 39.6 + 3 * math.sin(a)) for a in (2 * math.pi * i / 300 for i in range(300))]
INNER = [(118.2 + 2.9 * math.cos(a), 39.6 + 2.9 * math.sin(a)) for a in (2 * math.pi * i / 300 for i in range(300))]


def ring(points) -> str:
    return "(" + ", ".join(f"{x:.4f} {y:.4f}" for x, y in [*points, points[0]]) + ")"


NOTHING = f"S_INTERSECTS(geometry, POLYGON({ring(OUTER)}, {ring(INNER[::-1])}))"


def items(api, text: str):
    return api.get("/ogc/collections/enterprise/items?limit=10&filter=" + urllib.parse.quote(text))


@pytest.fixture(scope="module")
def strict(demo_url):
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=demo_url, ogc_filter_timeout_ms=1))) as c:
        yield c


@pytest.fixture(scope="module")
def default(demo_url):
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=demo_url))) as c:
        yield c


def test_a_filter_that_scans_past_the_limit_is_a_400_naming_it(strict):
    """Past the filter's time limit: 400, the OGC exception body, naming the filter and the ways to narrow it;
    the next requests (unfiltered, and filtered again) are answered as usual."""
    r = items(strict, NOTHING)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "InvalidParameterValue" and body["description"].startswith("filter: ")
    assert "bbox" in body["description"] and "0.001 s" in body["description"]
    assert strict.get("/ogc/collections/enterprise/items?limit=5").json()["numberReturned"] == 5
    assert items(strict, NOTHING).status_code == 400


def test_the_same_filter_within_the_limit_is_answered(default):
    """Under the default limit (5 s) the same filter is answered: no feature, no next link."""
    r = items(default, NOTHING)
    assert r.status_code == 200, r.text
    assert r.json()["numberReturned"] == 0 and not any(x["rel"] == "next" for x in r.json()["links"])
