"""Loading the Tangshan demo region into the feature store, through the ordinary import path.

The real county boundaries come from ``tangshan_counties.geojson``; the synthetic features from
``demo.generate_demo``.  Each kind is written to a temporary GeoPackage and imported with ``geo.importer``, so
the demo exercises exactly what a user's import does.  Loading again with the same seed updates the same ids.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import geopandas as gpd

from data.demo import generate_demo
from geo.importer import import_file

DEMO_KINDS = ("enterprise", "tailings_pond", "pipeline", "venue", "settlement")


def counties_path() -> Path:
    return Path(str(resources.files("data").joinpath("tangshan_counties.geojson")))


def load_demo(conn, seed: int = 20261129, progress: Callable[[int, int | None], None] | None = None) -> dict[str, int]:
    """Import the demo region; returns the number of features per kind."""
    counts: dict[str, int] = {}
    report = import_file(conn, counties_path(), "area")
    counts["area"] = report.rows_read
    counties = gpd.read_file(counties_path(), engine="pyogrio")
    frames = generate_demo(counties, seed=seed)
    total = sum(len(f) for f in frames.values())
    done = 0
    with tempfile.TemporaryDirectory(prefix="riskmap-demo-") as tmp:
        for kind in DEMO_KINDS:
            frame = frames[kind]
            path = Path(tmp) / f"{kind}.gpkg"
            frame.to_file(path, driver="GPKG", layer=kind, engine="pyogrio")
            report = import_file(conn, path, kind, display_name=f"demo {kind} (synthetic)")
            counts[kind] = report.rows_read
            done += len(frame)
            if progress:
                progress(done, total)
    return counts
