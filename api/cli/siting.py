"""`riskmap siting-check`: the siting red line of a proposed hazardous-chemicals project, from a GeoJSON file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import _reported, _settings, app, out


@app.command("siting-check")
def siting_check_cmd(
    path: Annotated[Path, typer.Argument(help="The project: a GeoJSON Feature (a Point or Polygon in WGS 84) whose "
                                              "properties hold chemicals (a list of {\"name\": \"氯\", \"tonnes\": 10} "
                                              "or the text 氯:10;氨:100) and optionally name; or a FeatureCollection "
                                              "of one such Feature.")],
    chemicals: Annotated[str | None, typer.Option(help="The chemicals as name:tonnes;name:tonnes (instead of the "
                                                       "file's).")] = None,
    name: Annotated[str | None, typer.Option(help="The project's name (instead of the file's).")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Also write the report: .json (as POST "
                                                                "/siting-check answers) or .html (printable).")] = None,
    lang: Annotated[str, typer.Option(help="Language of the findings and the HTML page: zh or en.")] = "zh",
    model: Annotated[Path | None, typer.Option(help="Risk-model file (default: RISKMAP_RISK_MODEL, else the "
                                                    "shipped geo/risk/model.toml).")] = None,
) -> None:
    """Check the siting red line of a proposed hazardous-chemicals project: the GB 18218 result it would have, the
    settlements, crowded venues, pipelines and major hazards around it (with the Pipeline Protection Law zones),
    the GB 36894 protected targets within the screening radii, and the findings.  Nothing is written to the
    database."""
    import json

    from api.database import open_database
    from geo.errors import InputError
    from geo.risk.config import load_model
    from geo.siting import SitingInputError, check_project, read_project, report_project

    with _reported():
        suffix = out_file.suffix.lower() if out_file else None
        if suffix not in (None, ".json", ".html"):
            raise typer.BadParameter(f"--out: the file must end in .json or .html, not {suffix or out_file.name!r}")
        if lang not in ("zh", "en"):
            raise typer.BadParameter(f"--lang must be zh or en, not {lang!r}")
        settings = _settings()
        risk_model = load_model(model or settings.risk_model)
        project_file = read_project(path, chemicals, name)
        try:
            project = check_project(project_file.geometry, project_file.chemicals, project_file.name, risk_model)
        except SitingInputError as e:
            raise InputError("\n".join(f"{path}: {field}: {message}"
                                       for field, message in project_file.located(e).errors)) from None
        conn = open_database(settings)
        try:
            report = report_project(conn, project, risk_model)
        finally:
            conn.close()
        _print_report(report, lang)
        if out_file:
            if suffix == ".json":
                text = json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=1)
            else:
                from maps.siting_page import siting_page

                text = siting_page(report, lang)
            out_file.write_text(text, encoding="utf-8")
            out.print(f"wrote {out_file}", highlight=False)


def _print_report(report, lang: str) -> None:
    gb, t = report.gb18218, report.targets
    title = report.project.name or ("未命名项目" if lang == "zh" else "unnamed project")
    out.print(f"siting check: {title} ({report.project.geometry_type}; risk model {report.model_version})",
              highlight=False)
    level = f", level {gb.major_hazard_level} ({gb.level_name})" if gb.major_hazard else ""
    out.print(f"GB 18218: S = {gb.s_value:.2f}, R = {gb.r_value:.2f} (α {gb.alpha:g}, {gb.people_500m:.0f} people "
              f"within {gb.alpha_radius_m:g} m): {'a major hazard' if gb.major_hazard else 'not a major hazard'}"
              f"{level}", highlight=False)
    out.print(f"targets: {len(t.settlements)} settlements, {len(t.venues)} crowded venues and "
              f"{len(t.major_hazards)} major hazards within {gb.alpha_radius_m:g} m; {len(t.pipelines)} pipelines "
              "within their protection zones", highlight=False)
    out.print("findings:" if lang == "en" else "结论：", highlight=False)
    for f in report.findings:
        out.print(f"  - {f.en if lang == 'en' else f.zh}", highlight=False)
