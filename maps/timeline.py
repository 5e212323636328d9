"""The timeline section of a feature's page (issue 14, item 2): the site's inspections, hidden dangers (with their
status history), enforcement actions and accidents, newest first, from geo/lists/timeline.py ``site_timeline``."""

from __future__ import annotations

import datetime as dt
import html

TEXT = {
    "zh": {"title": "检查、隐患、执法与事故记录（最新在前）", "none": "尚无检查、隐患、执法或事故记录。",
           "date": "日期", "record": "记录", "detail": "内容",
           "events": {"inspection": "检查", "hidden_danger": "隐患", "enforcement_action": "执法措施",
                      "accident": "事故"},
           "inspection_type": {"routine": "日常检查", "special": "专项检查", "comprehensive": "综合检查",
                               "look_back": "回头看"},
           "outcome": {"no_findings": "未发现问题", "dangers_found": "发现隐患", "enforcement": "采取执法措施",
                       "not_inspected": "未能检查"},
           "grade": {"general": "一般隐患", "major": "重大事故隐患"},
           "status": {"open": "未整改", "rectified": "已整改", "verified": "已验收销号", "reopened": "整改后复发"},
           "measure": {"rectify_order": "责令整改", "suspension": "停产整顿", "closure": "关闭取缔", "fine": "罚款"},
           "accident_class": {"especially_serious": "特别重大事故", "serious": "重大事故",
                              "relatively_serious": "较大事故", "general": "一般事故"},
           "team": "检查组", "deadline": "整改期限", "overdue": "逾期 {} 天", "lifted": "{} 解除",
           "not_lifted": "未解除",
           "fine": "罚款 {} 元", "deaths": "死亡 {} 人", "injuries": "重伤 {} 人", "history": "状态变化",
           "by": "（{}）", "measures": "整改措施", "responsible": "责任人"},
    "en": {"title": "Inspections, hidden dangers, enforcement and accidents (newest first)",
           "none": "No inspection, hidden danger, enforcement action or accident is recorded.",
           "date": "Date", "record": "Record", "detail": "Details",
           "events": {"inspection": "Inspection", "hidden_danger": "Hidden danger",
                      "enforcement_action": "Enforcement action", "accident": "Accident"},
           "inspection_type": {"routine": "routine", "special": "special", "comprehensive": "comprehensive",
                               "look_back": "look-back"},
           "outcome": {"no_findings": "no findings", "dangers_found": "hidden dangers found",
                       "enforcement": "enforcement taken", "not_inspected": "not inspected"},
           "grade": {"general": "general", "major": "major"},
           "status": {"open": "open", "rectified": "rectified", "verified": "verified", "reopened": "reopened"},
           "measure": {"rectify_order": "order to rectify", "suspension": "production suspension",
                       "closure": "closure", "fine": "fine"},
           "accident_class": {"especially_serious": "especially serious accident", "serious": "serious accident",
                              "relatively_serious": "relatively serious accident", "general": "general accident"},
           "team": "team", "deadline": "deadline", "overdue": "{} days overdue", "lifted": "lifted {}",
           "not_lifted": "in force", "fine": "fine {} yuan", "deaths": "{} dead", "injuries": "{} seriously injured",
           "history": "Status", "by": " ({})", "measures": "measures", "responsible": "responsible"},
}

STYLE = ("<style>.riskmap-timeline table { border-collapse: collapse; margin-bottom: 8px; }"
         " .riskmap-timeline th, .riskmap-timeline td { border: 1px solid #ccc; padding: 3px 8px; text-align: left;"
         " vertical-align: top; }"
         " .riskmap-timeline th { background: #f3f3f3; } .riskmap-timeline td.date { white-space: nowrap; }"
         " .riskmap-timeline tr[data-event=accident] td:nth-child(2) { color: #b00000; font-weight: bold; }"
         " .riskmap-timeline .overdue { color: #b00000; font-weight: bold; }"
         " .riskmap-timeline .history { color: #555; font-size: 0.92em; }</style>")


