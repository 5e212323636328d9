"""The exposure heatmap of the main map (issue 13, item 9): one click from the start, coloured by the quantiles of
the whole surface, with its own legend; the colours are read back from what the page drew, in a real headless
Chromium."""

from __future__ import annotations

import math

import httpx
import pytest

from tests.maps.conftest import open_map, screenshot, set_view

TOP_BAND = 4  # the bands: 0 (below the median) ... 4 (the top 3 % of the cells)


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points."""
    (lat1, lon1), (lat2, lon2) = (map(math.radians, p) for p in (a, b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


@pytest.fixture(scope="module")
def breaks(demo_db) -> list[float]:
    """The exposure at the 50th, 75th, 90th and 97th percentiles of every cell, straight from the database."""
    with demo_db.cursor() as cur:
        cur.execute("SELECT percentile_cont(ARRAY[0.5, 0.75, 0.9, 0.97]) WITHIN GROUP (ORDER BY value) "
                    "FROM exposure_cell")
        return cur.fetchone()[0]


@pytest.fixture(scope="module")
def hot_places(demo_db, breaks) -> list[tuple[float, float]]:
    """(lat, lon) of the five hottest places of the demo: the hottest exposure cells at least 5 km apart (its
    industrial parks and town centres), each in the top 3 % of the cells."""
    with demo_db.cursor() as cur:
        cur.execute("SELECT ST_Y(geom), ST_X(geom), value FROM exposure_cell ORDER BY value DESC LIMIT 500")
        cells = cur.fetchall()
    places: list[tuple[float, float]] = []
    for lat, lon, value in cells:
        if value >= breaks[3] and all(distance_m((lat, lon), p) >= 5000 for p in places):
            places.append((lat, lon))
    assert len(places) >= 5
    return places[:5]


@pytest.fixture(scope="module")
def quiet_corner(demo_db) -> tuple[float, float]:
    """(lat, lon) of the point of the region (inside a county, on a 0.02 degree grid) farthest from any exposure
    cell: more than 6 km from the surface."""
    with demo_db.cursor() as cur:
        cur.execute("""
            WITH region AS (SELECT ST_Union(geom) AS g FROM area WHERE level = 'county'),
            grid AS (SELECT ST_SetSRID(ST_MakePoint(x, y), 4326) AS p
                     FROM region,
                          generate_series(floor(ST_XMin(region.g))::numeric, ST_XMax(region.g)::numeric, 0.02) x,
                          generate_series(floor(ST_YMin(region.g))::numeric, ST_YMax(region.g)::numeric, 0.02) y)
            SELECT ST_Y(p), ST_X(p),
                   (SELECT ST_Distance(p::geography, c.geom::geography) FROM exposure_cell c ORDER BY c.geom <-> p
                    LIMIT 1) AS d
            FROM grid, region WHERE ST_Contains(region.g, grid.p) ORDER BY d DESC LIMIT 1""")
        lat, lon, d = cur.fetchone()
    assert d > 6000
    return lat, lon


@pytest.fixture(scope="module")
def quiet_cell(demo_db, breaks) -> tuple[float, float]:
    """(lat, lon) of a cell below the median with no cell in the top 10 % within 12 km: the middle of a quiet
    view."""
    with demo_db.cursor() as cur:
        cur.execute("""
            SELECT ST_Y(c.geom), ST_X(c.geom) FROM exposure_cell c
            WHERE c.value < %(median)s AND NOT EXISTS (
                SELECT 1 FROM exposure_cell h
                WHERE h.value >= %(p90)s AND h.geom && ST_Expand(c.geom, 0.2)
                  AND ST_DWithin(h.geom::geography, c.geom::geography, 12000))
            ORDER BY c.value, c.cell LIMIT 1""", {"median": breaks[0], "p90": breaks[2]})
        return cur.fetchone()


def band_colours(page) -> list[list[int]]:
    """The RGB of each band's swatch in the heatmap's legend, coldest first."""
    rgb = page.locator(".riskmap-heat-row").evaluate_all(
        "rs => rs.map(r => [Number(r.dataset.band), getComputedStyle(r.querySelector('i')).backgroundColor])")
    by_band = {band: [int(v) for v in colour[4:-1].split(",")] for band, colour in rgb}
    return [by_band[b] for b in sorted(by_band)]


def drawn_bands(page, places: list[tuple[float, float]], around: int = 0) -> list[set[int]]:
    """The bands the heatmap drew at each (lat, lon), read from its canvas: the pixel there (and those within
    ``around`` pixels), each matched to the legend's colours; -1 for a transparent pixel."""
    colours = band_colours(page)
    pixels = page.evaluate("""([places, around]) => {
        const r = riskmap.current, canvas = r.heat._canvas, ctx = canvas.getContext('2d');
        return places.map(([lat, lon]) => {
            const p = r.map.latLngToContainerPoint([lat, lon]), x = Math.round(p.x), y = Math.round(p.y);
            const d = ctx.getImageData(x - around, y - around, 2 * around + 1, 2 * around + 1).data, out = [];
            for (let i = 0; i < d.length; i += 4) out.push([d[i], d[i + 1], d[i + 2], d[i + 3]]);
            return out;
        }); }""", [places, around])
    return [{band_of(px, colours) for px in block} for block in pixels]


