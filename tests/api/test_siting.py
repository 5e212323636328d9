"""POST /siting-check against a real PostGIS holding the scored Tangshan demo: the siting red line of a proposed
hazardous-chemicals project (GB 18218 S, R, α and level; targets within the GB 18218 ring and the Pipeline
Protection Law zones; GB 36894 classes; domain.md §1, §4, §7)."""

from __future__ import annotations

import csv
from contextlib import contextmanager
from pathlib import Path

import pytest
from pyproj import Geod

import geo.risk
from api.routes.siting import siting_params
from geo.risk.config import ModelConfigError, load_model

GEOD = Geod(ellps="WGS84")
TABLES = Path(geo.risk.__file__).parent / "tables"
CENTRE = (118.2, 39.65)  # Lubei district, Tangshan: dense demo features of every kind
REMOTE = (100.0, 30.0)  # far from every demo feature
CL_NH3 = [{"name": "氯", "tonnes": 10}, {"name": "氨", "tonnes": 100}]
BLOCK = [[118.19, 39.64], [118.2, 39.64], [118.2, 39.65], [118.19, 39.65], [118.19, 39.64]]  # ~0.95 km², crossed
# by two demo pipelines


def check(client, geometry, chemicals=None, **extra) -> dict:
    r = client.post("/siting-check", json={"geometry": geometry, "chemicals": chemicals or CL_NH3, **extra})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def offset(lon: float, lat: float, azimuth: float, metres: float) -> tuple[float, float]:
    x, y, _ = GEOD.fwd(lon, lat, azimuth, metres)
    return float(x), float(y)


