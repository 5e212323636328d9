"""A seeded, synthetic national data set over China's real province, city and county boundaries.

``generate_national(folder, seed, scale)`` writes one GeoPackage per feature kind of ``geo/kinds.py`` into
``folder``, a chunk at a time, never the whole set in memory, and a ``manifest.json`` last (a folder with a
manifest is complete); ``data/national/loader.py`` imports them through the ordinary importer, with the areas.

**The boundaries are real, every feature is invented**, like the Tangshan demo (data/demo): every feature has
``synthetic = True``, a ``source_id`` starting ``demo-cn-`` and a name ending in "（合成）".

At ``scale = 1`` (``NATIONAL_COUNTS``): 300,000 enterprises (hazardous chemicals, oil and gas storage,
metallurgy, mining), 8,000 tailings ponds, about 150,000 km of pipelines (12,500 lines of a median 10 km),
1,000,000 crowded venues and 5,000,000 settlements; ``scale`` multiplies every count, rounded.

Where (data/national/weights.py, data/national/features.py)
    The areas are the 31 mainland provinces, their cities and their 2,800-odd county-level units
    (data/national/boundaries.py).  Each class's total is shared among the provinces by the province table (venues
    and settlements by the 2020 census population, enterprises by the chemicals + metallurgy + mining indices,
    ponds and pipelines by their own), a province's share equally among its county-level units (ponds: urban
    districts at 0.3 of a share), drawn as one multinomial per class.  Within a unit, the seat is a point on
    its surface and five township seats are uniform over it; a cluster's spread is a sixth of the side of a
    square of the unit's area (0.5-5 km).  Enterprises: 70 % around the seat and the first two township seats
    (their industrial parks), 30 % uniform, industries in the proportions of the province's indices (20 % of the
    chemicals share as oil and gas storage).  Ponds: 85 % around two mining districts placed uniformly in the
    unit, 15 % uniform.  Venues: half around the seat with the demo's town mix, half around the township seats
    with its township mix (half the spread).  Settlements: 15 % urban communities around the seat (half the
    spread), the five township seats, then villages, 45 % near a seat and 55 % uniform.  Pipelines: each line
    wanders through one unit from a random point in steps of 2-5 km, turning by a normal angle (sd 25°), every
    step inside the unit, until its drawn length (log-normal, median 10 km, 2-60 km) or until no step fits: a
    county keeps its own stretch of a line, as its register does; the line types (medium, diameter, pressure,
    year, operator) are the demo's corridor lines.
Attributes
    Drawn exactly as the demo draws them, by the demo's own functions (``enterprise_frame``, ``pond_frame``,
    ``pipeline_frame``, ``venue_frame``, ``settlement_frame``: the distributions documented in data/demo).
Admin codes
    Every feature carries ``province_code``, ``city_code`` and ``county_code`` (GB/T 2260, as the areas' admin
    codes): the unit it was drawn in and the areas above it.  A city with no counties (东莞) is its own
    county-level unit, so its features' ``county_code`` is the city's; Chongqing's counties hang from the province,
    so there ``city_code`` is the province's.  The importer keeps these extra columns in each feature's ``props``.
Determinism
    Each unit and class draws from its own stream (``numpy.random.default_rng([seed, class, unit])``), so the
    output depends on the seed and the scale only, not on the chunk size or the order of writing.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import Geod

from data.national.boundaries import Units, areas_path, read_units
from data.national.features import BLOCK, PLACE, PREFIX, hubs, order_settlements, short_name
from data.national.weights import unit_weights

DEFAULT_SEED = 20261129
KINDS = ("enterprise", "tailings_pond", "pipeline", "venue", "settlement")
NATIONAL_COUNTS = {"enterprise": 300_000, "tailings_pond": 8_000, "pipeline": 12_500, "venue": 1_000_000,
                   "settlement": 5_000_000}  # pipeline: lines (about 150,000 km)
DEFAULT_CHUNK_ROWS = 50_000
BLOCK_ROWS = 20_000  # features whose attributes are drawn at once (fixed: the output must not depend on it)
_BLOCK_STREAM = 1
MANIFEST = "manifest.json"
_STREAMS = {"allocation": 100, "hubs": 101, "enterprise": 102, "tailings_pond": 103, "pipeline": 104,
            "venue": 105, "settlement": 106}
_GEOD = Geod(ellps="WGS84")  # pipeline lengths on the ellipsoid
Progress = Callable[[str, int, int], None]  # kind, rows written, rows of that kind in total


@dataclass(frozen=True)
class Unit:
    """One county-level unit as the generators see it."""

    index: int
    county_code: str
    city_code: str
    province_code: str
    short: str
    geometry: object
    hub_lon: np.ndarray
    hub_lat: np.ndarray


def counts_for(scale: float) -> dict[str, int]:
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    return {kind: max(1, round(n * scale)) for kind, n in NATIONAL_COUNTS.items()}


def allocate(units: Units, kind: str, total: int, seed: int) -> np.ndarray:
    """How many features of ``kind`` each unit gets (one multinomial draw over the units' weights)."""
    rng = np.random.default_rng([seed, _STREAMS["allocation"], _STREAMS[kind]])
    return rng.multinomial(total, unit_weights(kind, units.province_code, units.name))


def folder_for(base: Path, seed: int, scale: float) -> Path:
    """Where the set of a seed and scale is kept under ``base``."""
    return Path(base) / f"seed-{seed}-scale-{scale:g}"


def read_manifest(folder: Path) -> dict | None:
    try:
        return json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def generate_national(folder: Path, seed: int = DEFAULT_SEED, scale: float = 1.0, *,
                      areas_file: Path | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                      kinds: tuple[str, ...] = KINDS, progress: Progress | None = None) -> dict:
    """Write the set for ``seed`` and ``scale`` into ``folder`` (replacing what is there); returns the manifest.

    ``kinds`` limits it to some classes (each is drawn the same whatever the others: a benchmark or a test of
    one class need not draw the rest); ``riskmap demo --national`` takes a set of every class only.

    ``areas_file`` is the area file (data/national/boundaries.py; built under ``folder``'s parent when not
    given).  At most about ``chunk_rows + BLOCK_ROWS`` features (plus one unit's) are in memory at once.
    """
    counts = counts_for(scale)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"no feature class {unknown} in the national set; its classes are {list(KINDS)}")
    folder = Path(folder)
    areas_file = Path(areas_file) if areas_file else areas_path(folder.parent)
    units = read_units(areas_file)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    written = {}
    unit_hubs = [hubs(units.geometry[i], np.random.default_rng([seed, _STREAMS["hubs"], i]))
                 for i in range(len(units))]
    for kind in kinds:
        per_unit = allocate(units, kind, counts[kind], seed)
        path = folder / f"{kind}.gpkg"
        written[kind] = _write_kind(path, kind, units, unit_hubs, per_unit, seed, chunk_rows,
                                    lambda done, k=kind, total=counts[kind]: progress and progress(k, done, total))
    manifest = {"seed": seed, "scale": scale, "complete": tuple(kinds) == KINDS, "areas": str(areas_file),
                "features": written, "seconds": round(time.perf_counter() - started, 1), "synthetic": True}
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def _write_kind(path: Path, kind: str, units: Units, unit_hubs, per_unit: np.ndarray, seed: int,
                chunk_rows: int, progress: Callable[[int], None]) -> dict:
    """Generate ``kind`` a block of units at a time, appending to ``path`` each time ``chunk_rows`` features are
    waiting.  A block is consecutive units holding at least ``BLOCK_ROWS`` features (the last one fewer): its
    attributes come from one stream named by its first unit, so the output does not depend on ``chunk_rows``."""
    pending: list[gpd.GeoDataFrame] = []
    waiting = rows = 0
    km = 0.0

    def flush():
        nonlocal pending, waiting, rows, km
        frame = pd.concat(pending, ignore_index=True)
        if kind == "pipeline":
            km += sum(_GEOD.geometry_length(g) for g in frame.geometry) / 1000.0
        pyogrio.write_dataframe(frame, path, layer=kind, driver="GPKG", append=rows > 0)
        rows += len(frame)
        pending, waiting = [], 0
        progress(rows)

    for block in _blocks(per_unit):
        frame = _block_frame(kind, units, unit_hubs, per_unit, block, seed)
        if frame.empty:
            continue
        pending.append(frame)
        waiting += len(frame)
        if waiting >= chunk_rows:
            flush()
    if pending:
        flush()
    if rows == 0:
        raise ValueError(f"no {kind} was generated: raise the scale")
    out = {"rows": rows, "file": path.name}
    if kind == "pipeline":
        out["km"] = round(km, 1)
    return out


