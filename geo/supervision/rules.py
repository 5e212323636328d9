"""The rules of precise supervision, pure: a site's state (its level, its last inspection, its open hidden dangers
and enforcement actions) and a date in, its recommendation out.  No I/O and no settings read here: the settings
are passed in.  docs/risk-model.md, section "Supervision", states every rule with its source.

Dates: ``as_of`` is the day the recommendation is for.  The records come as they stood that day (site_states.sql:
nothing dated later, a hidden danger's status as of the day); their dates are compared with ``as_of``: a danger is
overdue when its deadline is before ``as_of``, an inspection is overdue when its due date is before ``as_of``, and
a look-back event counts when it falls within the window ending on ``as_of``.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

from geo.supervision.config import SupervisionConfig

OPEN = ("open", "reopened")  # a hidden danger not (or no longer) rectified
CLOSED = ("rectified", "verified")
HOLDING = ("suspension", "closure")  # enforcement measures that stop the site's production while in force
LIFTABLE = ("rectify_order", "suspension", "closure")  # measures whose lifting (复产复工) calls for a look-back

LIGHTS = ("red", "yellow", "green")
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)  # the dates a recommendation may be asked for

# Measures for a site with an open major hidden danger (domain.md §8; 《安全生产法》 2021 Art. 65: the department may
# order the unit to rectify, and, where safety cannot be assured before or while the danger is removed, order it to
# stop production or use of the facilities concerned).  Always that site: never an area or a sector.
RECTIFY = "rectify_by_deadline"  # 责令限期整改
SUSPEND = "suspend_site"  # 责令该场所停产停业整顿 (in whole or in the part concerned)
KEEP_SUSPENDED = "keep_suspended"  # a suspension or closure is in force: keep it until the rectification is verified


@dataclass(frozen=True)
class Danger:
    """A hidden danger (事故隐患) record of a site."""

    id: int
    source_id: str
    grade: str  # general / major
    status: str  # open / rectified / verified / reopened
    description: str
    found_on: dt.date
    deadline: dt.date | None = None
    rectified_on: dt.date | None = None
    verified_on: dt.date | None = None
    responsible_unit: str | None = None
    responsible_person: str | None = None


@dataclass(frozen=True)
class Action:
    """An enforcement action (执法措施) of a site."""

    id: int
    source_id: str
    measure: str  # rectify_order / suspension / closure / fine
    decided_on: dt.date
    lifted_on: dt.date | None = None


@dataclass(frozen=True)
class SiteState:
    """What the rules look at for one scored site."""

    kind: str
    id: int
    level: str
    source_id: str = ""
    name: str = ""
    score: float = 0.0
    lon: float | None = None
    lat: float | None = None
    county_code: str | None = None
    county_name: str | None = None
    register_last: dt.date | None = None  # the register's last inspection date (venues: last fire inspection)
    records_last: dt.date | None = None  # the last inspection recorded (its outcome not 'not_inspected')
    register_major: bool | None = None  # the register's "a major hidden danger is open" flag
    register_open: int | None = None  # the register's count of open hidden dangers
    danger_records: int = 0  # hidden dangers recorded for the site, whatever their status
    dangers: tuple[Danger, ...] = ()  # its open dangers and the major ones rectified lately
    actions: tuple[Action, ...] = ()  # its enforcement actions in force or lifted lately


@dataclass(frozen=True)
class LookBack:
    """Why a site is a look-back site: the record and the date that made it one."""

    reason: str  # major_danger_rectified / enforcement_lifted / danger_overdue
    record: str  # hidden_danger / enforcement_action
    record_id: int
    source_id: str
    date: dt.date  # rectified on / lifted on / the deadline passed
    detail: str  # the danger's description, or the measure lifted

    def as_dict(self) -> dict:
        return {"reason": self.reason, "record": self.record, "record_id": self.record_id,
                "source_id": self.source_id, "date": self.date.isoformat(), "detail": self.detail}

    def describe(self) -> str:
        what = {"major_danger_rectified": "major hidden danger rectified", "enforcement_lifted": "measure lifted",
                "danger_overdue": "hidden danger open past its deadline"}[self.reason]
        return f"{what} {self.date.isoformat()}: {self.source_id} {self.detail}"


@dataclass(frozen=True)
class Measure:
    """The measure the rules allow for a site with an open major hidden danger: for that site alone."""

    action: str  # rectify_by_deadline / suspend_site / keep_suspended
    deadline: dt.date | None  # rectify_by_deadline: the earliest deadline of the open major dangers
    dangers: tuple[Danger, ...]  # the open major dangers it answers
    basis: str
    scope: str = "site"  # never an area or a sector (the fifteen measures warn against "one size fits all")

    def as_dict(self) -> dict:
        return {"action": self.action, "scope": self.scope,
                "deadline": self.deadline.isoformat() if self.deadline else None,
                "dangers": [{"id": d.id, "source_id": d.source_id, "description": d.description,
                             "status": d.status, "deadline": d.deadline.isoformat() if d.deadline else None,
                             "responsible_unit": d.responsible_unit, "responsible_person": d.responsible_person}
                            for d in self.dangers],
                "basis": self.basis}


@dataclass(frozen=True)
class Recommendation:
    """A site's supervision recommendation on ``as_of``."""

    site: SiteState
    as_of: dt.date
    frequency_months: int
    last_inspection: dt.date | None
    last_inspection_source: str | None  # records / register / None (no inspection known)
    next_due: dt.date | None  # None: no inspection known, due at once
    overdue: bool
    days_overdue: int
    open_dangers: int
    open_major_dangers: int
    overdue_dangers: int
    active_measures: tuple[Action, ...]
    light: str
    light_reasons: tuple[str, ...]
    measure: Measure | None
    look_back: tuple[LookBack, ...] = field(default=())

    @property
    def key(self) -> str:
        return f"{self.site.kind}.{self.site.id}"

    def as_dict(self) -> dict:
        s = self.site
        return {
            "kind": s.kind, "id": s.id, "source_id": s.source_id, "name": s.name, "level": s.level,
            "score": round(s.score, 2), "lon": s.lon, "lat": s.lat,
            "county": {"admin_code": s.county_code, "name": s.county_name} if s.county_code else None,
            "as_of": self.as_of.isoformat(), "frequency_months": self.frequency_months,
            "last_inspection": self.last_inspection.isoformat() if self.last_inspection else None,
            "last_inspection_source": self.last_inspection_source,
            "next_due": self.next_due.isoformat() if self.next_due else None,
            "overdue": self.overdue, "days_overdue": self.days_overdue,
            "open_dangers": self.open_dangers, "open_major_dangers": self.open_major_dangers,
            "overdue_dangers": self.overdue_dangers,
            "active_measures": [{"id": a.id, "source_id": a.source_id, "measure": a.measure,
                                 "decided_on": a.decided_on.isoformat()} for a in self.active_measures],
            "light": self.light, "light_reasons": list(self.light_reasons),
            "measure": self.measure.as_dict() if self.measure else None,
            "look_back": [lb.as_dict() for lb in self.look_back],
        }


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus whole calendar months, on the same day of the month or the month's last day (31 Jan + 1 month
    = 28 or 29 Feb)."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    if year > dt.MAXYEAR:  # a date the calendar cannot hold: the last one it can
        return dt.date.max
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def last_inspection(site: SiteState) -> tuple[dt.date | None, str | None]:
    """The last inspection: the latest recorded one, else the register's date (the fallback for sites without
    inspection records), else none."""
    if site.records_last is not None:
        return site.records_last, "records"
    if site.register_last is not None:
        return site.register_last, "register"
    return None, None


