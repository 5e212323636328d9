"""`riskmap qgis`: a QGIS project of every published layer, read live from a riskmap server (issue 16)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from api.cli.common import _reported, _settings, app, out


def server_url(url: str) -> str:
    """``url`` checked: an http(s) address with a host (the server's base, without a query or fragment)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError as e:
        raise typer.BadParameter(f"--url {url!r} is not a URL: {e}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise typer.BadParameter(f"--url must be the server's http(s) address, e.g. http://127.0.0.1:8000, "
                                 f"not {url!r}")
    return url.rstrip("/")


@app.command("qgis")
def qgis_cmd(
    out_file: Annotated[Path, typer.Option("--out", help="The QGIS project file to write (.qgs).")],
    url: Annotated[str, typer.Option(help="The riskmap server QGIS reads the layers from (its base address).")
                   ] = "http://127.0.0.1:8000",
) -> None:
    """Write a QGIS project that opens every layer (sites, pipeline segments, counties and the H3 cells of each
    stored resolution) live from the riskmap server at --url through its OGC API – Features, with the web map's
    four colours, on the extent of the data."""
    from api.database import open_database
    from api.routes.qgis import qgis_document

    with _reported():
        base = server_url(url)
        settings = _settings()
        conn = open_database(settings)
        try:
            document = qgis_document(conn, base)
        finally:
            conn.close()
        try:
            out_file.write_bytes(document)
        except OSError as e:
            raise typer.BadParameter(f"--out {out_file}: cannot write it ({e.strerror})") from None
        out.print(f"wrote {out_file} ({len(document) / 1024:.0f} KB): layers from {base}/ogc", highlight=False)
