"""Two synthetic years of the inspection loop in the demo region (issue 14 item 7; docs/demo.md).

``generate_history(features, counties, levels, seed)`` is pure: it takes the demo's features (``generate_demo``),
the county polygons and each site's risk level at the start (the level the bureau plans by), and returns the
records of ``HISTORY_START`` … ``HISTORY_END`` as one DataFrame per record kind of ``geo/records/kinds.py``
(inspections, hidden dangers with their status dates, enforcement actions with their lifting, accidents with a
point), every one flagged ``synthetic``, plus the **truth** the simulation drew them from: each site's true hazard
and latent terms, the variance of the log-hazard by term, and where each accident's site stood in the true,
observable and static rankings on its day.  The same inputs and seed give the same records; no database, no
files (data/loader.py writes them to files and imports them).

How the records are drawn (data/demo/simulation.py) and the true hazard (data/demo/hazard.py) are documented in
docs/demo.md, with every parameter; all are assumptions of the simulation, none fitted to riskmap's model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data.demo import hazard as hz
from data.demo.common import _STREAMS, AS_OF, DEFAULT_SEED, Region
from data.demo.record_text import INDUSTRY_ACCIDENT_GROUP
from data.demo.simulation import Simulation, SiteTable

HISTORY_START = dt.date(2024, 11, 1)
HISTORY_END = AS_OF - dt.timedelta(days=1)  # 2026-10-31: two whole years before the demo's "today"
SITE_KINDS = ("enterprise", "tailings_pond", "pipeline", "venue")
RECORD_KINDS = ("inspection", "hidden_danger", "enforcement_action", "accident")
DEFAULT_FREQUENCY_MONTHS = {"red": 1, "orange": 3, "yellow": 6, "blue": 12}  # geo/supervision/supervision.toml

COLUMNS = {
    "inspection": ("source_id", "site_kind", "site_source_id", "inspected_on", "team", "inspection_type",
                   "outcome", "notes"),
    "hidden_danger": ("source_id", "inspection_source_id", "site_kind", "site_source_id", "description",
                      "category", "grade", "found_on", "deadline", "responsible_unit", "responsible_person",
                      "status", "status_changed_on", "rectified_on", "verified_on", "reopened_on", "measures"),
    "enforcement_action": ("source_id", "site_kind", "site_source_id", "decided_on", "measure", "fine_yuan",
                           "lifted_on", "notes"),
    "accident": ("source_id", "occurred_on", "accident_type", "deaths", "serious_injuries", "direct_loss_10k_yuan",
                 "site_kind", "site_source_id", "source", "lon", "lat"),
}


@dataclass(frozen=True)
class History:
    """The synthetic records and the truth behind them."""

    records: dict[str, pd.DataFrame]  # per record kind, the columns of COLUMNS plus ``synthetic``
    sites: pd.DataFrame  # per site: kind, source_id, county, level, base, static, management, frailty, accidents
    accidents: pd.DataFrame  # per accident: its true site and its positions in the true / observable / static
    #                          rankings of that day (``<ranking>_a`` … ``<ranking>_b``, 1 = the highest)
    variance: dict[str, float]  # hazard.VarianceAccumulator.shares()
    first: dt.date
    last: dt.date


def sites_table(features: Mapping[str, gpd.GeoDataFrame], region: Region,
                levels: Mapping[str, Mapping[str, str]] | None,
                frequency_months: Mapping[str, int]) -> SiteTable:
    """The enterprises, tailings ponds, pipelines and venues as one table (in that order), with their county,
    their start level (``levels[kind][source_id]``; blue where not given), its inspection frequency and their
    static true hazard."""
    parts = []
    for kind in SITE_KINDS:
        frame = features[kind]
        points = shapely.point_on_surface(np.asarray(frame.geometry.values, dtype=object))
        if kind == "pipeline":
            points = shapely.line_interpolate_point(np.asarray(frame.geometry.values, dtype=object), 0.5,
                                                    normalized=True)
        h = hz.site_hazard(kind, frame)
        given = (levels or {}).get(kind, {})
        level = np.array([given.get(sid, "blue") for sid in frame["source_id"]], dtype=object)
        group = (frame["industry"].map(INDUSTRY_ACCIDENT_GROUP).fillna("general").to_numpy(object)
                 if kind == "enterprise" else np.full(len(frame), kind, dtype=object))
        employees = pd.to_numeric(frame.get("employees", pd.Series(np.nan, index=frame.index)), errors="coerce") \
            .astype("float64")
        parts.append(pd.DataFrame({
            "kind": kind, "source_id": frame["source_id"].to_numpy(object), "name": frame["name"].to_numpy(object),
            "lon": shapely.get_x(points), "lat": shapely.get_y(points), "level": level,
            "base": h.base, "static": h.static, "centred": h.static - h.static.mean() if len(frame) else h.static,
            "accident_group": group, "small": (employees < 50).to_numpy(dtype=bool) & (kind == "enterprise"),
            "geometry": np.asarray(frame.geometry.values, dtype=object)}))
    table = pd.concat(parts, ignore_index=True)
    county = region.county_names(table["lon"].to_numpy(float), table["lat"].to_numpy(float))
    unknown = set(table["level"]) - set(frequency_months)
    if unknown:
        raise ValueError(f"levels: unknown level(s) {sorted(unknown)}; expected {sorted(frequency_months)}")
    return SiteTable(
        kind=table["kind"].to_numpy(object), source_id=table["source_id"].to_numpy(object),
        name=table["name"].to_numpy(object), county=np.asarray(county, dtype=object),
        lon=table["lon"].to_numpy(float), lat=table["lat"].to_numpy(float), level=table["level"].to_numpy(object),
        frequency_months=table["level"].map(frequency_months).to_numpy(np.int64),
        base=table["base"].to_numpy(float), centred=table["centred"].to_numpy(float),
        accident_group=table["accident_group"].to_numpy(object), small=table["small"].to_numpy(bool),
        lines={i: g for i, (k, g) in enumerate(zip(table["kind"], table["geometry"], strict=True))
               if k == "pipeline"})


def generate_history(features: Mapping[str, gpd.GeoDataFrame], counties: gpd.GeoDataFrame,
                     levels: Mapping[str, Mapping[str, str]] | None = None, seed: int = DEFAULT_SEED, *,
                     first: dt.date = HISTORY_START, last: dt.date = HISTORY_END,
                     frequency_months: Mapping[str, int] | None = None) -> History:
    """The synthetic records of ``first`` … ``last`` for the demo's ``features`` (see the module docstring).

    ``levels``: {kind: {source_id: level}}, each site's risk level when the history starts (what the bureau
    plans its inspections by; blue where missing).  ``frequency_months``: months between inspections per level
    (default: the shipped supervision settings' red 1, orange 3, yellow 6, blue 12)."""
    if last < first:
        raise ValueError(f"the history's last day {last} is before its first {first}")
    region = Region.from_counties(counties)
    sites = sites_table(features, region, levels, frequency_months or DEFAULT_FREQUENCY_MONTHS)
    n = len(sites.kind)
    latent = np.random.default_rng([seed, _STREAMS["history_latent"]])
    management = latent.normal(0.0, 1.0, n)
    frailty = latent.normal(0.0, hz.FRAILTY_SD, n)
    sim = Simulation(sites, np.random.default_rng([seed, _STREAMS["history"]]), management, frailty, first, last)
    sim.run()

    records = {
        "inspection": _frame(sim.records.inspections, "inspection"),
        "hidden_danger": _frame(sim.records.dangers, "hidden_danger"),
        "enforcement_action": _frame(sim.records.actions, "enforcement_action"),
        "accident": _frame(sim.records.accidents, "accident"),
    }
    accidents = pd.DataFrame(sim.accident_truth)
    per_site = accidents.dropna(subset=["site_source_id"]).groupby(["kind", "site_source_id"]).size()
    truth = pd.DataFrame({
        "kind": sites.kind, "source_id": sites.source_id, "county": sites.county, "level": sites.level,
        "base": sites.base, "static": sites.base - np.log([hz.BASE_PER_YEAR[k] for k in sites.kind]),
        "management": hz.MANAGEMENT_WEIGHT * management, "frailty": frailty})
    truth["accidents"] = per_site.reindex(pd.MultiIndex.from_arrays([truth["kind"], truth["source_id"]])) \
        .fillna(0).astype(int).to_numpy()
    return History(records=records, sites=truth, accidents=accidents, variance=sim.variance.shares(),
                   first=first, last=last)


def _frame(rows: list[dict], kind: str) -> pd.DataFrame:
    columns = COLUMNS[kind]
    frame = pd.DataFrame(rows, columns=list(dict.fromkeys([*columns, *(rows[0] if rows else ())])))
    frame = frame[list(columns)].copy()
    for c in frame.columns:
        if c.endswith("_on") or c == "deadline":
            frame[c] = frame[c].map(lambda d: d.isoformat() if isinstance(d, dt.date) else None)
    frame["synthetic"] = True
    return frame
