"""The siting red-line rules (geo/siting) without HTTP or a database: input checks naming the field, the GB 18218
result, the Pipeline Protection Law zones, the GB 36894 screening and the findings, over hand-made targets
(domain.md §1, §4, §7)."""

from __future__ import annotations

import html
import json

import pytest

from geo.errors import InputError
from geo.risk.config import load_model
from geo.siting import (
    SitingInputError,
    Surroundings,
    check_project,
    gb18218_result,
    parse_geometry,
    pipeline_zone,
    read_project,
    resolve_chemicals,
    siting_report,
)
from geo.siting.inputs import parse_project_chemicals
from maps.siting_page import siting_page

MODEL = load_model()
GB = MODEL["enterprise"]["gb18218"]
CTX = MODEL["context"]
SITE = {"type": "Point", "coordinates": [118.2, 39.65]}
CL_NH3 = [{"name": "氯", "tonnes": 10}, {"name": "氨", "tonnes": 100}]
SQUARE = {"type": "Polygon", "coordinates": [[[118.19, 39.64], [118.2, 39.64], [118.2, 39.65], [118.19, 39.65],
                                              [118.19, 39.64]]]}


def settlement(i: int, distance_m: float, people: float, *, counted: bool = True, inside: bool = False,
               in_ring: bool = True) -> dict:
    """A settlement row as geo/siting/sql/settlements.sql returns it."""
    return {"id": i, "source_id": f"S{i}", "name": f"村{i}", "population": int(people), "households": None,
            "people": float(people), "distance_m": distance_m, "counted": counted, "inside_site": inside,
            "in_ring": in_ring}


def venue(i: int, distance_m: float, venue_type: str, occupancy: int | None = 50, *, inside: bool = False) -> dict:
    """A venue row as geo/siting/sql/venues.sql returns it (in the 500 m ring when within 500 m)."""
    return {"id": i, "source_id": f"V{i}", "name": f"场所{i}", "venue_type": venue_type, "occupancy": occupancy,
            "status": "operating", "distance_m": distance_m, "inside_site": inside, "in_ring": distance_m <= 500}


def pipeline(i: int, distance_m: float, *, crosses: bool = False) -> dict:
    """A pipeline row as geo/siting/sql/pipelines.sql returns it."""
    return {"id": i, "source_id": f"P{i}", "name": f"管线{i}", "medium": "natural_gas", "diameter_mm": 1016.0,
            "pressure_mpa": 10.0, "operator": "x", "status": "operating", "distance_m": distance_m,
            "crosses_site": crosses}


def hazard(i: int, distance_m: float) -> dict:
    """An existing major-hazard enterprise as geo/siting/sql/major_hazards.sql returns it."""
    return {"id": i, "source_id": f"E{i}", "name": f"化工厂{i}", "industry": "hazardous_chemicals",
            "distance_m": distance_m, "s_value": 3.0, "r_value": 20.0, "major_hazard_level": 3, "level": "orange"}


def report(found: Surroundings, geometry: dict = SITE, chemicals=None, name: str | None = "测试项目"):
    """The report of a project among hand-made targets."""
    project = check_project(geometry, chemicals or CL_NH3, name, MODEL)
    return siting_report(project.name, project.geometry, project.area_m2, project.resolved, project.sums, found,
                         MODEL)


def codes(r) -> list[str]:
    return [f.code for f in r.findings]


# ----- input --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("geometry", "field", "says"), [
    ({"type": "LineString", "coordinates": [[118, 39], [118.1, 39]]}, "geometry.type", "Point or Polygon"),
    ({"type": "Point"}, "geometry.coordinates", "missing"),
    ({"type": "Point", "coordinates": [118.2, 91]}, "geometry.coordinates", "latitude 91.0 is out of range"),
    ({"type": "Point", "coordinates": [True, 39]}, "geometry.coordinates", "in numbers"),
    ({"type": "Polygon", "coordinates": [SQUARE["coordinates"][0][:-1]]}, "geometry.coordinates.0", "closed"),
    ({"type": "Polygon", "coordinates": [[[118, 39], [118.1, 39], [118.1, 95], [118, 39]]]},
     "geometry.coordinates.0.2", "latitude"),
    ({"type": "Polygon", "coordinates": [[[118, 39], [118.1, 40], [118.1, 39], [118, 40], [118, 39]]]},
     "geometry", "Self-intersection"),
])
def test_bad_geometry_names_the_field(geometry, field, says):
    """Each bad geometry is a SitingInputError naming the field as the request spells it, and what is wrong."""
    with pytest.raises(SitingInputError) as info:
        parse_geometry(geometry, 100.0)
    [(got_field, message)] = info.value.errors
    assert got_field == field and says in message


