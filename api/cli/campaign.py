"""`riskmap campaign`: a city's inspection campaign, many teams over weeks of working days (issue 17, item 3)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import _progress, _reported, _settings, app, cli_actor, err, open_for_writing, out
from api.cli.plans import _first_day, _pair, _plan_as


def _visits(text: str) -> dict[str, int]:
    """'red=2,orange=1' -> {'red': 2, 'orange': 1}."""
    visits = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        level, _, n = part.partition("=")
        if not n.strip().isdigit():
            raise typer.BadParameter(f"--visits: expected level=N pairs such as red=2,orange=1, got {part!r}")
        visits[level.strip()] = int(n)
    return visits


@app.command("campaign")
def campaign_cmd(
    teams: Annotated[int, typer.Option(help="Inspection teams.")],
    days: Annotated[int, typer.Option(help="Working days (Monday to Friday) of the campaign.")] = 20,
    area: Annotated[str | None, typer.Option(help="Admin code of the area (default: everywhere).")] = None,
    base: Annotated[list[str] | None, typer.Option(help="lon,lat of the teams' base: once for all, or once per "
                                                        "team (default: as `riskmap plan`).")] = None,
    hours: Annotated[float, typer.Option(help="Working hours per day, travel included.")] = 8.0,
    day_start: Annotated[str, typer.Option(help="When the working day starts (HH:MM).")] = "08:30",
    speed: Annotated[float, typer.Option(help="Travel speed, km/h.")] = 40.0,
    circuity: Annotated[float, typer.Option(help="Road distance over great-circle distance.")] = 1.3,
    kinds: Annotated[str, typer.Option(help="Kinds of site to visit.")] = "enterprise,tailings_pond,venue",
    min_level: Annotated[str, typer.Option(help="Lowest risk level to visit.")] = "blue",
    max_sites: Annotated[int, typer.Option(help="At most this many candidate sites, worst first.")] = 5000,
    visits: Annotated[str, typer.Option(help="Visits of a site in the campaign, by level.")]
    = "red=2,orange=1,yellow=1,blue=1",
    required_levels: Annotated[str, typer.Option(help="Levels whose every visit is required (comma-separated; "
                                                      "'' for none); the other levels' visits are worth their "
                                                      "risk.")] = "red",
    spacing: Annotated[int, typer.Option(help="Working days between two visits of one site, at least.")] = 5,
    overnight_h: Annotated[float, typer.Option(help="A team whose day ends more than this many hours of travel "
                                                    "from its base sleeps there and starts the next day "
                                                    "there.")] = 1.0,
    must_visit: Annotated[list[str] | None, typer.Option(help="A site that must be inspected, as kind.id "
                                                              "(repeatable).")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Sites past the due date of their level's inspection "
                                                            "frequency on the first day must be inspected.")] = False,
    overdue_days: Annotated[int | None, typer.Option(help="Override of --overdue: sites last inspected more than "
                                                          "this many days ago must be re-inspected.")] = None,
    look_back: Annotated[bool, typer.Option("--look-back", help="Look-back (回头看) sites must be "
                                                                "inspected.")] = False,
    look_back_days: Annotated[int | None, typer.Option(help="The look-back window in days.")] = None,
    first_day: Annotated[str | None, typer.Option(help="The campaign's first day, YYYY-MM-DD (default: "
                                                       "today).")] = None,
    time_limit: Annotated[float, typer.Option(help="Seconds for the whole campaign's search.")] = 300.0,
    seed: Annotated[int, typer.Option(help="Random seed of the search.")] = 1,
    out_file: Annotated[Path | None, typer.Option("--out", help="Also write the campaign to this file: .json, "
                                                                ".geojson, .csv or .html (printable).")] = None,
) -> None:
    """Plan a campaign: which sites each team inspects on each working day, red sites (by default) twice, the
    others once, must-visit sites always, teams sleeping where their day ended when their base is far.  Days are
    planned in turn within the time limit, with progress on stderr; Ctrl-C stops the search and keeps the best
    plan so far (the days left planned greedily).  The campaign is stored as one plan, as `riskmap plan` stores
    its plans; its id is printed (GET /plans/{id} serves it).  docs/planning.md, "Campaigns"."""
    import warnings

    from geo.planning import store as plan_store
    from geo.planning.campaign import CampaignRequest, make_campaign
    from geo.planning.plan import PlanRequest
    from geo.supervision.config import load_supervision

    with _reported():
        suffix = out_file.suffix.lower() if out_file else None
        if suffix not in (None, ".json", ".geojson", ".csv", ".html"):
            raise typer.BadParameter(f"--out: the file must end in .json, .geojson, .csv or .html, not {suffix!r}")
        req = PlanRequest(teams=teams, days=days, bases=tuple(_pair(b, "--base") for b in base or ()),
                          hours_per_day=hours, day_start=day_start, speed_kmh=speed, circuity=circuity, area=area,
                          kinds=tuple(k.strip() for k in kinds.split(",") if k.strip()), min_level=min_level,
                          max_sites=max_sites, seed=seed, must_visit=tuple(must_visit or ()), overdue=overdue,
                          overdue_days=overdue_days, look_back=look_back, look_back_days=look_back_days,
                          today=_first_day(first_day), travel="great_circle",
                          supervision=load_supervision(_settings().supervision) if overdue or look_back else None)
        creq = CampaignRequest(req, visits=_visits(visits), spacing_days=spacing, overnight_h=overnight_h,
                               time_limit_s=time_limit,
                               required_levels=tuple(v.strip() for v in required_levels.split(",") if v.strip()))
        creq.check()
        stop = threading.Event()

        def interrupted(_signum, _frame):
            if stop.is_set():  # a second Ctrl-C: give up at once
                raise KeyboardInterrupt
            err.print("interrupted: keeping the best plan so far (the days left are planned greedily); Ctrl-C "
                      "again to give up")
            stop.set()

        conn = open_for_writing(_settings(), "riskmap campaign" + (f" --area {area}" if area else ""))
        previous = signal.signal(signal.SIGINT, interrupted)
        try:
            with _progress("campaign days", total=days) as update, warnings.catch_warnings():
                warnings.simplefilter("ignore")  # PyVRP's search notes; every route is checked exactly
                doc = make_campaign(conn, creq, lambda day, _days, _s, _limit, _risk: update(day), stop.is_set,
                                    lambda text: err.print(text, highlight=False))
            signal.signal(signal.SIGINT, previous)  # (storing it is quick: Ctrl-C stops the command again)
            doc = plan_store.save(conn, doc, cli_actor())
        finally:
            signal.signal(signal.SIGINT, previous)
            conn.close()
        _print_campaign(doc)
        if out_file:
            text = _plan_as(doc, suffix)
            if isinstance(text, bytes):
                out_file.write_bytes(text)
            else:
                out_file.write_text(text, encoding="utf-8")
            out.print(f"wrote {out_file}", highlight=False)


def _print_campaign(doc: dict) -> None:
    from rich.table import Table

    t = doc["totals"]
    table = Table(title=f"campaign {doc['request']['first_day']} to {doc['request']['last_day']}: {t['visits']} "
                        f"visits, {t['risk_per_team_day']:,.1f} risk a team-day")
    for column in ("team", "visits", "km", "risk", "nights out"):
        table.add_column(column, justify="right")
    for team in doc["teams"]:
        table.add_row(str(team["team"]), str(team["visits"]), f"{team['km']:,.1f}", f"{team['risk']:,.1f}",
                      str(team["overnight_stays"]))
    out.print(table)
    levels = ", ".join(f"{lv} {v['at_frequency']}/{v['sites']} ({v['visits_each']} each)"
                       for lv, v in t["by_level"].items() if v["sites"])
    out.print(f"sites visited at their level's frequency: {levels}", highlight=False)
    if t["must_visit"]:
        missed = t["must_visit_missed"]
        out.print(f"must-visit sites visited: {t['must_visit_visited']}/{t['must_visit']}"
                  + (f"; missed: {', '.join(missed)}" if missed else ""), highlight=False)
    s = doc["solver"]
    if s["interrupted"]:
        out.print(f"interrupted: days from {s['greedy_from_day']} on planned greedily"
                  if s["greedy_from_day"] else "interrupted on the last day: its best routes so far are kept",
                  highlight=False)
    out.print(f"stored as plan {doc['id']} (GET /plans/{doc['id']})", highlight=False)
