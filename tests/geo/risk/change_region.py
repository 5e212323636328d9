"""A small region whose score history holds every kind of change in level since a date, made by real scoring runs
on fixed dates (for the tests of GET /level-changes and of the map's change view)."""

from __future__ import annotations

import datetime as dt

from geo.risk.config import load_model
from geo.risk.scoring import score
from tests.geo.risk.record_rows import add_danger, add_enterprise, add_venue, set_danger_status

FIRST_RUN = dt.date(2026, 1, 31)
SINCE = dt.date(2026, 2, 15)
SECOND_RUN = dt.date(2026, 3, 31)
WEST, EAST = "139901", "139902"  # two counties side by side, meeting at lon 118.2


def build_change_region(db, quiet_sites: int = 0) -> dict[str, int]:
    """Two counties (39.3–39.9 N; the west one 117.6–118.2 E, the east one 118.2–118.8 E) and enterprises
    scored as of 31 January and 31 March 2026, committed.  ``rose`` was below red in January and is red in March
    (an open major hidden danger found on 1 March); ``fell`` was red in January (an open major danger found on 5
    January) and is not in March (verified on 1 March); ``stayed`` is unchanged; ``late`` was added on 1 March and
    first scored in March; ``edge`` lies on the boundary of both counties (the lower code holds it).  With
    ``quiet_sites``, that many more unchanged enterprises and a venue, away from the others (``quiet``: the
    venue).  Returns the ids by name."""
    with db.cursor() as cur:
        for code, x0, x1 in ((WEST, 117.6, 118.2), (EAST, 118.2, 118.8)):
            cur.execute("INSERT INTO area (source_id, name, admin_code, level, geom) VALUES (%s, %s, %s, 'county', "
                        "ST_MakeEnvelope(%s, 39.3, %s, 39.9, 4326))", (code, f"county {code}", code, x0, x1))
    db.commit()
    sites = {"rose": add_enterprise(db, 118.05, 39.60), "fell": add_enterprise(db, 118.10, 39.60),
             "edge": add_enterprise(db, 118.20, 39.65), "stayed": add_enterprise(db, 118.25, 39.60)}
    for i in range(quiet_sites):
        add_enterprise(db, 118.02 + 0.35 * (i % 7) / 7, 39.52 + 0.02 * (i // 7))
    if quiet_sites:
        sites["quiet"] = add_venue(db, 118.3, 39.68)
    major = add_danger(db, "enterprise", sites["fell"], dt.date(2026, 1, 5), grade="major")
    score(db, load_model(), FIRST_RUN, full=True)
    add_danger(db, "enterprise", sites["rose"], dt.date(2026, 3, 1), grade="major")
    set_danger_status(db, major, "verified", dt.date(2026, 3, 1))
    sites["late"] = add_enterprise(db, 118.30, 39.62)
    score(db, load_model(), SECOND_RUN)
    return sites


def levels(db) -> tuple[dict[int, tuple[str, float]], dict[int, tuple[str, float]]]:
    """The enterprises' (level, score rounded to 2 decimals) now and as of the first run."""
    with db.cursor() as cur:
        cur.execute("SELECT feature_id, level, round(score::numeric, 2)::float FROM feature_risk "
                    "WHERE kind = 'enterprise'")
        now = {fid: (level, s) for fid, level, s in cur.fetchall()}
        cur.execute("SELECT feature_id, level, round(score::numeric, 2)::float FROM score_history "
                    "WHERE kind = 'enterprise' AND as_of = %s", (FIRST_RUN,))
        then = {fid: (level, s) for fid, level, s in cur.fetchall()}
    db.rollback()
    return now, then
