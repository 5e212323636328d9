"""`riskmap roads import`: the road network plans take their travel times from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import _reported, _settings, open_for_writing, out

roads_app = typer.Typer(help="The road network plans take their travel times from.", no_args_is_help=True)


@roads_app.command("import")
def roads_import(
    path: Annotated[Path, typer.Argument(help="An OSM-derived road file: lines with highway (and maxspeed, oneway) "
                                              "columns or GDAL's other_tags, in any format GDAL reads.")],
    crs: Annotated[str | None, typer.Option(help="Source CRS, when the file does not declare it (see "
                                                 "`riskmap import`).")] = None,
    layer: Annotated[str | None, typer.Option(help="The layer to read (e.g. lines of an .osm.pbf).")] = None,
) -> None:
    """Load a road network, replacing the stored one: drivable ways split at their junctions, each with its
    length and driving time.  Plans then take travel times from it (searched in riskmap: geo/planning/roads.py)."""
    from geo.roads import import_roads

    with _reported():
        conn = open_for_writing(_settings(), f"riskmap roads import {path}")
        try:
            got = import_roads(conn, path, crs=crs, layer=layer)
        finally:
            conn.close()
        out.print(f"road network: {got['edges']:,} edges and {got['nodes']:,} nodes from {got['ways']:,} drivable "
                  f"ways ({got['features']:,} features read)", highlight=False)