def table1(name: str) -> tuple[float, float]:
    """(Q, β) of a Table 1 chemical, read straight from the shipped CSV."""
    with (TABLES / "gb18218_table1.csv").open(encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        row = next(r for r in rows if r["name"] == name)
    return float(row["q_t"]), float(row["beta"])


def wkt(geometry: dict) -> str:
    if geometry["type"] == "Point":
        return "POINT({} {})".format(*geometry["coordinates"])
    return "POLYGON((" + ", ".join(f"{x} {y}" for x, y in geometry["coordinates"][0]) + "))"


@contextmanager
def settlements_at(conn, rows: list[tuple[float, float, int | None, int | None]]):
    """Temporary settlements (lon, lat, population, households) in the module's own database."""
    ids = []
    try:
        with conn.cursor() as cur:
            for k, (lon, lat, pop, hh) in enumerate(rows):
                cur.execute("INSERT INTO settlement (source_id, name, population, households, geom) "
                            "VALUES (%s, %s, %s, %s, ST_Point(%s, %s, 4326)) RETURNING id",
                            (f"test-siting-{k}", f"测试村{k}", pop, hh, lon, lat))
                ids.append(cur.fetchone()[0])
        yield ids
    finally:
        with conn.cursor() as cur:
            cur.execute("DELETE FROM settlement WHERE id = ANY(%s)", (ids,))


# ----- GB 18218 -------------------------------------------------------------------------------------------------


def test_worked_example_chlorine_and_ammonia(client, conn):
    """10 t of chlorine and 100 t of ammonia, 300 m east of 郭店村 (demo-settle-00989), the only settlement within
    500 m.  Worked by hand from the shipped tables (geo/risk/tables/gb18218_table1.csv) and model.toml:

    - 郭店村 records 227 households and no population: 227 × 2.8 persons per household = 635.6 people.
    - chlorine T1-12: Q = 5 t, β = 4 → q/Q = 10/5 = 2, βq/Q = 8;  ammonia T1-1: Q = 10 t, β = 2 → q/Q = 10,
      βq/Q = 20.
    - S = 2 + 10 = 12 ≥ 1 → a major hazard installation.
    - 635.6 people ≥ 100 → α = 2.0;  R = 2.0 × (8 + 20) = 56 → 50 ≤ R < 100 → level 2 (二级)."""
    assert table1("氯") == (5.0, 4.0) and table1("氨") == (10.0, 2.0)
    with conn.cursor() as cur:
        cur.execute("SELECT id, ST_X(geom), ST_Y(geom), population, households FROM settlement "
                    "WHERE source_id = 'demo-settle-00989'")
        sid, x, y, pop, hh = cur.fetchone()
    assert (pop, hh) == (None, 227)
    site = offset(x, y, 90.0, 300.0)
    with conn.cursor() as cur:  # the people within 500 m, independently
        cur.execute("SELECT coalesce(sum(coalesce(population, households * 2.8)), 0) FROM settlement "
                    "WHERE ST_DWithin(geom::geography, ST_Point(%s, %s, 4326)::geography, 500)", site)
        assert float(cur.fetchone()[0]) == pytest.approx(635.6)

    body = check(client, point(*site), name="氯碱项目")
    gb = body["gb18218"]
    assert gb["people_500m"] == pytest.approx(635.6)
    assert gb["alpha"] == 2.0
    assert gb["s_value"] == pytest.approx(12.0)
    assert gb["beta_sum"] == pytest.approx(28.0)
    assert gb["r_value"] == pytest.approx(56.0)
    assert gb["major_hazard"] is True and gb["major_hazard_level"] == 2 and gb["level_name"] == "二级"
    chems = {c["name"]: c for c in gb["chemicals"]}
    assert (chems["氯"]["q_t"], chems["氯"]["beta"]) == (5.0, 4.0)
    assert (chems["氯"]["q_ratio"], chems["氯"]["beta_q_ratio"], chems["氯"]["ref"]) == (2.0, 8.0, "T1-12")
    assert (chems["氨"]["q_t"], chems["氨"]["beta"], chems["氨"]["q_ratio"]) == (10.0, 2.0, 10.0)
    assert chems["氨"]["cas"] == "7664-41-7" and chems["氨"]["match"] == "name"

    [s] = body["targets"]["settlements"]
    assert s["id"] == sid and s["people"] == pytest.approx(635.6) and s["counted_in_alpha"] is True
    assert s["distance_m"] == pytest.approx(300.0, abs=0.05)
    assert s["why"]["limit_m"] == 500.0 and "GB 18218" in s["why"]["rule"]
    assert body["project"] == {"name": "氯碱项目", "geometry": point(*site), "geometry_type": "Point",
                               "area_m2": None, "area_km2": None}
    assert body["model_version"] == load_model()["version"]
    first = body["findings"][0]
    assert first["code"] == "major_hazard" and "二级" in first["zh"] and "level-2" in first["en"]
    assert "56.00" in first["en"] and "12.00" in first["en"]


@pytest.mark.parametrize(("people", "households", "chemicals", "alpha", "s", "r", "level"), [
    # no one within 500 m: α 0.5; S = 12, R = 0.5 × 28 = 14 → level 3
    (None, None, CL_NH3, 0.5, 12.0, 14.0, 3),
    # 29 people: α 1.0; R = 28 → level 3
    (29, None, CL_NH3, 1.0, 12.0, 28.0, 3),
    # 11 households × 2.8 = 30.8 people, counted as 31 ≥ 30: α 1.2; R = 1.2 × 28 = 33.6 → level 3
    (None, 11, CL_NH3, 1.2, 12.0, 33.6, 3),
    # 60 people: α 1.5; R = 42 → level 3
    (60, None, CL_NH3, 1.5, 12.0, 42.0, 3),
    # 100 people: α 2; R = 56 → level 2
    (100, None, CL_NH3, 2.0, 12.0, 56.0, 2),
    # 65 t chlorine, 100 people: S = 13, R = 2 × 13 × 4 = 104 → level 1
    (100, None, [{"name": "液氯", "tonnes": 65}], 2.0, 13.0, 104.0, 1),
    # 12 t ammonia, nobody: S = 1.2, R = 0.5 × 1.2 × 2 = 1.2 → level 4
    (None, None, [{"name": "液氨", "tonnes": 12}], 0.5, 1.2, 1.2, 4),
    # 6 t ammonia, 100 people: S = 0.6 < 1 → not a major hazard (R = 2 × 0.6 × 2 = 2.4, no level)
    (100, None, [{"name": "NH3", "tonnes": 6}], 2.0, 0.6, 2.4, None),
])
def test_alpha_bands_and_levels(client, conn, people, households, chemicals, alpha, s, r, level):
    """α from the people within 500 m (domain.md §1: ≥100 → 2, 50-99 → 1.5, 30-49 → 1.2, 1-29 → 1, 0 → 0.5) and
    the level from R (≥100 一级, ≥50 二级, ≥10 三级, else 四级), with one settlement 200 m from a remote point."""
    rows = [] if people is None and households is None else [(*offset(*REMOTE, 0.0, 200.0), people, households)]
    with settlements_at(conn, rows):
        gb = check(client, point(*REMOTE), chemicals)["gb18218"]
    assert gb["alpha"] == alpha
    assert gb["s_value"] == pytest.approx(s) and gb["r_value"] == pytest.approx(r)
    assert gb["major_hazard"] is (level is not None) and gb["major_hazard_level"] == level


def test_settlement_inside_the_site_is_listed_not_counted(client, conn):
    """α counts people outside the site boundary (GB 18218 §1): a 500-person settlement inside the site polygon is
    listed (distance 0, inside_site) but not counted; a 40-person one 300 m outside gives α 1.2, R = 1.2 × 28 =
    33.6.  The polygon's geodesic area is reported."""
    x, y = REMOTE
    square = {"type": "Polygon", "coordinates": [[[x, y], [x + 0.005, y], [x + 0.005, y + 0.005], [x, y + 0.005],
                                                  [x, y]]]}
    outside = offset(x + 0.005, y + 0.0025, 90.0, 300.0)
    with settlements_at(conn, [(x + 0.0025, y + 0.0025, 500, None), (*outside, 40, None)]) as (inside_id, out_id):
        body = check(client, square)
    gb = body["gb18218"]
    assert gb["people_500m"] == 40.0 and gb["alpha"] == 1.2 and gb["r_value"] == pytest.approx(33.6)
    listed = {s["id"]: s for s in body["targets"]["settlements"]}
    assert listed[inside_id]["inside_site"] is True and listed[inside_id]["counted_in_alpha"] is False
    assert listed[inside_id]["distance_m"] == 0.0
    assert listed[out_id]["counted_in_alpha"] is True
    assert listed[out_id]["distance_m"] == pytest.approx(300.0, abs=0.5)
    assert any(f["code"] == "settlement_inside_site" for f in body["findings"])
    expected_area = abs(GEOD.polygon_area_perimeter(*zip(*square["coordinates"][0], strict=True))[0])
    assert body["project"]["area_m2"] == pytest.approx(expected_area, abs=1.0)
    assert body["project"]["geometry_type"] == "Polygon"


def test_text_form_and_categories(client):
    """The import's text form "氯:10;氨:100" gives the same result as the list; a chemical not in Table 1 with a
    Table 2 category (W2 flammable gas: Q 10 t, β 1.5) resolves by category: 20 t → q/Q 2, βq/Q 3."""
    listed = check(client, point(*REMOTE))["gb18218"]
    text = check(client, point(*REMOTE), "氯:10;氨:100")["gb18218"]
    assert text == listed
    gb = check(client, point(*REMOTE), [{"name": "某混合燃气", "tonnes": 20, "hazard_category": "w2"}])["gb18218"]
    [c] = gb["chemicals"]
    assert c["match"] == "category" and c["ref"] == "T2-W2" and (c["q_t"], c["beta"]) == (10.0, 1.5)
    assert gb["s_value"] == pytest.approx(2.0) and gb["beta_sum"] == pytest.approx(3.0)


# ----- targets ----------------------------------------------------------------------------------------------------

MAJOR_HAZARDS = ("enterprise t JOIN feature_risk r ON r.kind = 'enterprise' AND r.feature_id = t.id "
                 "AND (r.details ->> 'major_hazard')::boolean")


def _expected(conn, source: str, geometry: dict, radius: float) -> list[tuple[int, float]]:
    """(id, distance) of the rows of `source` (a table aliased t) within `radius` metres, nearest first."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT t.id, ST_Distance(t.geom::geography, g::geography) AS d "
                    f"FROM {source}, ST_GeomFromText(%s, 4326) AS g "
                    f"WHERE ST_DWithin(t.geom::geography, g::geography, %s) ORDER BY d, t.id", (wkt(geometry), radius))
        return cur.fetchall()


def _major_hazard_site(conn) -> tuple[float, float]:
    """200 m north of the first demo enterprise that is a GB 18218 major hazard."""
    with conn.cursor() as cur:
        cur.execute("SELECT ST_X(e.geom), ST_Y(e.geom) FROM enterprise e JOIN feature_risk r ON r.kind = 'enterprise' "
                    "AND r.feature_id = e.id WHERE (r.details ->> 'major_hazard')::boolean ORDER BY e.id LIMIT 1")
        return offset(*cur.fetchone(), 0.0, 200.0)


def test_lists_equal_postgis_dwithin(client, conn):
    """For a point in central Tangshan, a ~0.95 km² block crossed by two pipelines and a point 200 m from a major
    hazard, each list equals a plain SQL ST_DWithin on geography over its table: settlements and venues within
    500 m, pipelines within 200 m, major-hazard enterprises (feature_risk details major_hazard) within 500 m; same
    ids, nearest first, distances (ST_Distance on geography) within 0.01 m."""
    sites = [point(*CENTRE), {"type": "Polygon", "coordinates": [BLOCK]}, point(*_major_hazard_site(conn))]
    seen = {"settlements": 0, "venues": 0, "pipelines": 0, "major_hazards": 0}
    for geometry in sites:
        targets = check(client, geometry)["targets"]
        for key, source, radius in [("settlements", "settlement t", 500), ("venues", "venue t", 500),
                                    ("pipelines", "pipeline t", 200), ("major_hazards", MAJOR_HAZARDS, 500)]:
            got = [(t["id"], t["distance_m"]) for t in targets[key]]
            expected = _expected(conn, source, geometry, radius)
            assert [i for i, _ in got] == [i for i, _ in expected], (key, geometry)
            for (_, d), (_, e) in zip(got, expected, strict=True):
                assert d == pytest.approx(e, abs=0.01)
            assert [d for _, d in got] == sorted(d for _, d in got)
            seen[key] += len(got)
    assert all(seen.values()), seen


@pytest.mark.parametrize(("metres", "zone"), [(3.0, "5m"), (30.0, "50m"), (150.0, "200m"), (250.0, None)])
def test_pipeline_zone(client, conn, metres, zone):
    """A point `metres` off the middle of the second leg of demo-pipe-00006 (a gas line; the nearest other line is
    400 m away) falls in the Pipeline Protection Law zone of domain.md §4: ≤ 5 m Art. 30 (no construction),
    ≤ 50 m Art. 35(2), ≤ 200 m Art. 35(3); beyond 200 m the pipeline is not listed.  The distance is geodesic."""
    with conn.cursor() as cur:
        cur.execute("SELECT id, ST_X(ST_PointN(geom, 2)), ST_Y(ST_PointN(geom, 2)), ST_X(ST_PointN(geom, 3)), "
                    "ST_Y(ST_PointN(geom, 3)) FROM pipeline WHERE source_id = 'demo-pipe-00006'")
        pid, x1, y1, x2, y2 = cur.fetchone()
    az, _, length = GEOD.inv(x1, y1, x2, y2)
    mx, my, back = GEOD.fwd(x1, y1, az, length / 2)
    site = offset(mx, my, back + 90.0, metres)
    body = check(client, point(*site))
    pipes = {p["id"]: p for p in body["targets"]["pipelines"]}
    if zone is None:
        assert pid not in pipes
        return
    p = pipes[pid]
    assert p["distance_m"] == pytest.approx(metres, abs=0.05)
    assert p["zone"]["code"] == zone and p["medium"] == "natural_gas" and p["crosses_site"] is False
    assert p["why"]["limit_m"] == {"5m": 5.0, "50m": 50.0, "200m": 200.0}[zone]
    finding = next(f for f in body["findings"] if f["code"] == f"pipeline_zone_{zone}")
    assert p["name"] in finding["zh"] and p["name"] in finding["en"] and "gas pipeline" in finding["en"]
    if zone == "5m":
        assert "no building" in finding["en"] and "第三十条" in finding["zh"]


def test_polygon_crossing_a_pipeline(client):
    """A site polygon crossed by a pipeline: distance 0, crosses_site, the 5 m zone (no construction)."""
    pipes = check(client, {"type": "Polygon", "coordinates": [BLOCK]})["targets"]["pipelines"]
    assert len(pipes) >= 2
    for p in pipes[:2]:
        assert p["distance_m"] == 0.0 and p["crosses_site"] is True and p["zone"]["code"] == "5m"


def test_vulnerable_venue_flagged_with_finding(client, conn):
    """A kindergarten (demo-venue-00005) 320 m south of the site is listed as vulnerable (高敏感, GB 36894) at
    320 m, and a finding says so; every listed venue of type hospital, school, kindergarten or nursing_home is
    flagged vulnerable, and no other."""
    with conn.cursor() as cur:
        cur.execute("SELECT id, ST_X(geom), ST_Y(geom), venue_type FROM venue WHERE source_id = 'demo-venue-00005'")
        vid, x, y, vtype = cur.fetchone()
    assert vtype == "kindergarten"
    body = check(client, point(*offset(x, y, 0.0, 320.0)))
    venues = {v["id"]: v for v in body["targets"]["venues"]}
    v = venues[vid]
    assert v["vulnerable"] is True and v["gb36894_class"] == "high_sensitivity"
    assert v["distance_m"] == pytest.approx(320.0, abs=0.05)
    for other in venues.values():
        assert other["vulnerable"] is (other["venue_type"] in {"hospital", "school", "kindergarten", "nursing_home"})
    finding = next(f for f in body["findings"] if f["code"] == "vulnerable_venue" and v["name"] in f["en"])
    assert "320 m" in finding["en"] and "kindergarten" in finding["en"]
    assert "幼儿园" in finding["zh"] and "320 m" in finding["zh"]


def test_findings_stay_short(client):
    """An 84 km² site in central Tangshan holds hundreds of settlements and dozens of vulnerable venues and
    pipelines: the findings name at most five of each kind (nearest first) and count the rest in one sentence."""
    big = [[118.15, 39.6], [118.26, 39.6], [118.26, 39.68], [118.15, 39.68], [118.15, 39.6]]
    body = check(client, {"type": "Polygon", "coordinates": [big]}, "氯:1")
    assert 80 < body["project"]["area_km2"] < 90
    codes = [f["code"] for f in body["findings"]]
    assert len(codes) <= 25
    for code, more, total in [
        ("settlement_inside_site", "settlement_inside_site_more",
         sum(s["inside_site"] for s in body["targets"]["settlements"])),
        ("vulnerable_venue", "vulnerable_venue_more", sum(v["vulnerable"] for v in body["targets"]["venues"])),
    ]:
        assert total > 5 and codes.count(code) == 5 and codes.count(more) == 1
        assert f"{total - 5} more" in next(f["en"] for f in body["findings"] if f["code"] == more)
    assert codes[0] == "not_major_hazard"


def test_gb36894_section(client):
    """GB 36894-2018 gives risk criteria, not fixed distances: the section says so and lists, per class, the
    screening radius (riskmap's assumption: 1000 m for the classes with the 3×10⁻⁷/yr new-plant limit, 500 m
    for 一般二类 and 三类) and the targets of each class found within it, nearest first."""
    body = check(client, point(*CENTRE))
    section = body["gb36894"]
    assert section["fixed_distances"] is False
    assert "not fixed" in section["note_en"] and "不是固定" in section["note_zh"]
    radii = {c["target_class"]: c["screening_m"] for c in section["classes"]}
    assert radii == {"high_sensitivity": 1000.0, "important": 1000.0, "general_1": 1000.0, "general_2": 500.0,
                     "general_3": 500.0}
    limits = {c["target_class"]: (c["individual_risk_new"], c["individual_risk_existing"]) for c in section["classes"]}
    assert limits["high_sensitivity"] == (3e-7, 3e-6) and limits["general_3"] == (1e-5, 3e-5)
    found = {c["target_class"]: c for c in section["found"]}
    assert "high_sensitivity" in found and "general_1" in found
    for c in section["found"]:
        distances = [t["distance_m"] for t in c["targets"]]
        assert distances == sorted(distances) and c["count"] == len(distances)
        assert max(distances) <= radii[c["target_class"]] and c["nearest_m"] == distances[0]
    # the high-sensitivity screening reaches beyond the 500 m venue list
    assert max(t["distance_m"] for t in found["high_sensitivity"]["targets"]) > 500
    assert any(f["code"] == "gb36894_targets" for f in body["findings"])


def test_screening_radius_is_configurable(client):
    """The risk model's [siting] screening_m sets the radius of each class (here high_sensitivity 300 m)."""
    model = client.app.state.model
    siting = {**model["siting"], "screening_m": {**model["siting"]["screening_m"], "high_sensitivity": 300.0}}
    client.app.state.model = {**model, "siting": siting}
    try:
        section = check(client, point(*CENTRE))["gb36894"]
    finally:
        client.app.state.model = model
    radii = {c["target_class"]: c["screening_m"] for c in section["classes"]}
    assert radii["high_sensitivity"] == 300.0 and radii["general_1"] == 1000.0
    with pytest.raises(ModelConfigError, match=r"\[siting\] screening_m"):  # a model file without it says so
        siting_params({**model, "siting": {k: v for k, v in model["siting"].items() if k != "screening_m"}})
    for c in section["found"]:
        if c["target_class"] == "high_sensitivity":
            assert all(t["distance_m"] <= 300.0 for t in c["targets"])


# ----- bad input --------------------------------------------------------------------------------------------------

BOWTIE = [[118.19, 39.64], [118.2, 39.65], [118.2, 39.64], [118.19, 39.65], [118.19, 39.64]]
HUGE = [[118.0, 39.5], [118.2, 39.5], [118.2, 39.7], [118.0, 39.7], [118.0, 39.5]]  # about 380 km²
GOOD = point(*CENTRE)


@pytest.mark.parametrize(("body", "field", "says"), [
    ({"chemicals": CL_NH3}, "geometry", "required"),
    ({"geometry": "POINT(118 39)", "chemicals": CL_NH3}, "geometry", ""),
    ({"geometry": {"type": "LineString", "coordinates": [[118, 39], [118.1, 39]]}, "chemicals": CL_NH3},
     "geometry.type", "Point or Polygon"),
    ({"geometry": {"type": "Point", "coordinates": []}, "chemicals": CL_NH3}, "geometry.coordinates", "empty"),
    ({"geometry": {"type": "Polygon", "coordinates": []}, "chemicals": CL_NH3}, "geometry.coordinates", "empty"),
    ({"geometry": {"type": "Point"}, "chemicals": CL_NH3}, "geometry.coordinates", "missing"),
    ({"geometry": point(118.2, 91), "chemicals": CL_NH3}, "geometry.coordinates", "latitude"),
    ({"geometry": point(-181, 39), "chemicals": CL_NH3}, "geometry.coordinates", "longitude"),
    ({"geometry": {"type": "Point", "coordinates": [True, 39]}, "chemicals": CL_NH3}, "geometry.coordinates", ""),
    ({"geometry": {"type": "Point", "coordinates": ["118", "39"]}, "chemicals": CL_NH3}, "geometry.coordinates", ""),
    ({"geometry": {"type": "Polygon", "coordinates": [BOWTIE]}, "chemicals": CL_NH3}, "geometry", "Self-intersection"),
    ({"geometry": {"type": "Polygon", "coordinates": [HUGE]}, "chemicals": CL_NH3}, "geometry", "100 km²"),
    ({"geometry": {"type": "Polygon", "coordinates": [BLOCK[:-1]]}, "chemicals": CL_NH3}, "geometry.coordinates.0",
     "closed"),
    ({"geometry": {"type": "Polygon", "coordinates": [[[118, 39], [118.1, 39], [118, 39]]]}, "chemicals": CL_NH3},
     "geometry.coordinates.0", "at least 4"),
    ({"geometry": {"type": "Polygon", "coordinates": [[[118, 39], [118.1, 39], [118.2, 39], [118, 39]]]},
      "chemicals": CL_NH3}, "geometry", "invalid polygon"),
    ({"geometry": {"type": "Polygon", "coordinates": [[[118, 39], [118.1, 39], [118.1, 95], [118, 39]]]},
      "chemicals": CL_NH3}, "geometry.coordinates.0.2", "latitude"),
    ({"geometry": GOOD}, "chemicals", "required"),
    ({"geometry": GOOD, "chemicals": []}, "chemicals", "no chemicals"),
    ({"geometry": GOOD, "chemicals": ""}, "chemicals", "no chemicals"),
    ({"geometry": GOOD, "chemicals": None}, "chemicals", "no chemicals"),
    ({"geometry": GOOD, "chemicals": 10}, "chemicals", "expected"),
    ({"geometry": GOOD, "chemicals": [{"name": "氯", "tonnes": 10}, {"name": "氪星石", "tonnes": 1}]},
     "chemicals.1.name", "氪星石"),
    ({"geometry": GOOD, "chemicals": "氯:10;氪星石:1"}, "chemicals", "氪星石"),
    ({"geometry": GOOD, "chemicals": [{"name": "氯", "tonnes": -1}]}, "chemicals.0.tonnes", "greater than"),
    ({"geometry": GOOD, "chemicals": [{"name": "氯", "tonnes": "ten"}]}, "chemicals.0.tonnes", "number"),
    ({"geometry": GOOD, "chemicals": [{"name": "氯"}]}, "chemicals.0.tonnes", "required"),
    ({"geometry": GOOD, "chemicals": [{"name": "", "tonnes": 1}]}, "chemicals.0.name", ""),
    ({"geometry": GOOD, "chemicals": [{"name": "氯", "tonnes": 1, "hazard_category": "Z9"}]},
     "chemicals.0.hazard_category", "Z9"),
    ({"geometry": GOOD, "chemicals": ["氯:10"]}, "chemicals.0", ""),
    ({"geometry": GOOD, "chemicals": "氯:-5"}, "chemicals", "positive"),
    ({"geometry": GOOD, "chemicals": "氯:abc"}, "chemicals", "not a number"),
    ({"geometry": GOOD, "chemicals": "氯"}, "chemicals", "name:tonnes"),
    ({"geometry": GOOD, "chemicals": CL_NH3, "name": "x" * 201}, "name", ""),
    ({"geometry": GOOD, "chemicals": CL_NH3, "chemical": "氯:1"}, "chemical", "not permitted"),
])
def test_bad_input_is_422_naming_the_field(client, body, field, says):
    """Each bad input is a 422 problem+json whose errors name the field (and, where useful, the bad value:
    the unknown chemical, the category), never a 500."""
    r = client.post("/siting-check", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == 422 and field in problem["detail"]
    fields = [e["field"] for e in problem["errors"]]
    assert field in fields, fields
    message = " ".join(e["message"] for e in problem["errors"] if e["field"] == field)
    assert says in message, message


def test_non_finite_numbers_are_422(client):
    """NaN coordinates and infinite quantities (accepted by Python's JSON parser) are 422, not 500."""
    head = {"content-type": "application/json"}
    r = client.post("/siting-check", headers=head,
                    content='{"geometry": {"type": "Point", "coordinates": [NaN, 39.6]}, "chemicals": "氯:1"}')
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["geometry.coordinates"]
    r = client.post("/siting-check", headers=head, content='{"geometry": {"type": "Point", "coordinates": '
                    '[118.2, 39.6]}, "chemicals": [{"name": "氯", "tonnes": Infinity}]}')
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["chemicals.0.tonnes"]
    r = client.post("/siting-check", headers=head, content="{not json")
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")


def test_every_unknown_chemical_is_named(client):
    """Two unknown chemicals in the list: one error each, naming the chemical and its entry."""
    r = client.post("/siting-check", json={"geometry": GOOD, "chemicals": [
        {"name": "甲", "tonnes": 1}, {"name": "氯", "tonnes": 1}, {"name": "乙", "tonnes": 1}]})
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert [e["field"] for e in errors] == ["chemicals.0.name", "chemicals.2.name"]
    assert "'甲'" in errors[0]["message"] and "'乙'" in errors[1]["message"]
