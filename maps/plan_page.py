"""The printable inspection schedule of a stored plan (issue 6, item 3): a map of the routes (one colour a team,
numbered stops) above, per team and day the stops with their times, the km and the risk covered, and the plan's
totals with the red sites left out and why.  A plan is a few hundred stops at most, so its page carries it."""

from __future__ import annotations

import datetime as dt
import html

import folium

from maps import assets
from maps.basemaps import Basemap
from maps.main_map import (
    KIND_LABELS,
    LEVEL_COLOURS,
    LEVEL_LABELS,
    MEASURE_LABELS,
    TEAM_COLOURS,
    detail_map,
    detail_page,
)

TEXT = {
    "zh": {"title": "检查计划", "team": "检查组", "day": "第{}天", "seq": "序号", "site": "检查对象", "kind": "类别",
           "level": "等级", "score": "得分", "arrival": "到达", "start": "开始", "departure": "离开",
           "km": "里程 (km)", "risk": "覆盖风险", "visits": "检查点", "leave": "出发", "back": "返回",
           "totals": "汇总", "share": "覆盖候选点风险的比例", "by_level": "各等级检查数 / 候选数",
           "red_left": "未安排的重大风险点", "reason": "原因", "none": "无", "base": "驻地",
           "no_stops": "当天无检查", "must": "必检", "look_back": "回头看",
           "must_why": {"named": "指定必检", "look_back": "回头看", "overdue": "逾期未检"},
           "named_note": "计划条件中指定的必检对象",
           "overdue_due": "应检日期 {due}，已逾期 {days} 天", "overdue_never": "无检查记录，应尽快检查",
           "overdue_last": "上次检查 {last}", "overdue_every": "{level}每 {months}检查一次",
           "overdue_days_rule": "超过 {days} 天未检查 (overdue_days)",
           "enforcement_measures": {k: v[0] for k, v in MEASURE_LABELS.items()},
           "look_back_reasons": {"major_danger_rectified": "重大隐患已整改",
                                 "enforcement_lifted": "执法措施解除 (复产复工)",
                                 "danger_overdue": "隐患逾期未整改"},
           "made": "riskmap 生成", "area": "区域", "all": "全部",
           "visit": "第 {} 次检查", "night_out": "在外驻宿", "campaign": "检查行动",
           "wanted": "覆盖应检风险的比例 (按检查频次)", "frequency": "达到检查频次 / 对象数",
           "request": "条件", "hours": "每天工作时间", "speed": "车速", "seed": "随机种子",
           "beyond_max": "另有 {} 个重大风险点超出候选上限 (max_sites)", "back_map": "返回地图",
           "reasons": {"beyond_a_day": "一天内往返不及", "time_window": "时间窗无法满足",
                       "days_full": "检查日已排满", "no_road": "无道路连通"}},
    "en": {"title": "Inspection plan", "team": "Team", "day": "Day {}", "seq": "#", "site": "Site", "kind": "Kind",
           "level": "Level", "score": "Score", "arrival": "Arrive", "start": "Start", "departure": "Leave",
           "km": "km", "risk": "Risk covered", "visits": "Visits", "leave": "Leave base", "back": "Back",
           "totals": "Totals", "share": "Share of the candidates' risk covered", "by_level": "Visited / candidates",
           "red_left": "Red sites left out", "reason": "Why", "none": "none", "base": "Base",
           "no_stops": "no inspection this day", "must": "must visit", "look_back": "look-back",
           "must_why": {"named": "named", "look_back": "look-back", "overdue": "overdue"},
           "named_note": "named as must-visit in the plan's request",
           "overdue_due": "due {due}, {days} days overdue", "overdue_never": "no inspection on record",
           "overdue_last": "last inspected {last}", "overdue_every": "{level}: every {months}",
           "overdue_days_rule": "more than {days} days without inspection (overdue_days)",
           "enforcement_measures": {k: v[1] for k, v in MEASURE_LABELS.items()},
           "look_back_reasons": {"major_danger_rectified": "major hidden danger rectified",
                                 "enforcement_lifted": "enforcement measure lifted (resumption)",
                                 "danger_overdue": "hidden danger open past its deadline"},
           "made": "made by riskmap", "area": "Area",
           "visit": "visit {}", "night_out": "night away from base", "campaign": "Campaign",
           "wanted": "Share of the risk wanted covered (visits at their frequency)",
           "frequency": "At their frequency / sites",
           "all": "everywhere", "request": "Request", "hours": "Working hours a day", "speed": "Speed",
           "seed": "Seed", "beyond_max": "{} more red sites lie beyond the candidate limit (max_sites)",
           "back_map": "Back to the map",
           "reasons": {"beyond_a_day": "too far for a day", "time_window": "time window cannot be met",
                       "days_full": "the days were full", "no_road": "no road to it"}},
}


