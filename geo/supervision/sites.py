"""The scored sites and their records as the supervision rules see them (one SQL query, site_states.sql), and the
recommendations made from them: the supervision list, one site's recommendation, the look-back sites."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import cache
from importlib import resources

from geo.errors import InputError, NotFound
from geo.supervision.config import SITE_KINDS, SupervisionConfig
from geo.supervision.rules import (
    FIRST_DAY,
    LAST_DAY,
    Action,
    Danger,
    LookBack,
    Recommendation,
    SiteState,
    look_back,
    recommend,
    worst_first,
)


class SupervisionDateError(InputError):
    """A date supervision cannot judge on (the message names it)."""

    exit_code = 2


@cache
def _sql(name: str) -> str:
    return resources.files("geo.supervision").joinpath(f"sql/{name}.sql").read_text(encoding="utf-8")


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def check_area(conn, admin_code: str) -> None:
    """NotFound naming the code when no admin area has it."""
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM area WHERE admin_code = %s", (admin_code,))
        found = cur.fetchone() is not None
    if not found:
        raise NotFound(f"unknown area {admin_code!r}: no administrative area has this code")


def check_as_of(as_of: dt.date) -> None:
    """SupervisionDateError unless ``as_of`` lies from 1900 to 2999 (the look-back window reaches back from it)."""
    if not FIRST_DAY <= as_of <= LAST_DAY:
        raise SupervisionDateError(f"as_of: expected a date from {FIRST_DAY} to {LAST_DAY}, got {as_of}")


def site_states(conn, as_of: dt.date, config: SupervisionConfig, *, area: str | None = None,
                kinds: Sequence[str] = SITE_KINDS, levels: Sequence[str] | None = None,
                keys: Iterable[str] | None = None, with_records: bool = False,
                levels_then: bool = False) -> list[SiteState]:
    """The scored sites matching the filters (``area``: an admin code, whose sites are those with their point in
    it; ``keys``: 'kind.id'), in kind and id order, with their records as of ``as_of``; with ``levels_then``
    their levels and scores of that day too (the score history; for a day in the past), else the current ones."""
    check_as_of(as_of)
    if area is not None:
        check_area(conn, area)
    params = {"as_of": as_of, "window_start": as_of - dt.timedelta(days=config.look_back_days), "area": area,
              "kinds": list(kinds), "levels": list(levels) if levels is not None else None,
              "keys": sorted(keys) if keys is not None else None, "with_records": with_records,
              "levels_then": levels_then}
    with conn.cursor() as cur:
        cur.execute(_sql("site_states"), params)
        rows = cur.fetchall()
    out = []
    for (kind, fid, source_id, name, x, y, score, level, register_last, register_major, register_open,
         records_last, records, dangers, actions, county_code, county_name) in rows:
        out.append(SiteState(
            kind=kind, id=fid, level=level, source_id=source_id, name=name, score=float(score), lon=x, lat=y,
            county_code=county_code, county_name=county_name, register_last=register_last,
            records_last=records_last, register_major=register_major, register_open=register_open,
            danger_records=int(records),
            dangers=tuple(Danger(d["id"], d["source_id"], d["grade"], d["status"], d["description"],
                                 _date(d["found_on"]), _date(d["deadline"]), _date(d["rectified_on"]),
                                 _date(d["verified_on"]), d["responsible_unit"], d["responsible_person"])
                          for d in dangers),
            actions=tuple(Action(a["id"], a["source_id"], a["measure"], _date(a["decided_on"]),
                                 _date(a["lifted_on"])) for a in actions)))
    return out


def recommendations(conn, as_of: dt.date, config: SupervisionConfig, *, area: str | None = None,
                    kinds: Sequence[str] = SITE_KINDS, levels: Sequence[str] | None = None,
                    lights: Sequence[str] | None = None, overdue: bool | None = None,
                    keys: Iterable[str] | None = None, levels_then: bool = False) -> list[Recommendation]:
    """The recommendations of the scored sites matching the filters (``lights``: keep these lights; ``overdue``:
    keep only the overdue sites, or only those on time), worst first (rules.worst_first); ``levels_then``: see
    ``site_states``."""
    recs = [recommend(s, as_of, config)
            for s in site_states(conn, as_of, config, area=area, kinds=kinds, levels=levels, keys=keys,
                                 levels_then=levels_then)]
    if lights is not None:
        recs = [r for r in recs if r.light in lights]
    if overdue is not None:
        recs = [r for r in recs if r.overdue == overdue]
    return sorted(recs, key=worst_first)


def site_recommendation(conn, kind: str, fid: int, as_of: dt.date, config: SupervisionConfig) -> Recommendation:
    """One site's recommendation; NotFound when no scored site of this kind has this id."""
    found = recommendations(conn, as_of, config, kinds=(kind,), keys=(f"{kind}.{fid}",))
    if not found:
        raise NotFound(f"no scored {kind} with id {fid}")
    return found[0]


def look_back_sites(conn, as_of: dt.date, config: SupervisionConfig, *, area: str | None = None,
                    kinds: Sequence[str] = SITE_KINDS, window_days: int | None = None) -> dict[str, list[LookBack]]:
    """The look-back sites on ``as_of`` ('kind.id' -> why), among the scored sites with records of the area;
    ``window_days`` overrides the settings' window."""
    if window_days is not None:
        config = replace(config, look_back_days=window_days)
    out = {}
    for s in site_states(conn, as_of, config, area=area, kinds=kinds, with_records=True):
        why = look_back(s, as_of, config.look_back_days)
        if why:
            out[f"{s.kind}.{s.id}"] = why
    return out