def band_of(pixel: list[int], colours: list[list[int]]) -> int:
    """The band whose legend colour a canvas pixel has (-1: transparent). The canvas keeps its colours
    premultiplied by their opacity, so the RGB read back may be a few levels off the colour drawn."""
    *rgb, alpha = pixel
    if alpha == 0:
        return -1
    off = [max(abs(a - b) for a, b in zip(rgb, c, strict=True)) for c in colours]
    band = off.index(min(off))
    assert off[band] <= max(3, 1024 // alpha), f"a colour not in the legend: {pixel}"
    return band


def assert_canvas_covers_the_map(page) -> None:
    """The heat canvas lies exactly over the map, so its pixel (x, y) is what the user sees at (x, y)."""
    canvas, container = page.evaluate("""() => [riskmap.current.heat._canvas.getBoundingClientRect().toJSON(),
                                               riskmap.current.map.getContainer().getBoundingClientRect().toJSON()]""")
    for key in ("x", "y", "width", "height"):
        assert canvas[key] == pytest.approx(container[key], abs=0.5)


def test_switch_turns_the_zoning_into_the_heatmap(page, server):
    """One click on the switch shows the heatmap instead of the zoning, with its own legend: a band per quantile
    of the whole surface, labelled with /exposure/scale's values, the pipelines in grey over it; a second click
    brings the zoning back."""
    open_map(page, server)
    assert page.locator(".riskmap-mode a.riskmap-mode-on").inner_text() == "四色分区"
    assert not page.locator(".riskmap-legend-heat").is_visible()
    before = page.evaluate("document.querySelector('.leaflet-container').dataset.idle")
    page.locator(".riskmap-mode a", has_text="热力图").click()
    page.wait_for_function(f"document.querySelector('.leaflet-container').dataset.idle !== '{before}'")
    page.wait_for_function("document.querySelector('.leaflet-container').dataset.loading === '0'")
    assert page.evaluate("riskmap.current.map.hasLayer(riskmap.current.heat)")
    assert not page.evaluate("riskmap.current.map.hasLayer(riskmap.current.zoning)")
    assert page.locator(".riskmap-mode a.riskmap-mode-on").inner_text() == "热力图"
    assert page.locator(".riskmap-legend-heat").is_visible() and not page.locator(".riskmap-legend-zoning").is_visible()
    assert "view=heat" in page.url
    scale = httpx.get(f"{server.url}/exposure/scale").json()
    rows = page.locator(".riskmap-heat-row")
    assert rows.evaluate_all("rs => rs.map(r => Number(r.dataset.band))") == [4, 3, 2, 1, 0]
    texts = rows.all_inner_texts()
    b = [f"{float(f'{v:.3g}'):g}" for v in scale["breaks"]]
    assert texts[0].startswith(f"≥ {b[3]}") and "最高 3 %" in texts[0]
    assert texts[1].startswith(f"{b[2]}–{b[3]}") and texts[4].startswith(f"< {b[0]}") and "最低 50 %" in texts[4]
    # over the heatmap the pipelines are thin grey lines (their level colours would read as heat), and in their
    # level's colours again on the zoning
    line_colours = ("() => riskmap.current.kinds.pipeline.getLayers()"
                    ".map(l => [l.getLayers()[0].options.color, l.getLayers()[0].feature.properties.level])")
    lines = page.evaluate(line_colours)
    assert lines and {colour for colour, _ in lines} == {"#444"}
    page.locator(".riskmap-mode a", has_text="四色分区").click()
    level_colours = {"red": "#d7191c", "orange": "#fd8d3c", "yellow": "#ffd92f", "blue": "#2b83ba"}
    assert all(colour == level_colours[level] for colour, level in page.evaluate(line_colours))
    assert page.evaluate("riskmap.current.map.hasLayer(riskmap.current.zoning)")
    assert not page.evaluate("riskmap.current.map.hasLayer(riskmap.current.heat)")
    assert page.locator(".riskmap-legend-zoning").is_visible() and not page.locator(".riskmap-legend-heat").is_visible()


def test_hot_places_are_drawn_in_the_top_band(page, server, hot_places, quiet_corner):
    """On the heatmap of the whole region, each of the five hottest places is drawn in the top band's colour (the
    legend's), and a quiet corner far from the surface is not drawn at all."""
    open_map(page, server, "?view=heat")
    assert_canvas_covers_the_map(page)
    # zoomed out each square shows its hottest cell: the place's pixel, or its neighbour when the place lies on a
    # square's edge, is in the top band
    for place, bands in zip(hot_places, drawn_bands(page, hot_places, around=1), strict=True):
        assert TOP_BAND in bands, f"{place}: bands {bands}"
    assert drawn_bands(page, [quiet_corner]) == [{-1}]
    screenshot(page, "heatmap")
    # close up each cell is drawn on its own: the hottest cell's own pixel is in the top band
    for place in hot_places:
        set_view(page, *place, 13)
        assert drawn_bands(page, [place]) == [{TOP_BAND}], place


def test_a_quiet_view_stays_cold_while_panning(page, server, quiet_cell, hot_places, breaks):
    """Colours mean the same values wherever the map is: a view with no cell in the top 10 % has no pixel in the
    two top bands (a ramp scaled to the view would paint its largest value hot), the quiet cell itself is in one
    of the two coldest bands, and panning back to a hot place draws it in the top band again; the scale is
    fetched once."""
    open_map(page, server, "?view=heat")
    set_view(page, *quiet_cell, 13)
    assert_canvas_covers_the_map(page)
    # every drawn pixel of the view, counted by the colour it has
    pixels = page.evaluate("""() => {
        const c = riskmap.current.heat._canvas, d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = {};
        for (let i = 0; i < d.length; i += 4) {
            if (!d[i + 3]) continue;
            const key = [d[i], d[i + 1], d[i + 2], d[i + 3]].join(',');
            seen[key] = (seen[key] || 0) + 1;
        }
        return seen; }""")
    colours, counts = band_colours(page), [0] * 5
    for key, n in pixels.items():
        counts[band_of([int(v) for v in key.split(",")], colours)] += n
    assert counts[0] + counts[1] > 1000  # the view does show the surface
    assert counts[3] == 0 and counts[4] == 0
    assert drawn_bands(page, [quiet_cell])[0] <= {0, 1}
    set_view(page, *hot_places[0], 13)
    assert drawn_bands(page, [hot_places[0]]) == [{TOP_BAND}]
    assert len([u for u in page.log.requests if "/exposure/scale" in u]) == 1
    assert len([u for u in page.log.requests if "/exposure?" in u]) >= 3