def test_polygon_area_and_limit():
    """A polygon's geodesic area is returned (about 0.95 km² for 0.01° × 0.01° at 39.6 °N); one larger than the
    allowed site is rejected, naming the limit."""
    site, area_m2 = parse_geometry(SQUARE, 100.0)
    assert site.geom_type == "Polygon" and 0.9e6 < area_m2 < 1.0e6
    with pytest.raises(SitingInputError, match="more than the 0.5 km²"):
        parse_geometry(SQUARE, 0.5)


def test_chemicals_text_form_equals_list_and_unknown_are_all_named():
    """The text form "氯:10;氨:100" resolves as the list does; every unknown chemical is named, with its entry."""
    listed = resolve_chemicals(*parse_project_chemicals(CL_NH3), GB)[1]
    text = resolve_chemicals(*parse_project_chemicals("氯:10;氨:100"), GB)[1]
    assert listed.to_dict() == text.to_dict()
    entries, fields = parse_project_chemicals([{"name": "甲", "tonnes": 1}, {"name": "氯", "tonnes": 1},
                                               {"name": "乙", "tonnes": 1}])
    with pytest.raises(SitingInputError) as info:
        resolve_chemicals(entries, fields, GB)
    assert [f for f, _ in info.value.errors] == ["chemicals.0.name", "chemicals.2.name"]
    assert "'甲'" in info.value.errors[0][1]
    with pytest.raises(SitingInputError) as info:
        parse_project_chemicals([{"name": "氯", "tonnes": -1}])
    assert info.value.errors[0][0] == "chemicals.0.tonnes"


# ----- GB 18218 ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("people", "alpha", "r", "level"), [
    (0.0, 0.5, 14.0, 3), (29.0, 1.0, 28.0, 3), (60.0, 1.5, 42.0, 3), (635.6, 2.0, 56.0, 2)])
def test_gb18218_worked_example(people, alpha, r, level):
    """10 t chlorine (Q 5 t, β 4) and 100 t ammonia (Q 10 t, β 2): S = 2 + 10 = 12, Σβq/Q = 8 + 20 = 28; α from
    the people within 500 m, R = α × 28, and the level from R (≥ 100 一级, ≥ 50 二级, ≥ 10 三级)."""
    resolved, sums = resolve_chemicals(*parse_project_chemicals(CL_NH3), GB)
    gb = gb18218_result(resolved, sums, people, MODEL)
    assert gb.s_value == pytest.approx(12.0) and gb.beta_sum == pytest.approx(28.0)
    assert gb.alpha == alpha and gb.r_value == pytest.approx(r)
    assert gb.major_hazard is True and gb.major_hazard_level == level
    chlorine = next(c for c in gb.chemicals if c.name == "氯")
    assert (chlorine.q_t, chlorine.beta, chlorine.ref, chlorine.q_ratio) == (5.0, 4.0, "T1-12", 2.0)


def test_below_the_threshold_is_no_major_hazard():
    """6 t ammonia: S = 0.6 < 1, not a major hazard and no level; the first finding says so."""
    r = report(Surroundings(), chemicals="氨:6")
    assert r.gb18218.major_hazard is False and r.gb18218.major_hazard_level is None
    assert codes(r)[0] == "not_major_hazard"


# ----- targets and findings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("metres", "zone"), [(0.0, "5m"), (5.0, "5m"), (5.01, "50m"), (50.0, "50m"),
                                              (50.5, "200m"), (200.0, "200m")])
def test_pipeline_zone_bounds(metres, zone):
    """The Pipeline Protection Law zones from the centreline (domain.md §4): ≤ 5 m Art. 30, ≤ 50 m Art. 35(2),
    beyond that up to 200 m Art. 35(3)."""
    got = pipeline_zone(metres, CTX)
    assert got.code == zone
    assert got.article == {"5m": "Art. 30", "50m": "Art. 35(2)", "200m": "Art. 35(3)"}[zone]


def test_people_counted_outside_the_site_only():
    """α counts the settlements the query marks as counted (outside the site, within 500 m): 40 people → α 1.2;
    the 500-person settlement inside the site is listed, not counted, and has its own finding."""
    found = Surroundings(settlements=[settlement(1, 0.0, 500, counted=False, inside=True),
                                      settlement(2, 300.0, 40)])
    r = report(found, SQUARE)
    assert r.gb18218.people_500m == 40.0 and r.gb18218.alpha == 1.2
    assert r.gb18218.r_value == pytest.approx(1.2 * 28)
    listed = {s.id: s for s in r.targets.settlements}
    assert listed[1].inside_site and not listed[1].counted_in_alpha and listed[2].counted_in_alpha
    assert "settlement_inside_site" in codes(r) and "point_site" not in codes(r)
    assert r.project.geometry_type == "Polygon" and 0.9 < r.project.area_km2 < 1.0