def team_colour(team: int) -> str:
    return TEAM_COLOURS[(team - 1) % len(TEAM_COLOURS)]


def plan_map(doc: dict, basemap: Basemap, language: str, static_url: str = assets.STATIC_URL) -> folium.Map:
    if doc.get("kind") == "campaign":
        return campaign_map(doc, basemap, language, static_url)
    t = TEXT[language]
    m = detail_map(basemap, static_url)
    lats, lons = [], []
    for team in doc["teams"]:
        colour = team_colour(team["team"])
        group = folium.FeatureGroup(name=f'<span style="color:{colour}">■</span> {t["team"]} {team["team"]}')
        base = team["base"]
        lats.append(base[1])
        lons.append(base[0])
        folium.Marker([base[1], base[0]], tooltip=f'{t["base"]} · {t["team"]} {team["team"]}',
                      icon=folium.DivIcon(html=f'<div class="riskmap-plan-base" style="border-color:{colour}">⌂</div>',
                                          icon_size=(22, 22), icon_anchor=(11, 11))).add_to(group)
        for day in team["days"]:
            if not day["stops"]:
                continue
            line = ([[y, x] for x, y in day["path"]] if day.get("path")
                    else [[base[1], base[0]], *([s["lat"], s["lon"]] for s in day["stops"]), [base[1], base[0]]])
            folium.PolyLine(line, color=colour, weight=3, opacity=0.85,
                            dash_array=None if day["day"] == 1 else f"{2 + 2 * day['day']},4",
                            tooltip=f'{t["team"]} {team["team"]} · {t["day"].format(day["day"])} · '
                                    f'{day["km"]:.0f} km').add_to(group)
            for s in day["stops"]:
                lats.append(s["lat"])
                lons.append(s["lon"])
                tip = (f'{html.escape(s["name"])}<br>{t["team"]} {team["team"]} · {t["day"].format(day["day"])} · '
                       f'#{s["seq"]} · {s["arrival"]}–{s["departure"]}')
                _stop_marker(s, tip, colour, team["team"], day["day"]).add_to(group)
        group.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    if lats:
        pad = 0.01
        m.fit_bounds([[min(lats) - pad, min(lons) - pad], [max(lats) + pad, max(lons) + pad]])
    return m


def _stop_marker(s: dict, tip: str, colour: str, team: int, day: int) -> folium.Marker:
    """A stop of a plan's or a campaign's day: its number in the team's colour, ringed in its risk level's."""
    return folium.Marker(
        [s["lat"], s["lon"]], tooltip=tip,
        icon=folium.DivIcon(
            html=f'<div class="riskmap-plan-stop" style="background:{colour};'
                 f'border-color:{LEVEL_COLOURS.get(s["level"], "#333")}" data-team="{team}" '
                 f'data-day="{day}">{s["seq"]}</div>',
            icon_size=(20, 20), icon_anchor=(10, 10)))