def next_due(last: dt.date | None, level: str, config: SupervisionConfig) -> dt.date | None:
    """When the next inspection is due: the level's frequency after the last one; None when no inspection is
    known (due at once)."""
    return None if last is None else add_months(last, config.frequency(level))


def is_overdue(due: dt.date | None, as_of: dt.date) -> bool:
    """Past its due date on ``as_of`` (inspecting on the due date itself is on time); a site with no inspection
    known is overdue."""
    return due is None or as_of > due


def open_dangers(site: SiteState) -> list[Danger]:
    return [d for d in site.dangers if d.status in OPEN]


def overdue_dangers(site: SiteState, as_of: dt.date) -> list[Danger]:
    """Open hidden dangers past their rectification deadline (a deadline is the last day allowed)."""
    return [d for d in open_dangers(site) if d.deadline is not None and d.deadline < as_of]


def open_major(site: SiteState) -> list[Danger]:
    return [d for d in open_dangers(site) if d.grade == "major"]


def has_open_major(site: SiteState) -> bool:
    """An open major hidden danger: from the records when the site has any hidden-danger record, else the
    register's flag (the fallback)."""
    if site.danger_records > 0:
        return bool(open_major(site))
    return bool(site.register_major)


def active_measures(site: SiteState, as_of: dt.date) -> list[Action]:
    """Enforcement measures in force on ``as_of`` (decided, not lifted by then); fines are one-off, never in
    force."""
    return [a for a in site.actions if a.measure != "fine" and a.decided_on <= as_of
            and (a.lifted_on is None or a.lifted_on > as_of)]


