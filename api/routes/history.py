"""GET /features/{kind}/{id}/history (a feature's score history) and GET /areas/{id}/series (an admin area's
monthly series), both read from the score history that every scoring run appends to (geo/risk/history.py)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.access import Needs
from api.dependencies import Connection
from api.errors import field_error
from api.routes import Level
from api.routes.features import MAX_ID, Kind
from geo.errors import NotFound
from geo.risk import history

router = APIRouter(dependencies=[Needs.viewer], tags=["history"])

MONTH = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)
DEFAULT_MONTHS = 24


class HistoryEntry(BaseModel):
    run: int = Field(description="The scoring run (GET /health shows the last one).")
    as_of: dt.date = Field(description="The date the run scored as of.")
    scored_at: dt.datetime = Field(description="When the run wrote it (UTC).")
    score: float | None = Field(description="The new score (0–100); null: the run removed the feature.")
    level: Level | None = Field(description="The new level; null: the run removed the feature.")


class FeatureHistory(BaseModel):
    kind: Kind
    id: int
    history: list[HistoryEntry] = Field(description="Every run that changed the feature's score or level (or "
                                                    "removed it), oldest first; its state on a day is the last "
                                                    "entry as of that day or before.")


class LevelCounts(BaseModel):
    red: int
    orange: int
    yellow: int
    blue: int


class SeriesMonth(BaseModel):
    month: str = Field(description="YYYY-MM; the state at the month's last day.", examples=["2026-05"])
    features: int = Field(description="Scored features in the area then (enterprises, tailings ponds, venues, "
                                      "pipelines; where the areas counted each then).")
    counts: LevelCounts
    mean_score: float | None = Field(description="Their mean score (2 decimals); null when there were none.")


class AreaSeries(BaseModel):
    area_id: str
    name: str
    months: list[SeriesMonth]


@router.get("/features/{kind}/{id}/history", response_model=FeatureHistory, summary="A feature's score history",
            responses={404: {"description": "No feature of this kind has this id, and none ever had (problem+json)."}})
def feature_history(
    conn: Connection,
    kind: Annotated[Kind, Path(description="Feature class.")],
    id: Annotated[int, Path(ge=1, le=MAX_ID, description="The feature's id.")],
) -> FeatureHistory:
    """The score and level the feature had as of each scoring run that changed them, oldest first (the runs
    that left it unchanged are not listed).  A feature deleted since keeps its history, ending with an entry
    without score."""
    rows = history.feature_history(conn, kind, id)
    if rows.empty and not history.feature_exists(conn, kind, id):
        raise NotFound(f"no {kind} with id {id}")
    entries = [HistoryEntry(run=int(r.run), as_of=r.as_of, scored_at=r.scored_at,
                            score=None if r.score != r.score else round(float(r.score), 2),
                            level=r.level if isinstance(r.level, str) else None)
               for r in rows.itertuples(index=False)]
    return FeatureHistory(kind=kind, id=id, history=entries)


def parse_month(value: str | None, field: str) -> dt.date | None:
    """The first day of a YYYY-MM month; a 422 naming ``field`` otherwise."""
    if value is None:
        return None
    m = MONTH.fullmatch(value.strip())
    if m is None or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1900:
        raise field_error(field, f"expected a month as YYYY-MM (e.g. 2026-05), got {value!r}")
    return dt.date(int(m.group(1)), int(m.group(2)), 1)


@router.get("/areas/{id}/series", response_model=AreaSeries, summary="An admin area's monthly series",
            responses={404: {"description": "No admin area has this code (problem+json)."}})
def area_series(
    conn: Connection,
    id: Annotated[str, Path(pattern=r"^[0-9]{1,32}$", description="The admin code, e.g. 130203.")],
    from_: Annotated[str | None, Query(alias="from", description="First month, YYYY-MM (default: 23 months "
                                                                 "before the last).", examples=["2025-01"])] = None,
    to: Annotated[str | None, Query(description="Last month, YYYY-MM (default: the month of the latest scoring "
                                                "run's date).", examples=["2026-12"])] = None,
) -> AreaSeries:
    """For each month, the area's scored features at the month's end, per level, and their mean score, from the
    score history (a feature counts in the area where it lay then, with the score it had then).  At most
    240 months at once."""
    first, last = parse_month(from_, "from"), parse_month(to, "to")
    name = history.admin_area_name(conn, id)
    if name is None:
        raise NotFound(f"no admin area with code {id!r}")
    if last is None:
        extent = history.history_extent(conn)
        last = history.month_start(extent[1]) if extent else history.month_start(dt.date.today())
    if first is None:
        first = history.add_months(last, 1 - DEFAULT_MONTHS)
    if first > last:
        raise field_error("from", f"the first month {first:%Y-%m} is after the last {last:%Y-%m}")
    if history.months_between(first, last) > history.MAX_MONTHS:
        raise field_error("from", f"at most {history.MAX_MONTHS} months at once; {first:%Y-%m} to {last:%Y-%m} is "
                                  f"{history.months_between(first, last)}")
    frame = history.area_series(conn, id, first, last)
    months = [SeriesMonth(month=r.month, features=int(r.features),
                          counts=LevelCounts(red=int(r.red), orange=int(r.orange), yellow=int(r.yellow),
                                             blue=int(r.blue)),
                          mean_score=None if r.mean_score != r.mean_score else round(float(r.mean_score), 2))
              for r in frame.itertuples(index=False)]
    return AreaSeries(area_id=id, name=name, months=months)
