"""`riskmap allocate`, `riskmap plan-instance` and `riskmap plan`: inspection teams and their plans."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import _progress, _reported, _settings, app, cli_actor, err, open_for_writing, out


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
    searches: Annotated[int | None, typer.Option(help="Independent searches side by side, one process (and core) "
                                                      "each, the best plan kept (default: the instance's "
                                                      "\"searches\", else 1).")] = None,
) -> None:
    """Solve a self-contained planning instance (team orienteering with time windows) and print the routes as
    JSON on stdout: {"routes": [{"team": ..., "sites": [...]}], "total_prize": ...}."""
    import dataclasses
    import json
    import warnings

    from geo.planning.instance import InstanceError, check_searches, load, solve

    try:
        instance = load(path)
        if searches is not None:
            instance = dataclasses.replace(instance, searches=check_searches(searches, "--searches"))
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


def _first_day(text: str | None):
    import datetime as dt

    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"--first-day: expected a date YYYY-MM-DD, got {text!r}") from None


@app.command("plan")
def plan_cmd(
    teams: Annotated[int, typer.Option(help="Inspection teams.")],
    days: Annotated[int, typer.Option(help="Working days of each team.")],
    area: Annotated[str | None, typer.Option(help="Admin code of the area to inspect (default: everywhere).")] = None,
    base: Annotated[list[str] | None, typer.Option(help="lon,lat of the teams' base: once for all, or once per "
                                                        "team (default: in the area's part holding the most "
                                                        "candidate sites, the point nearest to their centre).")]
    = None,
    hours: Annotated[float, typer.Option(help="Working hours per day, travel included.")] = 8.0,
    day_start: Annotated[str, typer.Option(help="When the working day starts (HH:MM).")] = "08:30",
    speed: Annotated[float, typer.Option(help="Travel speed, km/h.")] = 40.0,
    circuity: Annotated[float, typer.Option(help="Road distance over great-circle distance.")] = 1.3,
    kinds: Annotated[str, typer.Option(help="Kinds of site to visit.")] = "enterprise,tailings_pond,venue",
    min_level: Annotated[str, typer.Option(help="Lowest risk level to visit.")] = "yellow",
    max_sites: Annotated[int, typer.Option(help="At most this many candidate sites, worst first.")] = 2000,
    must_visit: Annotated[list[str] | None, typer.Option(help="A site that must be inspected, as kind.id "
                                                              "(repeatable).")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Sites past the due date of their level's inspection "
                                                            "frequency (`riskmap supervision`) must be inspected.")]
    = False,
    overdue_days: Annotated[int | None, typer.Option(help="Override of --overdue: sites last inspected more than "
                                                          "this many days ago, whatever their level, must be "
                                                          "re-inspected.")] = None,
    look_back: Annotated[bool, typer.Option("--look-back", help="Look-back (回头看) sites of the area must be "
                                                                "inspected; each such stop says why.")] = False,
    look_back_days: Annotated[int | None, typer.Option(help="The look-back window in days (default: the supervision "
                                                            "settings', 90).")] = None,
    first_day: Annotated[str | None, typer.Option(help="The plan's first day, YYYY-MM-DD: overdue and look-back "
                                                       "are judged on it (default: today).")] = None,
    window: Annotated[list[str] | None, typer.Option(help="A site's time window, kind.id=HH:MM-HH:MM "
                                                          "(repeatable).")] = None,
    time_limit: Annotated[float, typer.Option(help="Seconds for the solver.")] = 30.0,
    travel: Annotated[str, typer.Option(help="auto (the road network when one is stored), roads or "
                                             "great_circle.")] = "auto",
    seed: Annotated[int, typer.Option(help="Random seed of the search.")] = 1,
    iterations: Annotated[int | None, typer.Option(help="Cap the search's iterations: when the cap ends it before "
                                                        "the time limit, the same seed gives the same plan on any "
                                                        "machine.")] = None,
    searches: Annotated[int, typer.Option(help="Independent searches side by side, a process (and a core) each, "
                                               "the best plan kept (at most the machine's cores).")] = 1,
    out_file: Annotated[Path | None, typer.Option("--out", help="Also write the plan to this file: .json, "
                                                                ".geojson, .csv or .html (printable).")] = None,
) -> None:
    """Plan inspections: which sites each team inspects on each day and in what order, covering the most risk
    within the teams' working days (team orienteering with time windows, PyVRP).  The plan is stored; its id is
    printed (GET /plans/{id} serves it)."""
    import warnings

    from geo.planning import store as plan_store
    from geo.planning.plan import PlanRequest
    from geo.planning.planner import make_plan
    from geo.supervision.config import load_supervision

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
                          must_visit=tuple(must_visit or ()), overdue=overdue, overdue_days=overdue_days,
                          look_back=look_back, look_back_days=look_back_days, time_windows=windows,
                          travel=travel, iterations=iterations, searches=searches, today=_first_day(first_day),
                          supervision=load_supervision(_settings().supervision) if overdue or look_back else None)
        req.check()
        conn = open_for_writing(_settings(), "riskmap plan" + (f" --area {area}" if area else ""))
        try:
            with _progress("solving", total=max(1, round(time_limit))) as update, warnings.catch_warnings():
                warnings.simplefilter("ignore")  # PyVRP's search notes; every route is checked exactly
                doc = make_plan(conn, req, lambda done, limit: update(round(done)),
                                lambda text: err.print(text, highlight=False))
            doc = plan_store.save(conn, doc, cli_actor())
        finally:
            conn.close()
        _print_plan(doc)
        if out_file:
            text = _plan_as(doc, suffix)
            if isinstance(text, bytes):  # the CSV, from the one spreadsheet writer (UTF-8 with its BOM)
                out_file.write_bytes(text)
            else:
                out_file.write_text(text, encoding="utf-8")
            out.print(f"wrote {out_file}", highlight=False)


def _plan_as(doc: dict, suffix: str) -> str | bytes:
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
