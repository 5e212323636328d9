"""`riskmap map`: one self-contained map page of an area, to share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import _reported, _settings, app, out


@app.command("map")
def map_cmd(
    area: Annotated[str, typer.Option(help="The admin area's code, e.g. 130203 (a county) or 130200 (a city).")],
    out_file: Annotated[Path, typer.Option("--out", help="The HTML file to write.")],
    lang: Annotated[str, typer.Option(help="Labels: zh (Chinese) or en (English).")] = "zh",
    model: Annotated[Path | None, typer.Option(help="Risk-model file (for its H3 resolutions).")] = None,
) -> None:
    """Write one self-contained map page of an area for sharing: its four-colour zoning, outlines and red and
    orange risks, with every script inlined (it opens with no server and no network)."""
    from api.database import open_database
    from geo.risk.config import load_model
    from maps.export import export_map

    with _reported():
        if lang not in ("zh", "en"):
            raise typer.BadParameter(f"--lang must be zh or en, not {lang!r}")
        settings = _settings()
        resolutions = [int(r) for r in load_model(model or settings.risk_model)["area"]["h3_resolutions"]]
        conn = open_database(settings)
        try:
            size = export_map(conn, area, out_file, resolutions, lang)
        finally:
            conn.close()
        out.print(f"wrote {out_file} ({size / 1024:.0f} KB)", highlight=False)