def test_vulnerable_venue_pipeline_and_major_hazard_findings():
    """A kindergarten 320 m away is high-sensitivity with a finding giving its distance; a gas line 3 m away is
    in the 5 m zone (Art. 30) with the separation finding; an existing major hazard within 500 m is named."""
    found = Surroundings(venues=[venue(1, 320.0, "kindergarten"), venue(2, 400.0, "mall")],
                         pipelines=[pipeline(1, 3.0)], major_hazards=[hazard(1, 450.0)])
    r = report(found)
    kindergarten, mall = r.targets.venues
    assert kindergarten.vulnerable and kindergarten.gb36894_class == "high_sensitivity"
    assert not mall.vulnerable and mall.gb36894_class == "general_2"  # 50 people: 30-100
    finding = next(f for f in r.findings if f.code == "vulnerable_venue")
    assert "320 m" in finding.en and "kindergarten" in finding.en and "幼儿园" in finding.zh
    [p] = r.targets.pipelines
    assert p.zone.code == "5m" and p.why.limit_m == 5.0
    assert {"pipeline_zone_5m", "pipeline_separation", "major_hazards_500m", "point_site"} <= set(codes(r))
    assert "化工厂1" in next(f.zh for f in r.findings if f.code == "major_hazards_500m")


def test_gb36894_screening_beyond_the_ring():
    """A hospital 800 m away is outside the 500 m venue list but inside the 1000 m high-sensitivity screening
    radius (riskmap's assumption, [siting] screening_m); the section says the standard gives no fixed distances."""
    r = report(Surroundings(venues=[venue(1, 800.0, "hospital")]))
    assert r.targets.venues == []
    [found] = r.gb36894.found
    assert found.target_class == "high_sensitivity" and found.nearest_m == 800.0 and found.screening_m == 1000.0
    assert r.gb36894.fixed_distances is False
    assert "gb36894_targets" in codes(r)


def test_findings_are_capped_per_kind():
    """Eight vulnerable venues: five findings name the nearest, one more counts the other three."""
    r = report(Surroundings(venues=[venue(i, 100.0 + i, "school") for i in range(8)]))
    assert codes(r).count("vulnerable_venue") == 5 and codes(r).count("vulnerable_venue_more") == 1
    assert "3 more" in next(f.en for f in r.findings if f.code == "vulnerable_venue_more")


# ----- a project file and its page --------------------------------------------------------------------------------


def test_read_project_feature_collection_and_located_errors(tmp_path):
    """A FeatureCollection of one Feature gives its geometry, chemicals and name; errors are renamed to where the
    file holds the field (features.0.properties.chemicals.1.name); --chemicals replaces the file's."""
    path = tmp_path / "p.geojson"
    chemicals = [{"name": "氯", "tonnes": 10}, {"name": "氪星石", "tonnes": 1}]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": SITE, "properties": {"name": "项目", "chemicals": chemicals}}]}),
        encoding="utf-8")
    project = read_project(path)
    assert (project.geometry, project.chemicals, project.name) == (SITE, chemicals, "项目")
    with pytest.raises(SitingInputError) as info:
        check_project(project.geometry, project.chemicals, project.name, MODEL)
    assert project.located(info.value).errors[0][0] == "features.0.properties.chemicals.1.name"
    replaced = read_project(path, chemicals="氯:1")
    assert replaced.chemicals == "氯:1" and replaced.fields["chemicals"] == "--chemicals"


@pytest.mark.parametrize(("content", "says"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a GeoJSON object"),
    (json.dumps({"type": "FeatureCollection", "features": []}), "holds 0 features"),
    (json.dumps({"type": "Feature", "geometry": None, "properties": {}}), "no geometry"),
    (json.dumps({"type": "Feature", "geometry": SITE, "properties": {}}), "no chemicals"),
    (json.dumps({"type": "Feature", "geometry": SITE, "properties": {"chemicals": "氯:1"},
                 "crs": {"type": "name", "properties": {"name": "EPSG:4547"}}}), "EPSG:4547"),
    (json.dumps({"type": "Topology"}), "not type 'Topology'"),
])
def test_bad_project_file_says_what_is_wrong(tmp_path, content, says):
    """A file that is not a project is an InputError (exit 3) naming the file and what is wrong."""
    path = tmp_path / "p.geojson"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=says) as info:
        read_project(path)
    assert str(path) in str(info.value) and info.value.exit_code == 3


def test_page_escapes_and_holds_every_finding():
    """The HTML page holds every finding (escaped) and every target, and no script."""
    found = Surroundings(settlements=[settlement(1, 200.0, 120)], venues=[venue(2, 300.0, "school")],
                         pipelines=[pipeline(3, 30.0)], major_hazards=[hazard(4, 400.0)])
    r = report(found, name="<b>项目</b>")
    for language in ("zh", "en"):
        page = siting_page(r, language)
        assert "<script" not in page and "&lt;b&gt;项目&lt;/b&gt;" in page
        for f in r.findings:
            assert f'data-code="{f.code}">{html.escape(f.en if language == "en" else f.zh)}</li>' in page
        for name in ("村1", "场所2", "管线3", "化工厂4"):
            assert name in page
    assert "Findings" in siting_page(r, "en") and "结论" in siting_page(r, "zh")