def light(level: str, major_open: bool, overdue: bool, dangers_overdue: bool) -> tuple[str, tuple[str, ...]]:
    """The supervision light and why.

    - red (重点监管, act now): an open major hidden danger (domain.md §2: such a site is red directly), or a
      red-level site overdue for inspection;
    - yellow (关注): a red-level site inspected on time, any other site overdue for inspection, or a hidden
      danger open past its deadline;
    - green (常规): none of these.
    """
    reasons = []
    if major_open:
        reasons.append("open_major_danger")
    if level == "red" and overdue:
        reasons.append("red_level_overdue")
    if reasons:
        return "red", tuple(reasons)
    if level == "red":
        reasons.append("red_level")
    if overdue:
        reasons.append("inspection_overdue")
    if dangers_overdue:
        reasons.append("danger_overdue")
    return ("yellow", tuple(reasons)) if reasons else ("green", ())


def measure(site: SiteState, as_of: dt.date) -> Measure | None:
    """The measure the rules allow for a site with an open major hidden danger, for that site alone; None
    without one.

    - a suspension or closure of the site in force: keep it until the rectification is verified (its lifting,
      复产复工, then makes a look-back);
    - an open major danger past its deadline, or reopened (a rectification that did not hold): suspend that
      site's production, in whole or in the part concerned, until it is rectified;
    - otherwise: rectification by the deadline, under the rectification plan (measures, funds, people, deadline,
      interim safeguards) reported to the department (domain.md §8).
    """
    if not has_open_major(site):
        return None
    majors = tuple(open_major(site))
    holding = [a for a in active_measures(site, as_of) if a.measure in HOLDING]
    if holding:
        return Measure(KEEP_SUSPENDED, None, majors,
                       f"{holding[0].measure} {holding[0].source_id} of {holding[0].decided_on.isoformat()} is in "
                       f"force: keep it until the rectification is verified (核查验收, 销号); resumption (复产复工) "
                       f"is followed by a look-back")
    late = [d for d in majors if d.status == "reopened" or (d.deadline is not None and d.deadline < as_of)]
    if late:
        why = ", ".join(f"{d.source_id} (reopened)" if d.status == "reopened"
                        else f"{d.source_id} (deadline {d.deadline.isoformat()})" for d in late)
        return Measure(SUSPEND, None, majors,
                       f"major hidden danger not rectified in time: {why}. Order this site (not its area or "
                       f"sector) to stop production, in whole or in the part concerned, until it is rectified "
                       f"(《安全生产法》 Art. 65; domain.md §8)")
    deadlines = [d.deadline for d in majors if d.deadline is not None]
    deadline = min(deadlines) if deadlines else None
    if not majors:
        basis = ("the register flags an open major hidden danger and no hidden-danger record gives it: record it, "
                 "with its rectification plan and deadline")
    elif deadline is None:
        basis = "no rectification deadline is recorded: set one in the rectification plan"
    else:
        basis = f"rectify by {deadline.isoformat()}"
    return Measure(RECTIFY, deadline, majors,
                   basis + "; the rectification plan (measures, funds, people, deadline, interim safeguards) is "
                           "reported to the department and the danger is closed only after verification "
                           "(domain.md §8)")


