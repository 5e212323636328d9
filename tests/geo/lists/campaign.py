"""A small campaign written with plain SQL into the tables of migrations 0001, 0002 and 0013, small enough to check
every list by eye: three counties of one city in one province (squares), sites with a stored risk level
(feature_risk rows with their factors, so that a test sets the level it needs without the scoring model), and
their hidden dangers, inspections, enforcement actions and accidents.

    province 130000  118.0 – 118.6 E, 39.5 – 40.0 N
      city 130200    118.0 – 118.3 E, 39.6 – 39.7 N
        130202 路南区  118.0 – 118.1     130203 路北区  118.1 – 118.2     130204 古冶区  118.2 – 118.3

Sites: E1 red (130202, its props name its supervising department, responsible person and control measures),
E2 orange (130203), E3 yellow (130203), V1 red venue (130202), T1 blue pond (130204), P1 orange pipeline (from
130202 into 130203; its point on surface lies in 130202), E4 red, in no area (118.8 E).

Hidden dangers, on the dates the tests move through (spring 2026):

    D1 E1 major   open      found 03-01  deadline 04-01   overdue from 04-02
    D2 E2 general open      found 05-01  deadline 06-15
    D3 E3 major   rectified found 04-01  deadline 05-01   rectified 04-20: never overdue
    D4 T1 major   reopened  found 02-01  deadline 03-01   rectified 02-20, reopened 05-01: overdue
    D5 V1 general verified  found 01-10  deadline 02-10   rectified 02-01, verified 02-05
    D6 P1 general open      found 05-10  no deadline      never overdue
    D7 E4 major   open      found 05-20  deadline 07-01
    D8 E2 general open      found 05-02  deadline 06-10   described as a spreadsheet formula
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

HYPERLINK = '=HYPERLINK("http://x","y")'
COUNTIES = {"130202": ("路南区", (118.0, 39.6, 118.1, 39.7)), "130203": ("路北区", (118.1, 39.6, 118.2, 39.7)),
            "130204": ("古冶区", (118.2, 39.6, 118.3, 39.7))}
SCORES = {"red": 80.0, "orange": 60.0, "yellow": 40.0, "blue": 10.0}


def d(month: int, day: int) -> dt.date:
    return dt.date(2026, month, day)


@dataclass
class Campaign:
    sites: dict[str, tuple[str, int]] = field(default_factory=dict)  # "E1": (kind, id)
    dangers: dict[str, int] = field(default_factory=dict)  # "D1": id


def area(conn, code: str, name: str, box: tuple[float, float, float, float], level: str,
         parent: str | None = None) -> None:
    with conn.cursor() as cur:
        cur.execute("INSERT INTO area (source_id, name, admin_code, level, parent_code, geom) "
                    "VALUES (%s, %s, %s, %s, %s, ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
                    (f"area-{code}", name, code, level, parent, *box))


def factor_defs(conn) -> None:
    with conn.cursor() as cur:
        for kind in ("enterprise", "venue", "tailings_pond", "pipeline_segment"):
            for factor, title in (("hazard", "Major hazard"), ("people", "People within 500 m"),
                                  ("age", "Time since inspection"), ("minor", "A minor factor")):
                cur.execute("INSERT INTO risk_factor_def (model_version, kind, factor, title, source) "
                            "VALUES ('test', %s, %s, %s, 'a test rule')", (kind, factor, title))


def scored(conn, kind: str, fid: int, level: str, direct_red: str | None = None) -> None:
    # factors ordered by points, highest first (as geo/risk/store.py stores them): the top three are the reasons
    factors = [["hazard", 4, 30.0, False], ["people", 1200, 20.5, False], ["age", 400, 10.0, True],
               ["minor", "x", 1.0, False]]
    with conn.cursor() as cur:
        cur.execute("INSERT INTO feature_risk (kind, feature_id, score, level, direct_red, factors, model_version) "
                    "VALUES (%s, %s, %s, %s, %s, %s, 'test')",
                    (kind, fid, SCORES[level], level, direct_red, json.dumps(factors)))


def site(conn, kind: str, source_id: str, name: str, wkt: str, level: str | None, props: dict | None = None,
         **attributes) -> int:
    required = {"enterprise": {"industry": "machinery"}, "venue": {"venue_type": "mall"},
                "pipeline": {"medium": "natural_gas"}, "tailings_pond": {}}[kind]
    columns = {**required, **attributes}
    names = ", ".join(["source_id", "name", "props", "geom", *columns])
    marks = ", ".join(["%s", "%s", "%s", "ST_GeomFromText(%s, 4326)", *["%s"] * len(columns)])
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO {kind} ({names}) VALUES ({marks}) RETURNING id",
                    (source_id, name, json.dumps(props or {}), wkt, *columns.values()))
        fid = cur.fetchone()[0]
    if level:
        scored(conn, kind, fid, level,
               "重大事故隐患未整改 (open major hidden danger, domain.md §2)" if source_id == "E1" else None)
    return fid


def danger(conn, kind: str, fid: int, source_id: str, *, grade: str, status: str, found_on: dt.date,
           deadline: dt.date | None, rectified_on: dt.date | None = None, verified_on: dt.date | None = None,
           reopened_on: dt.date | None = None, description: str | None = None, unit: str | None = None,
           person: str | None = None, measures: str | None = None, category: str | None = None) -> int:
    changed = max(x for x in (found_on, rectified_on, verified_on, reopened_on) if x is not None)
    with conn.cursor() as cur:
        cur.execute("INSERT INTO hidden_danger (source_id, site_kind, site_id, description, category, grade, "
                    "found_on, deadline, status, status_changed_on, rectified_on, verified_on, reopened_on, "
                    "responsible_unit, responsible_person, measures) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                    (source_id, kind, fid, description or f"hidden danger {source_id}", category, grade, found_on,
                     deadline, status, changed, rectified_on, verified_on, reopened_on, unit, person, measures))
        return cur.fetchone()[0]


def build(conn) -> Campaign:
    """Writes the campaign (and commits it)."""
    c = Campaign()
    area(conn, "130000", "河北省", (118.0, 39.5, 118.6, 40.0), "province")
    area(conn, "130200", "唐山市", (118.0, 39.6, 118.3, 39.7), "city", "130000")
    for code, (name, box) in COUNTIES.items():
        area(conn, code, name, box, "county", "130200")
    factor_defs(conn)
    c.sites["E1"] = ("enterprise", site(conn, "enterprise", "E1", "冀东化工", "POINT(118.05 39.65)", "red",
                                        {"监管部门": "唐山市应急管理局危化科", "责任人": "李明",
                                         "管控措施": "重大危险源包保责任制"}))
    c.sites["E2"] = ("enterprise", site(conn, "enterprise", "E2", "路北机械", "POINT(118.15 39.65)", "orange"))
    c.sites["E3"] = ("enterprise", site(conn, "enterprise", "E3", "北方铸造", "POINT(118.16 39.66)", "yellow"))
    c.sites["V1"] = ("venue", site(conn, "venue", "V1", "南湖商场", "POINT(118.06 39.62)", "red"))
    c.sites["T1"] = ("tailings_pond", site(conn, "tailings_pond", "T1", "古冶尾矿库", "POINT(118.25 39.65)", "blue"))
    c.sites["P1"] = ("pipeline", site(conn, "pipeline", "P1", "唐曹输气管道",
                                      "LINESTRING(118.02 39.64, 118.08 39.64, 118.14 39.64)", "orange",
                                      operator="中石油唐山输气分公司"))
    c.sites["E4"] = ("enterprise", site(conn, "enterprise", "E4", "区外化工", "POINT(118.8 39.65)", "red"))
    s = {k: v[1] for k, v in c.sites.items()}
    c.dangers["D1"] = danger(conn, "enterprise", s["E1"], "D1", grade="major", status="open", found_on=d(3, 1),
                             deadline=d(4, 1), category="储存", measures="停用储罐，更换安全阀")
    c.dangers["D2"] = danger(conn, "enterprise", s["E2"], "D2", grade="general", status="open", found_on=d(5, 1),
                             deadline=d(6, 15))
    c.dangers["D3"] = danger(conn, "enterprise", s["E3"], "D3", grade="major", status="rectified", found_on=d(4, 1),
                             deadline=d(5, 1), rectified_on=d(4, 20))
    c.dangers["D4"] = danger(conn, "tailings_pond", s["T1"], "D4", grade="major", status="reopened",
                             found_on=d(2, 1), deadline=d(3, 1), rectified_on=d(2, 20), reopened_on=d(5, 1),
                             unit="古冶矿业公司", person="赵强", measures="加高子坝")
    c.dangers["D5"] = danger(conn, "venue", s["V1"], "D5", grade="general", status="verified", found_on=d(1, 10),
                             deadline=d(2, 10), rectified_on=d(2, 1), verified_on=d(2, 5))
    c.dangers["D6"] = danger(conn, "pipeline", s["P1"], "D6", grade="general", status="open", found_on=d(5, 10),
                             deadline=None)
    c.dangers["D7"] = danger(conn, "enterprise", s["E4"], "D7", grade="major", status="open", found_on=d(5, 20),
                             deadline=d(7, 1))
    c.dangers["D8"] = danger(conn, "enterprise", s["E2"], "D8", grade="general", status="open", found_on=d(5, 2),
                             deadline=d(6, 10), description=HYPERLINK)
    settle(conn)
    return c


def settle(conn) -> None:
    """Forgets the feature changes written, and commits: the levels are the test's own, so no change may wait to
    be scored (a server started on this database would re-score the sites with the model in the background)."""
    with conn.cursor() as cur:
        cur.execute("DELETE FROM risk_dirty")
        cur.execute("DELETE FROM risk_removed")
        # (the sites whose records changed, where the schema marks them for re-scoring: risk from records)
        cur.execute("SELECT to_regclass('risk_record_changed') IS NOT NULL")
        if cur.fetchone()[0]:
            cur.execute("DELETE FROM risk_record_changed")
    conn.commit()