def _blocks(per_unit: np.ndarray):
    """Runs of consecutive units (with features) holding at least ``BLOCK_ROWS`` features, the last one fewer."""
    block, held = [], 0
    for i in np.flatnonzero(per_unit):
        block.append(int(i))
        held += int(per_unit[i])
        if held >= BLOCK_ROWS:
            yield block
            block, held = [], 0
    if block:
        yield block


def _block_frame(kind: str, units: Units, unit_hubs, per_unit: np.ndarray, block: list[int],
                 seed: int) -> gpd.GeoDataFrame:
    """The features of a block of units: placed unit by unit, their attributes drawn for the block at once."""
    parts = []
    for i in block:
        unit = Unit(i, units.county_code[i], units.city_code[i], units.province_code[i],
                    short_name(units.name[i]), units.geometry[i], *unit_hubs[i])
        placed = PLACE[kind](unit, np.random.default_rng([seed, _STREAMS[kind], i]), int(per_unit[i]))
        n = len(placed["lon"] if "lon" in placed else placed["name"])
        placed.update(place=np.full(n, unit.short), county_code=np.full(n, unit.county_code),
                      city_code=np.full(n, unit.city_code), province_code=np.full(n, unit.province_code))
        parts.append(placed)
    placed = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    if kind == "settlement":
        placed = order_settlements(placed)
    frame = BLOCK[kind](np.random.default_rng([seed, _STREAMS[kind], _BLOCK_STREAM, block[0]]), placed)
    codes = pd.Series(placed["county_code"])
    number = (codes.groupby(codes).cumcount() + 1).astype(str).str.zfill(5)
    frame["source_id"] = (f"demo-cn-{PREFIX[kind]}-" + codes + "-" + number).to_numpy()
    for column in ("province_code", "city_code", "county_code"):
        frame[column] = placed[column]
    return frame