def campaign_map(doc: dict, basemap: Basemap, language: str, static_url: str = assets.STATIC_URL) -> folium.Map:
    """A campaign's map: one layer a working day (the layer switcher is the day selector; the first day shows),
    each team's route of the day in its colour from where it started (its base, or where it slept) to home or to
    where it sleeps (a moon), the stops numbered; the bases in a layer of their own."""
    t = TEXT[language]
    m = detail_map(basemap, static_url)
    lats, lons = [], []
    bases = folium.FeatureGroup(name=f'⌂ {t["base"]}')
    for team in doc["teams"]:
        colour = team_colour(team["team"])
        base = team["base"]
        lats.append(base[1])
        lons.append(base[0])
        folium.Marker([base[1], base[0]], tooltip=f'{t["base"]} · {t["team"]} {team["team"]}',
                      icon=folium.DivIcon(html=f'<div class="riskmap-plan-base" style="border-color:{colour}">⌂</div>',
                                          icon_size=(22, 22), icon_anchor=(11, 11))).add_to(bases)
    bases.add_to(m)
    days = sorted({(d["day"], d.get("date") or "") for team in doc["teams"] for d in team["days"]})
    for number, date in days:
        group = folium.FeatureGroup(name=f'{t["day"].format(number)} {date}', show=number == 1)
        for team in doc["teams"]:
            colour = team_colour(team["team"])
            day = next((d for d in team["days"] if d["day"] == number), None)
            if day is None or not day["stops"]:
                continue
            line = [[y, x] for x, y in day.get("path") or
                    [team["base"], *([s["lon"], s["lat"]] for s in day["stops"])]]
            folium.PolyLine(line, color=colour, weight=3, opacity=0.85,
                            tooltip=f'{t["team"]} {team["team"]} · {t["day"].format(number)} {date} · '
                                    f'{day["km"]:.0f} km').add_to(group)
            for s in day["stops"]:
                lats.append(s["lat"])
                lons.append(s["lon"])
                visit = f' · {t["visit"].format(s["visit"])}' if s.get("visit", 1) > 1 else ""
                tip = (f'{html.escape(s["name"])}<br>{t["team"]} {team["team"]} · {t["day"].format(number)} · '
                       f'#{s["seq"]} · {s["arrival"]}–{s["departure"]}{visit}')
                _stop_marker(s, tip, colour, team["team"], number).add_to(group)
            night = day.get("overnight")
            if night:
                folium.Marker([night["lat"], night["lon"]],
                              tooltip=f'{t["team"]} {team["team"]} · {t["night_out"]} '
                                      f'({night["hours_from_base"]:g} h)',
                              icon=folium.DivIcon(html=f'<div class="riskmap-plan-base" style="border-color:{colour}">'
                                                       '☾</div>', icon_size=(22, 22), icon_anchor=(11, 11))
                              ).add_to(group)
        group.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    if lats:
        pad = 0.01
        m.fit_bounds([[min(lats) - pad, min(lons) - pad], [max(lats) + pad, max(lons) + pad]])
    return m


def look_back_detail(reason: dict, t: dict) -> str:
    """A look-back reason's detail in words: the measure lifted, or the danger's description."""
    if reason["reason"] == "enforcement_lifted":
        return t["enforcement_measures"].get(reason["detail"], reason["detail"])
    return reason["detail"] or ""


def look_back_note(reasons: list[dict] | None, t: dict) -> str:
    """Why a stop is a look-back, under its name: each record, what happened and when."""
    if not reasons:
        return ""
    e = html.escape
    items = "; ".join(f'{e(t["look_back_reasons"][r["reason"]])} {e(r["date"])}: {e(r["source_id"])} '
                      f'{e(look_back_detail(r, t))}' for r in reasons)
    return f'<br><small class="riskmap-look-back"><b>{e(t["look_back"])}</b> {items}</small>'


def overdue_note(stop: dict, req: dict, t: dict, idx: int) -> str:
    """Why an overdue stop must be visited: since when it is due and how many days overdue (to the plan's first
    day), its last inspection and the rule that made it due; or that no inspection is on record."""
    e = html.escape
    if not stop.get("next_due"):
        parts = [t["overdue_never"]]
    else:
        days = stop.get("days_overdue")
        if days is None and req.get("first_day"):  # plans stored before days_overdue was kept
            days = (dt.date.fromisoformat(req["first_day"]) - dt.date.fromisoformat(stop["next_due"])).days
        parts = [t["overdue_due"].format(due=stop["next_due"], days=days)]
        if stop.get("last_inspection"):
            parts.append(t["overdue_last"].format(last=stop["last_inspection"]))
        if req.get("overdue_days") is not None:
            parts.append(t["overdue_days_rule"].format(days=req["overdue_days"]))
        elif (req.get("frequency_months") or {}).get(stop["level"]):
            n = req["frequency_months"][stop["level"]]
            months = f"{n} 个月" if idx == 0 else ("month" if n == 1 else f"{n} months")
            parts.append(t["overdue_every"].format(level=LEVEL_LABELS[stop["level"]][idx], months=months))
    return (f'<br><small class="riskmap-overdue"><b>{e(t["must_why"]["overdue"])}</b> '
            f'{e(("，" if idx == 0 else "; ").join(parts))}</small>')


