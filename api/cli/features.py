"""`riskmap import` and `riskmap export`: features (and, for imports, the campaign's records) into and out of the
store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import _progress, _reported, _settings, app, cli_actor, open_for_writing, out
from api.cli.scoring import SCORE_OPTION, follow_with_scores


@app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage, Shapefile (.shp or .zip), CSV or XLSX file.")],
    kind: Annotated[str, typer.Option(help="Feature class: enterprise, tailings_pond, pipeline, venue, "
                                           "settlement or area; or record kind: inspection, hidden_danger, "
                                           "enforcement_action or accident.")],
    crs: Annotated[str | None, typer.Option(help="Source CRS: an EPSG code (EPSG:4547) or gcj02 / bd09. "
                                                 "Default: the file's own, else WGS 84.")] = None,
    layer: Annotated[str | None, typer.Option(help="Layer to read from a multi-layer file.")] = None,
    mapping: Annotated[Path | None, typer.Option(help="JSON file renaming source columns to riskmap fields.")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding of a CSV file (default UTF-8), "
                                                      "e.g. GB18030.")] = None,
    max_errors: Annotated[int, typer.Option(help="Report at most this many bad rows.")] = 100,
    score: Annotated[bool, SCORE_OPTION] = True,
) -> None:
    """Import features or records, all or nothing: one bad row and nothing is written; every bad row is reported.
    Records keep who imported them (cli:<user>) in their history.  Then the scores follow the file's changes
    (a site with a new major hidden danger turns red on the map), unless --no-score."""
    from geo.importer import import_file, importable_kind, load_mapping

    with _reported():
        what = "features" if importable_kind(kind).named else "records"
        columns = load_mapping(mapping)
        settings = _settings()
        conn = open_for_writing(settings, f"riskmap import --kind {kind} {path}")
        try:
            with _progress(f"importing {path.name}") as update:
                report = import_file(conn, path, kind, crs=crs, layer=layer, mapping=columns, encoding=encoding,
                                     error_cap=max_errors, progress=update, actor=cli_actor())
            out.print(f"{report.file}: {report.rows_read} {kind} {what} imported "
                      f"({report.inserted} new, {report.updated} updated"
                      + (f", {report.unchanged} unchanged)" if report.unchanged else ")"))
            follow_with_scores(conn, settings, report.file, score)
        finally:
            conn.close()


@app.command("export")
def export_cmd(
    path: Annotated[Path, typer.Argument(help="File to write.")],
    kind: Annotated[str, typer.Option(help="Feature class to export.")],
    format: Annotated[str, typer.Option("--format", help="geojson, gpkg or csv.")] = "geojson",
) -> None:
    """Export stored features to a file."""
    from api.database import open_database
    from geo.exporter import export_features

    with _reported():
        conn = open_database(_settings())
        try:
            with _progress(f"exporting {kind}") as update:
                n = export_features(conn, kind, format, path, progress=update)
        finally:
            conn.close()
        out.print(f"wrote {n} {kind} features to {path}")