def _date(value) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value or "")


def _detail(e: dict, t: dict) -> str:
    """The details of one event, as HTML."""
    esc = html.escape
    kind = e["event"]
    if kind == "inspection":
        parts = [t["inspection_type"].get(e["inspection_type"], e["inspection_type"])]
        if e.get("team"):
            parts.append(f'{t["team"]} {e["team"]}')
        if e.get("outcome"):
            parts.append(t["outcome"].get(e["outcome"], e["outcome"]))
        text = " · ".join(esc(p) for p in parts)
        return text + (f"<br>{esc(e['notes'])}" if e.get("notes") else "")
    if kind == "hidden_danger":
        head = (f'<b>{esc(t["grade"][e["grade"]])}</b>: {esc(e["description"])}'
                + (f' <small>({esc(e["category"])})</small>' if e.get("category") else ""))
        state = [esc(t["status"][e["status"]])]
        if e.get("deadline"):
            state.append(f'{esc(t["deadline"])} {_date(e["deadline"])}')
        if e.get("overdue"):
            state.append(f'<span class="overdue">{esc(t["overdue"].format(e["days_overdue"]))}</span>')
        if e.get("measures"):
            state.append(f'{esc(t["measures"])}: {esc(e["measures"])}')
        if e.get("responsible_person") or e.get("responsible_unit"):
            who = " ".join(x for x in (e.get("responsible_unit"), e.get("responsible_person")) if x)
            state.append(f'{esc(t["responsible"])}: {esc(who)}')
        steps = " → ".join(
            f'<span data-status="{esc(h["status"])}">{_date(h["on"])} {esc(t["status"].get(h["status"], h["status"]))}'
            f'{esc(t["by"].format(h["by"])) if h.get("by") else ""}</span>' for h in e.get("history") or [])
        history = f'<div class="history">{esc(t["history"])}: {steps}</div>' if steps else ""
        return f"{head}<br>{' · '.join(state)}{history}"
    if kind == "enforcement_action":
        parts = [t["measure"].get(e["measure"], e["measure"])]
        if e.get("fine_yuan") is not None:
            parts.append(t["fine"].format(f"{float(e['fine_yuan']):,.0f}"))
        if e.get("lifted_on"):
            parts.append(t["lifted"].format(_date(e["lifted_on"])))
        elif e["measure"] in ("suspension", "closure"):  # a stopping measure is in force until lifted; a fine or
            parts.append(t["not_lifted"])  # an order to rectify has nothing to lift
        text = " · ".join(esc(p) for p in parts)
        return text + (f"<br>{esc(e['notes'])}" if e.get("notes") else "")
    parts = [t["accident_class"].get(e["accident_class"], e["accident_class"])]
    if e.get("accident_type"):
        parts.append(e["accident_type"])
    parts += [t["deaths"].format(e.get("deaths") or 0), t["injuries"].format(e.get("serious_injuries") or 0)]
    return " · ".join(esc(str(p)) for p in parts)


def timeline_section(events: list[dict], language: str) -> str:
    """The section of the page: a table of the events as ``site_timeline`` gives them (newest first)."""
    t, esc = TEXT[language], html.escape
    if not events:
        body = f'<p class="riskmap-timeline-none">{esc(t["none"])}</p>'
    else:
        rows = "".join(
            f'<tr data-event="{esc(e["event"])}" data-id="{e["id"]}" data-on="{_date(e["on"])}">'
            f'<td class="date">{_date(e["on"])}</td><td>{esc(t["events"][e["event"]])}</td>'
            f"<td>{_detail(e, t)}</td></tr>" for e in events)
        head = "".join(f"<th>{esc(t[k])}</th>" for k in ("date", "record", "detail"))
        body = f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    return (f'{STYLE}<section class="riskmap-timeline" data-events="{len(events)}">'
            f'<h2>{esc(t["title"])}</h2>{body}</section>')