def must_visit_note(stop: dict, req: dict, t: dict, idx: int) -> str:
    """Under a stop's name, why it must be visited (nothing for an optional stop)."""
    why = stop.get("must_visit")
    if why == "look_back":
        return look_back_note(stop.get("look_back"), t)
    if why == "overdue":
        return overdue_note(stop, req, t, idx)
    if why == "named":
        return f'<br><small class="riskmap-named"><b>{html.escape(t["must_why"]["named"])}</b> ' \
               f'{html.escape(t["named_note"])}</small>'
    return ""


def plan_page(doc: dict, basemap: Basemap, language: str = "zh", static_url: str = assets.STATIC_URL,
              inline: bool = False) -> str:
    """The printable schedule of plan ``doc`` (a stored plan document).  ``inline``: scripts and stylesheets
    written into the page (for a file that opens with no server)."""
    t = TEXT[language]
    idx = 0 if language == "zh" else 1
    m = plan_map(doc, basemap, language, static_url)
    req, tot = doc["request"], doc["totals"]
    e = html.escape
    campaign = doc.get("kind") == "campaign"

    def day_head(day: dict) -> str:
        when = f' {e(day["date"])}' if day.get("date") else ""
        if not day["stops"]:
            return f'<h3>{e(t["day"].format(day["day"]))}{when} · {e(t["no_stops"])}</h3>'
        start = "" if day.get("starts_at_base", True) else f' ({e(t["night_out"])})'
        end = (f'{e(t["back"])} {day["back"]}' if day.get("back") else
               f'{e(t["night_out"])} {day.get("end", "")}')
        return (f'<h3>{e(t["day"].format(day["day"]))}{when} · {e(t["leave"])} {day["leave"]}{start} · {end} · '
                f'{day["km"]:.1f} km · {e(t["risk"])} {day["risk"]:.1f}</h3>')

    def visit_note(stop: dict) -> str:
        return f' <small class="riskmap-visit">{e(t["visit"].format(stop["visit"]))}</small>' \
            if stop.get("visit", 1) > 1 else ""

    def level_cell(level: str) -> str:
        return (f'<td class="riskmap-level"><i style="background:{LEVEL_COLOURS.get(level, "#888")}"></i>'
                f'{e(LEVEL_LABELS[level][idx])}</td>')

    sections = []
    for team in doc["teams"]:
        colour = team_colour(team["team"])
        days = []
        for day in team["days"]:
            head = day_head(day)
            rows = "".join(
                f'<tr data-kind="{e(s["kind"])}" data-id="{s["id"]}"><td>{s["seq"]}</td>'
                f'<td><a href="/features/{e(s["kind"])}/{s["id"]}?format=html&amp;lang={language}">{e(s["name"])}</a>'
                f'{" <b>(" + e(t["must"]) + ")</b>" if s["must_visit"] else ""}{visit_note(s)}'
                f'<br><small>{e(s["source_id"])}</small>{must_visit_note(s, req, t, idx)}</td>'
                f'<td>{e(KIND_LABELS[s["kind"]][idx])}</td>{level_cell(s["level"])}<td>{s["score"]:.1f}</td>'
                f'<td>{s["arrival"]}</td><td>{s["start"]}</td><td>{s["departure"]}</td>'
                f'<td>{s["km_from_previous"]:.1f}</td></tr>' for s in day["stops"])
            table = ('<table class="riskmap-plan-table"><thead><tr>'
                     + "".join(f"<th>{e(t[k])}</th>" for k in ("seq", "site", "kind", "level", "score", "arrival",
                                                               "start", "departure", "km"))
                     + f"</tr></thead><tbody>{rows}</tbody></table>") if day["stops"] else ""
            days.append(head + table)
        sections.append(
            f'<section class="riskmap-plan-team" data-team="{team["team"]}">'
            f'<h2><i style="background:{colour}"></i>{e(t["team"])} {team["team"]} <small>{e(t["base"])} '
            f'{team["base"][0]:.4f}, {team["base"][1]:.4f} · {team["visits"]} {e(t["visits"])} · '
            f'{team["km"]:.1f} km · {e(t["risk"])} {team["risk"]:.1f}</small></h2>{"".join(days)}</section>')
    levels = " · ".join(f'{e(LEVEL_LABELS[lv][idx])} {v["visited"]}/{v["candidates"]}'
                        for lv, v in tot["by_level"].items() if v["candidates"])
    if campaign:
        levels += "<br>" + e(t["frequency"]) + ": " + " · ".join(
            f'{e(LEVEL_LABELS[lv][idx])} {v["at_frequency"]}/{v["sites"]} (× {v["visits_each"]})'
            for lv, v in tot["by_level"].items() if v["sites"])
    left_rows = "".join(
        f'<tr><td><a href="/features/{e(r["kind"])}/{r["id"]}?format=html&amp;lang={language}">{e(r["name"])}</a>'
        f'</td><td>{r["score"]:.1f}</td><td title="{e(r["detail"])}">{e(t["reasons"][r["reason"]])}<br>'
        f'<small>{e(r["detail"])}</small></td></tr>' for r in tot["red_left_out"])
    left = (f'<table class="riskmap-plan-left"><thead><tr><th>{e(t["site"])}</th><th>{e(t["score"])}</th>'
            f'<th>{e(t["reason"])}</th></tr></thead><tbody>{left_rows}</tbody></table>' if left_rows
            else f"<p>{e(t['none'])}</p>")
    if tot.get("red_beyond_max_sites"):
        left += f'<p>{e(t["beyond_max"].format(tot["red_beyond_max_sites"]))}</p>'
    created = str(doc.get("created_at", ""))[:16].replace("T", " ")
    title = f'{t["campaign" if campaign else "title"]} {doc.get("id", "")}'
    share = (f'<dt>{e(t["wanted"])}</dt><dd class="riskmap-plan-share">{tot["risk_share"]:.1%} '
             f'({tot["risk_covered"]:,.1f} / {tot["risk_wanted"]:,.1f}) · {tot["visits"]} {e(t["visits"])} · '
             f'{tot["km"]:,.1f} km</dd>' if campaign else
             f'<dt>{e(t["share"])}</dt><dd class="riskmap-plan-share">{tot["risk_share"]:.1%} '
             f'({tot["risk_covered"]:,.1f} / {tot["candidate_risk"]:,.1f}) · {tot["visits"]} {e(t["visits"])} · '
             f'{tot["km"]:,.1f} km</dd>')
    dates = f' · {e(req["first_day"])} – {e(req["last_day"])}' if campaign else ""
    body = f"""
<div class="riskmap-detail riskmap-plan" data-plan="{doc.get('id', '')}" data-kind="{e(doc.get('kind', 'plan'))}">
  <p class="riskmap-noprint"><a href="/?lang={language}&amp;plan={doc.get('id', '')}">{e(t["back_map"])}</a></p>
  <h1>{e(title)} <small>{e(created)} UTC · {e(t["made"])}</small></h1>
  <dl>
    <dt>{e(t["area"])}</dt><dd>{e(req.get("area") or t["all"])}</dd>
    <dt>{e(t["request"])}</dt><dd>{req["teams"]} × {req["days"]} · {e(t["hours"])} {req["hours_per_day"]:g} h
        ({e(req["day_start"])}) · {e(t["speed"])} {req["speed_kmh"]:g} km/h × {req["circuity"]:g} ·
        ≥ {e(LEVEL_LABELS[req["min_level"]][idx])} · {e(t["seed"])} {req["seed"]}{dates}</dd>
    {share}
    <dt>{e(t["by_level"])}</dt><dd>{levels}</dd>
  </dl>
  <h2>{e(t["red_left"])}</h2>
  {left}
  {"".join(sections)}
</div>"""
    page = detail_page(m, body, f"{title} · riskmap", language, static_url, map_height="50vh")
    if inline:
        from maps.export import inline_assets

        page = inline_assets(page)
    return page
