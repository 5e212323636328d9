"""The day-by-day simulation behind the demo's two synthetic years (data/demo/history.py; docs/demo.md).

Each month every county plans the inspections its teams can do (capacity-limited, look-backs first, then the due
sites by level); each working day its inspectors visit the planned sites, find hidden dangers (more at riskier
and worse-managed sites), decide enforcement (rectification orders, fines, suspensions and, rarely, closures),
and each danger's later life (deadline, rectification, verification, reopening) is drawn when it is found; each
day every site may have accidents at its true hazard (data/demo/hazard.py), which bring a follow-up inspection
and, with deaths, a suspension.  The state that moves the hazard (open dangers, an open major one, a suspension
in force, the weeks after production resumes) changes through events placed on the days they happen.

Everything is drawn from one seeded generator in a fixed order, so the same inputs and seed give the same
records.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from data.demo import hazard as hz
from data.demo.record_text import (
    ACCIDENT_TYPES,
    GENERAL_DANGERS,
    GENERAL_MEASURES,
    GIVEN_NAMES,
    MAJOR_DANGERS,
    MAJOR_MEASURES,
    SURNAMES,
    TEAM_NUMBERS,
)

LEVEL_RANK = {"red": 0, "orange": 1, "yellow": 2, "blue": 3}
DAYS_PER_MONTH = 30.4375

# --- the inspection loop's parameters [assumption; docs/demo.md] -----------------------------------------------
CAPACITY_RANGE = (0.9, 1.2)  # each county's teams manage this share of the inspections its levels call for
PRIOR_NOTE = "演示历史开始前的最后一次检查"  # the record of each site's last inspection before the history
RANDOM_SHARE = 0.25  # of the capacity drawn at random among the other due sites (双随机 random inspections)
LOOK_BACK_SCHEDULED = 0.85  # share of look-backs (回头看) the county remembers to schedule
DANGERS_PER_INSPECTION = {"enterprise": 0.8, "tailings_pond": 0.5, "venue": 0.6, "pipeline": 0.4}
DANGER_STATIC_WEIGHT = 0.35  # dangers found ∝ exp(0.35 s' + 0.7 u): riskier and worse-managed sites have more
DANGER_MANAGEMENT_WEIGHT = 0.7
FOLLOW_UP_DANGER_FACTOR = 2.0  # an inspection after an accident looks harder
MAJOR_SHARE = 0.015  # share of dangers that are major at an average site, × exp(0.5 u + 0.3 s'), at most 0.3
DEADLINE_DAYS = {"general": (7, 15, 30), "major": (60, 90, 120)}
RECTIFY_MEDIAN_DAYS = {"general": 10.0, "major": 45.0}  # × exp(0.4 u), log-normal sd 0.7
VERIFY_MEDIAN_DAYS = {"general": 10.0, "major": 20.0}  # log-normal sd 0.6
REOPEN_SHARE = 0.05  # × exp(0.5 u): the verification finds the rectification not done (整改不合格): reopened
REOPENED_SLOWER = 1.5  # the second rectification takes this much longer
NOT_INSPECTED_WHEN_SUSPENDED = 0.5  # 停产未检: a suspended site is often found not producing
RECTIFY_ORDER_SHARE = 0.3
FINE_SHARE, FINE_OVERDUE_SHARE = 0.2, 0.6
SUSPEND_SHARE, SUSPEND_LATE_SHARE = 0.5, 0.9  # for a new major danger; for an overdue or reopened one
CLOSURE_SHARE = 0.3  # instead of a suspension, for a small (< 50 people), badly managed (u > 1.5) enterprise
ACCIDENT_SUSPEND_SHARE = {True: 0.8, False: 0.3}  # after an accident with / without deaths
BACKGROUND_PER_YEAR = 8.0  # accidents at workplaces not in the register, near registered ones
NAMED_SHARE = 0.65  # accidents whose report names the site; the others are placed up to 250 m from it
DEATHS = ((0, 0.55), (1, 0.30), (2, 0.09), (3, 0.035), (4, 0.015), (5, 0.01))


@dataclass
class SiteTable:
    """The sites the simulation runs over (arrays in one order; see history.sites_table)."""

    kind: np.ndarray
    source_id: np.ndarray
    name: np.ndarray
    county: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    level: np.ndarray
    frequency_months: np.ndarray
    base: np.ndarray  # b + s (log accidents a year; -inf: none)
    centred: np.ndarray  # s minus its class mean (drives the dangers found)
    accident_group: np.ndarray  # the accident-type table of each site (record_text.ACCIDENT_TYPES)
    small: np.ndarray  # an enterprise of fewer than 50 people
    lines: dict[int, object] = field(default_factory=dict)  # pipelines: index -> LineString


@dataclass
class Records:
    inspections: list = field(default_factory=list)
    dangers: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    accidents: list = field(default_factory=list)


def working_days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=k) for k in range((last - first).days + 1)
            if (first + dt.timedelta(days=k)).weekday() < 5]


def month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    out, day = [], first.replace(day=1)
    while day <= last:
        out.append(max(day, first))
        day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


class Simulation:
    """One run of the simulation (module docstring) over ``sites`` from ``first`` to ``last``: ``run()`` fills
    ``records`` (one dict per record, in the order they happen), ``accident_truth`` (each accident's site and its
    positions in the truth's rankings that day) and ``variance`` (the log-hazard's terms over the site-days)."""

    def __init__(self, sites: SiteTable, rng: np.random.Generator, management: np.ndarray, frailty: np.ndarray,
                 first: dt.date, last: dt.date):
        self.s, self.rng, self.first, self.last = sites, rng, first, last
        self.u, self.z = management, frailty
        n = len(sites.kind)
        self.n, self.days = n, (last - first).days + 1
        self.records = Records()
        self.events: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
        self.plan: dict[int, list[tuple[int, str]]] = defaultdict(list)
        self.state = {name: np.zeros(n, dtype=np.int64) for name in
                      ("open", "open_major", "unverified_major", "suspended", "resumed")}
        self.closed = ~np.isfinite(sites.base)
        self.site_dangers: dict[int, list[int]] = defaultdict(list)
        self.look_backs: list[tuple[int, int]] = []  # (site, earliest day)
        # the last inspection before the history: a random day within the level's period before it, recorded
        # (so that the supervision list and the model know it as the simulation does)
        period = sites.frequency_months * DAYS_PER_MONTH
        self.last_inspected = (-np.floor(rng.uniform(0, 1, n) * period) - 1).astype(np.int64)
        counties = sorted(set(sites.county))
        factor = rng.uniform(*CAPACITY_RANGE, len(counties))
        self.capacity_factor = dict(zip(counties, factor, strict=True))
        self.variance = hz.VarianceAccumulator()
        self.accident_truth: list[dict] = []
        self.today = 0

    # --- helpers ---------------------------------------------------------------------------------------------------
    def date(self, day: int) -> dt.date:
        return self.first + dt.timedelta(days=int(day))

    def within(self, day: int) -> bool:
        return 0 <= day < self.days

    def at(self, day: int, name: str, site: int, delta: int) -> None:
        """Change a state count of a site from ``day`` on (now if the day is today or past; never beyond the end)."""
        if day <= self.today:
            self.state[name][site] += delta
        elif day < self.days:
            self.events[day].append((name, site, delta))

    def person(self) -> str:
        return SURNAMES[self.rng.integers(len(SURNAMES))] + "".join(
            GIVEN_NAMES[k] for k in self.rng.integers(len(GIVEN_NAMES), size=self.rng.integers(1, 3)))

    def team(self, site: int) -> str:
        county = self.s.county[site] or "唐山市"
        if self.s.kind[site] == "pipeline":
            return f"{county}油气管道保护执法队"
        return f"{county}应急管理局执法{TEAM_NUMBERS[self.rng.integers(len(TEAM_NUMBERS))]}大队"

    # --- the month's plan --------------------------------------------------------------------------------------------
    def plan_month(self, start: dt.date) -> None:
        end = min((start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1), self.last)
        d0, d1 = (start - self.first).days, (end - self.first).days
        days = [(d - self.first).days for d in working_days(start, end)]
        if not days:
            return
        freq = np.where(self.state["unverified_major"] > 0, 1, self.s.frequency_months)  # open major: red light
        due = self.last_inspected + np.round(freq * DAYS_PER_MONTH).astype(np.int64)
        rank = np.where(self.state["unverified_major"] > 0, 0, [LEVEL_RANK[lv] for lv in self.s.level])
        pending = [(i, e) for i, e in self.look_backs if e <= d1]
        self.look_backs = [(i, e) for i, e in self.look_backs if e > d1]
        for county in sorted(self.capacity_factor):
            in_county = (self.s.county == county) & ~self.closed
            need = float(np.sum(1.0 / self.s.frequency_months[in_county]))
            capacity = int(self.rng.poisson(need * self.capacity_factor[county]))
            chosen: list[tuple[int, str, int]] = []
            for i, earliest in pending:
                if self.s.county[i] == county and not self.closed[i]:
                    chosen.append((i, "look_back", max(earliest, d0)))
            candidates = np.flatnonzero(in_county & (due <= d1))
            order = candidates[np.lexsort((self.s.source_id[candidates], due[candidates], rank[candidates]))]
            taken = {i for i, _, _ in chosen}
            by_priority = len(chosen) + round(capacity * (1 - RANDOM_SHARE))
            for i in order:  # the highest levels and the longest due first ...
                if len(chosen) >= by_priority:
                    break
                if i not in taken:
                    chosen.append((int(i), self.routine_type(int(i), start), d0))
                    taken.add(i)
            rest = [int(i) for i in order if i not in taken]  # ... then 双随机: due sites drawn at random
            for i in self.rng.permutation(rest)[:max(0, capacity - len(chosen))]:
                chosen.append((int(i), self.routine_type(int(i), start), d0))
            for i, kind, earliest in chosen:
                allowed = [d for d in days if d >= earliest]
                if allowed:
                    self.plan[allowed[self.rng.integers(len(allowed))]].append((i, kind))
                else:  # (a look-back due after the month's last working day) next month
                    self.look_backs.append((i, earliest))

    def routine_type(self, site: int, month: dt.date) -> str:
        kind = self.s.kind[site]
        if kind == "tailings_pond" and month.month in (5, 6):
            return "special"  # 汛前检查: ponds before the flood season
        if self.s.accident_group[site] == "chemical" and month.month in (9, 10):
            return "special"  # the autumn hazardous-chemicals campaign
        if self.s.level[site] in ("red", "orange") and self.rng.random() < 0.15:
            return "comprehensive"
        return "routine"

    # --- an inspection -----------------------------------------------------------------------------------------------
    def inspect(self, site: int, day: int, itype: str) -> None:
        """Inspect a site (``itype``: an inspection type, or "after_accident": a special inspection that follows
        an accident and looks harder)."""
        if self.closed[site]:
            return
        s = self.s
        source_id = f"demo-insp-{len(self.records.inspections) + 1:06d}"
        after_accident = itype == "after_accident"
        row = {"source_id": source_id, "site_kind": s.kind[site], "site_source_id": s.source_id[site],
               "inspected_on": self.date(day), "team": self.team(site),
               "inspection_type": "special" if after_accident else itype,
               "notes": "事故后检查" if after_accident else None}
        if self.state["suspended"][site] > 0 and self.rng.random() < NOT_INSPECTED_WHEN_SUSPENDED:
            row.update(outcome="not_inspected", notes="停产未检")
            self.records.inspections.append(row)
            return
        overdue = [k for k in self.site_dangers[site] if self.open_on(k, day)
                   and self.records.dangers[k]["deadline"] < self.date(day)]
        self.last_inspected[site] = day
        mean = (DANGERS_PER_INSPECTION[s.kind[site]]
                * np.exp(DANGER_STATIC_WEIGHT * s.centred[site] + DANGER_MANAGEMENT_WEIGHT * self.u[site])
                * (FOLLOW_UP_DANGER_FACTOR if after_accident else 1.0))
        found = [self.new_danger(site, day, source_id) for _ in range(self.rng.poisson(mean))]
        decided = self.enforce(site, day, found, overdue)
        row["outcome"] = "enforcement" if decided else ("dangers_found" if found else "no_findings")
        self.records.inspections.append(row)

    def open_on(self, k: int, day: int) -> bool:
        """Was danger k open (found and not rectified, or reopened and not rectified again) on ``day``?"""
        d = self.records.dangers[k]
        found, r1, ro, r2 = (d["found_on"] - self.first).days, d["_r1"], d["_ro"], d["_r2"]
        first_spell = found <= day and (r1 is None or day < r1)
        return first_spell or (ro is not None and ro <= day and (r2 is None or day < r2))

    def new_danger(self, site: int, day: int, inspection: str) -> int:
        """A hidden danger found at an inspection, with its whole later life: deadline, rectification,
        verification; for some, the verification finds the rectification not done (整改不合格: reopened that day),
        and it is rectified and verified again.  Dates beyond the history are not yet known."""
        s, rng, u = self.s, self.rng, self.u[site]
        p_major = min(0.3, MAJOR_SHARE * np.exp(0.5 * u + 0.3 * s.centred[site]))
        grade = "major" if rng.random() < p_major else "general"
        palette = (MAJOR_DANGERS if grade == "major" else GENERAL_DANGERS)[s.kind[site]]
        description, category = palette[rng.integers(len(palette))]
        deadline = day + int(rng.choice(DEADLINE_DAYS[grade]))

        def rectify_after(start: int, slower: float = 1.0) -> int:
            return start + 1 + int(slower * RECTIFY_MEDIAN_DAYS[grade] * np.exp(0.4 * u + rng.normal(0, 0.7)))

        def verify_after(start: int) -> int:
            return start + 1 + int(VERIFY_MEDIAN_DAYS[grade] * np.exp(rng.normal(0, 0.6)))

        r1 = rectify_after(day)
        verified = verify_after(r1)
        ro = r2 = None
        if rng.random() < REOPEN_SHARE * np.exp(0.5 * u):
            ro = verified  # the verification that failed
            r2 = rectify_after(ro, REOPENED_SLOWER)
            verified = verify_after(r2)
        keep = self.within
        r1, ro, r2, verified = (x if x is not None and keep(x) else None for x in (r1, ro, r2, verified))
        if ro is None:
            r2 = None
        status, changed = "open", day
        for name, when in (("rectified", r1), ("reopened", ro), ("rectified", r2), ("verified", verified)):
            if when is not None:
                status, changed = name, when
        k = len(self.records.dangers)
        self.records.dangers.append({
            "source_id": f"demo-hd-{k + 1:06d}", "inspection_source_id": inspection, "site_kind": s.kind[site],
            "site_source_id": s.source_id[site], "description": description, "category": category,
            "grade": grade, "found_on": self.date(day), "deadline": self.date(deadline),
            "responsible_unit": s.name[site], "responsible_person": self.person(), "status": status,
            "status_changed_on": self.date(changed),
            # the table keeps the last date of each change: a second rectification replaces the first
            "rectified_on": self.date(r2 if r2 is not None else r1) if r1 is not None else None,
            "verified_on": self.date(verified) if verified is not None else None,
            "reopened_on": self.date(ro) if ro is not None else None,
            "measures": MAJOR_MEASURES if grade == "major" else GENERAL_MEASURES,
            "_r1": r1, "_ro": ro, "_r2": r2, "_verified": verified,
        })
        self.site_dangers[site].append(k)
        for name in (("open", "open_major") if grade == "major" else ("open",)):
            self.at(day, name, site, +1)
            for when, delta in ((r1, -1), (ro, +1), (r2, -1)):
                if when is not None:
                    self.at(when, name, site, delta)
        if grade == "major":
            self.at(day, "unverified_major", site, +1)
            if verified is not None:
                self.at(verified, "unverified_major", site, -1)
            last_rectified = r2 if r2 is not None else (r1 if ro is None else None)
            if last_rectified is not None and rng.random() < LOOK_BACK_SCHEDULED:
                self.look_backs.append((site, last_rectified + 1))
        return k

    def enforce(self, site: int, day: int, found: list[int], overdue: list[int]) -> bool:
        """The enforcement decided at an inspection; True when any was."""
        s, rng, u = self.s, self.rng, self.u[site]
        dangers = self.records.dangers
        decided = False
        majors = [k for k in found if dangers[k]["grade"] == "major"]
        late_major = [k for k in overdue if dangers[k]["grade"] == "major"] + [
            k for k in self.site_dangers[site] if dangers[k]["grade"] == "major" and k not in overdue
            and dangers[k]["_ro"] is not None and dangers[k]["_ro"] <= day and self.open_on(k, day)]
        if found and rng.random() < RECTIFY_ORDER_SHARE:
            rect = [dangers[k]["_r1"] for k in found]
            lifted = max(rect) if all(r is not None for r in rect) else None
            self.action(site, day, "rectify_order", lifted=lifted)
            decided = True
        if (found and rng.random() < FINE_SHARE * np.exp(0.3 * u)) or (overdue and rng.random() < FINE_OVERDUE_SHARE):
            median = 150_000 if majors or late_major else 20_000
            self.action(site, day, "fine", fine=round(float(median * np.exp(rng.normal(0, 0.5))), -2))
            decided = True
        if (majors or late_major) and s.kind[site] != "pipeline" and self.state["suspended"][site] == 0:
            share = SUSPEND_LATE_SHARE if late_major else SUSPEND_SHARE
            if rng.random() < share:
                if s.small[site] and u > 1.5 and rng.random() < CLOSURE_SHARE:
                    self.action(site, day, "closure")
                    self.closed[site] = True
                else:
                    verified = [self.verified_day(k, day) for k in majors + late_major]
                    lifted = (max(verified) + int(rng.integers(1, 11))
                              if all(v is not None for v in verified) else None)
                    self.suspend(site, day, lifted)
                decided = True
        return decided

    def verified_day(self, k: int, day: int) -> int | None:
        """When danger k is finally verified, if after ``day`` and within the history; else None."""
        v = self.records.dangers[k]["_verified"]
        return v if v is not None and v > day else None

    def suspend(self, site: int, day: int, lifted: int | None) -> None:
        lifted = lifted if lifted is not None and lifted < self.days else None
        self.action(site, day, "suspension", lifted=lifted)
        self.at(day, "suspended", site, +1)
        if lifted is not None:
            self.at(lifted, "suspended", site, -1)
            self.at(lifted, "resumed", site, +1)
            self.at(lifted + hz.RESUMED_DAYS, "resumed", site, -1)
            if self.rng.random() < LOOK_BACK_SCHEDULED:
                self.look_backs.append((site, lifted + 1))

    def action(self, site: int, day: int, measure: str, *, lifted: int | None = None, fine: float | None = None,
               notes: str | None = None) -> None:
        self.records.actions.append({
            "source_id": f"demo-ea-{len(self.records.actions) + 1:06d}", "site_kind": self.s.kind[site],
            "site_source_id": self.s.source_id[site], "decided_on": self.date(day), "measure": measure,
            "fine_yuan": fine, "lifted_on": self.date(lifted) if lifted is not None and self.within(lifted) else None,
            "notes": notes})

    # --- accidents ---------------------------------------------------------------------------------------------------
    def accidents_on(self, day: int) -> None:
        st = self.state
        records = hz.time_varying(st["open"], st["open_major"], st["suspended"] > 0, st["resumed"] > 0)
        active = ~self.closed
        management = hz.MANAGEMENT_WEIGHT * self.u
        log_rate = self.s.base + management + self.z + records
        rate = np.where(active, np.exp(np.where(active, log_rate, 0.0)) / hz.DAYS_PER_YEAR, 0.0)
        self.variance.add(self.s.base[active], management[active], self.z[active], records[active])
        counts = self.rng.poisson(rate)
        if not counts.any():
            return
        observable = np.where(active, self.s.base + records, -np.inf)
        static = np.where(active, self.s.base, -np.inf)
        true = np.where(active, log_rate, -np.inf)
        for site in np.flatnonzero(counts):
            for _ in range(int(counts[site])):
                self.accident(int(site), day, {"true": true, "observable": observable, "static": static})

    def accident(self, site: int, day: int, rankings: dict[str, np.ndarray]) -> None:
        s, rng = self.s, self.rng
        group = s.accident_group[site]
        types, p = zip(*ACCIDENT_TYPES[group], strict=True)
        atype = str(rng.choice(types, p=np.array(p) / sum(p)))
        lon, lat = self.accident_point(site)
        named = rng.random() < NAMED_SHARE
        if not named:
            lon, lat = offset(rng, lon, lat, 0.0, 250.0)
        deaths = self.casualties(atype, lon, lat, day, s.kind[site] if named else None,
                                 s.source_id[site] if named else None)
        truth = {"source_id": self.records.accidents[-1]["source_id"], "kind": s.kind[site],
                 "site_source_id": s.source_id[site], "occurred_on": self.date(day), "named": named}
        for name, values in rankings.items():
            own = values[site]
            truth[f"{name}_a"] = int(np.sum(values > own)) + 1
            truth[f"{name}_b"] = int(np.sum(values >= own))
        self.accident_truth.append(truth)
        # what follows: an inspection within three working days, a suspension (most often with deaths), a fine
        follow = day + int(rng.integers(1, 4))
        if follow < self.days:
            self.plan[follow].append((site, "after_accident"))
        if s.kind[site] != "pipeline" and self.state["suspended"][site] == 0 and not self.closed[site] and \
                rng.random() < ACCIDENT_SUSPEND_SHARE[deaths > 0]:
            self.suspend(site, min(day + 1, self.days - 1), day + int(rng.integers(30, 121)))
        if deaths > 0 and day + 30 < self.days:
            self.action(site, day + int(rng.integers(20, 61)) if day + 60 < self.days else day + 1, "fine",
                        fine=float(rng.integers(30, 101)) * 10_000, notes="事故罚款（《安全生产法》第一百一十四条）")

    def casualties(self, atype: str, lon: float, lat: float, day: int, kind: str | None,
                   site_source_id: str | None) -> int:
        rng = self.rng
        values, p = zip(*DEATHS, strict=True)
        deaths = int(rng.choice(values, p=p))
        injuries = int(rng.poisson(0.6) + (rng.poisson(1.5) if atype in ("爆炸", "火灾", "溃坝") else 0))
        cap = 3000.0 if deaths >= 3 else 950.0
        loss = round(min(cap, 20.0 * (1 + deaths) * float(np.exp(rng.normal(0, 1.0)))), 1)
        self.records.accidents.append({
            "source_id": f"demo-acc-{len(self.records.accidents) + 1:05d}", "occurred_on": self.date(day),
            "accident_type": atype, "deaths": deaths, "serious_injuries": injuries, "direct_loss_10k_yuan": loss,
            "site_kind": kind, "site_source_id": site_source_id, "lon": round(lon, 6), "lat": round(lat, 6),
            "source": "合成数据（演示）"})
        return deaths

    def accident_point(self, site: int) -> tuple[float, float]:
        if site in self.s.lines:
            point = self.s.lines[site].interpolate(float(self.rng.uniform(0, 1)), normalized=True)
            return float(point.x), float(point.y)
        return float(self.s.lon[site]), float(self.s.lat[site])

    def background_accidents(self, day: int) -> None:
        """Accidents at workplaces the register does not hold, 0.3-3 km from a registered enterprise."""
        rng = self.rng
        for _ in range(int(rng.poisson(BACKGROUND_PER_YEAR / hz.DAYS_PER_YEAR))):
            near = rng.choice(np.flatnonzero(self.s.kind == "enterprise"))
            lon, lat = offset(rng, float(self.s.lon[near]), float(self.s.lat[near]), 300.0, 3000.0)
            types, p = zip(*ACCIDENT_TYPES["unregistered"], strict=True)
            atype = str(rng.choice(types, p=np.array(p) / sum(p)))
            self.casualties(atype, lon, lat, day, None, None)
            self.accident_truth.append({"source_id": self.records.accidents[-1]["source_id"], "kind": None,
                                        "site_source_id": None, "occurred_on": self.date(day), "named": False})

    # --- the run -----------------------------------------------------------------------------------------------------
    def prior_inspections(self) -> None:
        """Each site's last inspection before the history (not of a closed site), as a record."""
        for site in np.argsort(self.last_inspected, kind="stable"):
            if self.closed[site]:
                continue
            self.records.inspections.append({
                "source_id": f"demo-insp-{len(self.records.inspections) + 1:06d}", "site_kind": self.s.kind[site],
                "site_source_id": self.s.source_id[site], "inspected_on": self.date(self.last_inspected[site]),
                "team": self.team(site), "inspection_type": "routine", "outcome": "no_findings",
                "notes": PRIOR_NOTE})

    def run(self) -> None:
        self.prior_inspections()
        starts = {(d - self.first).days for d in month_starts(self.first, self.last)}
        for day in range(self.days):
            self.today = day
            if day in starts:
                self.plan_month(self.date(day))
            for name, site, delta in self.events.pop(day, ()):
                self.state[name][site] += delta
            for site, itype in self.plan.pop(day, ()):
                self.inspect(site, day, itype)
            self.accidents_on(day)
            self.background_accidents(day)


def offset(rng, lon: float, lat: float, low_m: float, high_m: float) -> tuple[float, float]:
    """A point at a random bearing and distance (metres) from (lon, lat)."""
    bearing, dist = rng.uniform(0, 2 * np.pi), rng.uniform(low_m, high_m)
    return (lon + dist * np.sin(bearing) / (111_320.0 * np.cos(np.radians(lat))),
            lat + dist * np.cos(bearing) / 110_574.0)