def look_back(site: SiteState, as_of: dt.date, window_days: int) -> list[LookBack]:
    """Why the site is a look-back site on ``as_of`` (empty: it is not one).

    - a major hidden danger rectified within the window (``window_days`` up to ``as_of``), with no inspection
      recorded after it;
    - an enforcement measure (rectification order, suspension, closure) lifted within the window (复产复工, a
      known accident-prone moment), with no inspection recorded after it;
    - a hidden danger still open past its deadline, for as long as it stays open.
    """
    start = as_of - dt.timedelta(days=window_days)
    after = site.records_last

    def seen_since(day: dt.date) -> bool:
        return after is not None and after > day

    out = []
    for d in site.dangers:
        if (d.grade == "major" and d.status in CLOSED and d.rectified_on is not None
                and start <= d.rectified_on <= as_of and not seen_since(d.rectified_on)):
            out.append(LookBack("major_danger_rectified", "hidden_danger", d.id, d.source_id, d.rectified_on,
                                d.description))
    for a in site.actions:
        if (a.measure in LIFTABLE and a.lifted_on is not None and start <= a.lifted_on <= as_of
                and not seen_since(a.lifted_on)):
            out.append(LookBack("enforcement_lifted", "enforcement_action", a.id, a.source_id, a.lifted_on,
                                a.measure))
    for d in overdue_dangers(site, as_of):
        out.append(LookBack("danger_overdue", "hidden_danger", d.id, d.source_id, d.deadline, d.description))
    return sorted(out, key=lambda lb: (lb.date, lb.record, lb.record_id))


def recommend(site: SiteState, as_of: dt.date, config: SupervisionConfig) -> Recommendation:
    """The site's recommendation on ``as_of``: frequency, next due date, overdue, light, measure, look-back."""
    last, source = last_inspection(site)
    due = next_due(last, site.level, config)
    overdue = is_overdue(due, as_of)
    late = overdue_dangers(site, as_of)
    major = has_open_major(site)
    colour, reasons = light(site.level, major, overdue, bool(late))
    opened = open_dangers(site)
    return Recommendation(
        site=site, as_of=as_of, frequency_months=config.frequency(site.level), last_inspection=last,
        last_inspection_source=source, next_due=due, overdue=overdue,
        days_overdue=(as_of - due).days if overdue and due is not None else 0,
        open_dangers=len(opened) if site.danger_records > 0 else int(site.register_open or 0),
        open_major_dangers=len(open_major(site)) if site.danger_records > 0 else int(bool(site.register_major)),
        overdue_dangers=len(late), active_measures=tuple(active_measures(site, as_of)), light=colour,
        light_reasons=reasons, measure=measure(site, as_of), look_back=tuple(look_back(site, as_of,
                                                                                      config.look_back_days)))


LIGHT_ORDER = {c: i for i, c in enumerate(LIGHTS)}
LEVEL_ORDER = {"red": 0, "orange": 1, "yellow": 2, "blue": 3}


def worst_first(rec: Recommendation) -> tuple:
    """The order of a supervision list: red lights first, then yellow, then green; within a light, the longest
    overdue (never inspected first), then the highest level and score."""
    never = rec.overdue and rec.next_due is None
    return (LIGHT_ORDER[rec.light], not never, -rec.days_overdue, LEVEL_ORDER[rec.site.level], -rec.site.score,
            rec.site.kind, rec.site.id)
