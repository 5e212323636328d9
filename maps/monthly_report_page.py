"""The monthly report of an area (api/monthly_report.py) as one printable HTML page: self-contained (no script, no
stylesheet or image to fetch), A4, each section a small table, the list of major risks and hidden dangers last.
Every number is the report's; nothing is computed here but shares and signs for display."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from maps.main_map import KIND_LABELS, LEVEL_COLOURS, LEVEL_LABELS
from maps.major_risks_page import TEXT as MAJOR_TEXT
from maps.major_risks_page import list_table

LEVELS = ("red", "orange", "yellow", "blue")
TEXT = {
    "zh": {
        "title": "安全生产风险监管月报", "month": "月份", "period": "统计期", "made": "riskmap 生成",
        "synthetic": "演示数据（合成），非真实企业与事件",
        "levels": "一、风险等级分布（月末）", "level": "风险等级", "at_end": "本月末", "before": "上月末",
        "change": "变化", "total": "合计", "mean_score": "平均得分",
        "levels_note_history": "取自评分历史：每个风险点在当月最后一天的等级。",
        "levels_note_now": "评分历史不可用：表中为当前各等级数量，无法给出变化。",
        "dangers": "二、事故隐患", "found": "本月新发现", "found_major": "其中重大隐患", "rectified": "本月整改",
        "verified": "本月验收销号", "reopened": "本月整改不合格（重新打开）", "open_at_end": "月末未整改",
        "open_major_at_end": "其中重大隐患", "overdue_at_end": "月末逾期未整改", "overdue_major_at_end": "其中重大隐患",
        "inspections": "三、监督检查", "sites": "风险点", "due": "本月应检", "due_done": "其中已检",
        "done_share": "应检完成率", "inspected": "本月检查的风险点", "overdue": "月末逾期未检",
        "inspections_note": "应检：月初判断下次检查日期在本月内或已逾期（或无检查记录）的风险点；检查频次按风险等级"
                            "（监管设置）。",
        "records": "检查记录", "records_total": "检查次数", "not_inspected": "停产未检",
        "types": {"routine": "日常检查", "special": "专项检查", "comprehensive": "综合检查", "look_back": "回头看"},
        "outcomes": {"no_findings": "未发现问题", "dangers_found": "发现隐患", "enforcement": "采取执法措施",
                     "not_inspected": "停产未检", "not_recorded": "未填写"},
        "look_backs": "四、回头看", "look_back_done": "本月回头看检查", "waiting": "月末待回头看的风险点",
        "reasons": {"major_danger_rectified": "重大隐患已整改", "enforcement_lifted": "执法措施解除（复产复工）",
                    "danger_overdue": "隐患逾期未整改"},
        "site": "名称", "kind": "类别", "why": "原因", "more": "另有 {} 处未列出",
        "enforcement": "五、行政执法", "decided": "本月作出执法决定",
        "measures": {"rectify_order": "责令整改", "suspension": "停产整顿", "closure": "关闭取缔", "fine": "罚款"},
        "fines": "罚款金额（元）", "lifted": "本月解除措施", "suspensions_lifted": "其中复产复工",
        "in_force_at_end": "月末仍在执行的措施", "suspended_at_end": "其中停产整顿、关闭",
        "accidents": "六、生产安全事故", "accident_total": "本月事故", "deaths": "死亡人数",
        "serious_injuries": "重伤人数",
        "classes": {"general": "一般", "relatively_serious": "较大", "serious": "重大",
                    "especially_serious": "特别重大"},
        "major_list": "七、重大风险和隐患清单（月末）",
        "item": "项目", "count": "数量", "none": "无",
    },
    "en": {
        "title": "Monthly safety supervision report", "month": "Month", "period": "Period", "made": "made by riskmap",
        "synthetic": "Synthetic demo data, not real enterprises or events",
        "levels": "1. Sites per risk level (month's end)", "level": "Level", "at_end": "End of month",
        "before": "Month before", "change": "Change", "total": "Total", "mean_score": "Mean score",
        "levels_note_history": "From the score history: each site's level on the month's last day.",
        "levels_note_now": "The score history is not available: the counts are today's, and the change cannot be "
                           "given.",
        "dangers": "2. Hidden dangers", "found": "Found this month", "found_major": "of them major",
        "rectified": "Rectified this month", "verified": "Verified (closed) this month",
        "reopened": "Reopened this month (rectification not accepted)", "open_at_end": "Open at the month's end",
        "open_major_at_end": "of them major", "overdue_at_end": "Overdue at the month's end",
        "overdue_major_at_end": "of them major",
        "inspections": "3. Inspections", "sites": "Sites", "due": "Due this month", "due_done": "of them inspected",
        "done_share": "Share of the due inspected", "inspected": "Sites inspected this month",
        "overdue": "Overdue at the month's end",
        "inspections_note": "Due: sites whose next inspection, as judged on the eve of the month, falls in it or is "
                            "past (or none is known); frequencies by level (the supervision settings).",
        "records": "Inspection records", "records_total": "Inspections", "not_inspected": "Found not working",
        "types": {"routine": "routine", "special": "special", "comprehensive": "comprehensive",
                  "look_back": "look-back"},
        "outcomes": {"no_findings": "no findings", "dangers_found": "dangers found", "enforcement": "enforcement",
                     "not_inspected": "not working", "not_recorded": "not recorded"},
        "look_backs": "4. Look-backs (回头看)", "look_back_done": "Look-back inspections this month",
        "waiting": "Sites waiting for a look-back at the month's end",
        "reasons": {"major_danger_rectified": "major hidden danger rectified",
                    "enforcement_lifted": "measure lifted (resumption)",
                    "danger_overdue": "hidden danger open past its deadline"},
        "site": "Name", "kind": "Kind", "why": "Why", "more": "{} more not listed",
        "enforcement": "5. Enforcement", "decided": "Decisions this month",
        "measures": {"rectify_order": "rectification order", "suspension": "suspension", "closure": "closure",
                     "fine": "fine"},
        "fines": "Fines (yuan)", "lifted": "Measures lifted this month", "suspensions_lifted": "of them resumptions",
        "in_force_at_end": "Measures in force at the month's end", "suspended_at_end": "of them suspensions, closures",
        "accidents": "6. Accidents", "accident_total": "Accidents this month", "deaths": "Deaths",
        "serious_injuries": "Seriously injured",
        "classes": {"general": "general", "relatively_serious": "relatively serious", "serious": "serious",
                    "especially_serious": "especially serious"},
        "major_list": "7. List of major risks and hidden dangers (month's end)",
        "item": "Item", "count": "Count", "none": "none",
    },
}
LANGUAGES = tuple(TEXT)
WAITING_SHOWN = 30  # look-back sites listed on the page (the workbook has them all)

STYLE = """
body {font: 13px/1.45 "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif; margin: 1.5em;
      color: #222;}
h1 {font-size: 1.45em; margin: 0 0 0.2em;} h2 {font-size: 1.1em; margin: 1.2em 0 0.4em; break-after: avoid;}
.sub {color: #555; margin: 0 0 0.6em;}
table {border-collapse: collapse; margin: 0 0 0.4em;} .wide {width: 100%;}
th, td {border: 1px solid #aaa; padding: 0.2em 0.5em; text-align: left; vertical-align: top;}
th {background: #eee; white-space: nowrap;} td.num {text-align: right; white-space: nowrap;}
td.sub-item {padding-left: 1.6em; color: #444;}
i.level {display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.3em; border: 1px solid #777;
         vertical-align: -0.05em;}
.up {color: #b00000;} .down {color: #1a7f37;} .note {color: #555; font-size: 0.9em;}
.synthetic {background: #fff3cd; color: #7a4d00; font-weight: bold; padding: 0.2em 0.5em; display: inline-block;}
table.major td {font-size: 0.92em;} table.major td:nth-child(8) {min-width: 18em;}
table.major td:nth-child(4) {word-break: break-all;}
.cols {display: flex; gap: 1.5em; flex-wrap: wrap; align-items: flex-start;}
i.level, th, .synthetic {print-color-adjust: exact; -webkit-print-color-adjust: exact;}
@page {size: A4 landscape; margin: 10mm;}
@media print {body {margin: 0; font-size: 10px;} thead {display: table-header-group;} tr {break-inside: avoid;}}
"""


def _n(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else html.escape(str(value))


def _rows(pairs: list[tuple[str, Any, bool]], t: dict, key: str) -> str:
    """A two-column table (item, count); a pair's flag marks a sub-item ("of them")."""
    body = "".join(f'<tr data-item="{html.escape(name)}"><td class="{"sub-item" if sub else ""}">'
                   f'{html.escape(t.get(name, name))}</td><td class="num">{_n(value)}</td></tr>'
                   for name, value, sub in pairs)
    return (f'<table data-section="{key}"><thead><tr><th>{html.escape(t["item"])}</th>'
            f'<th>{html.escape(t["count"])}</th></tr></thead><tbody>{body}</tbody></table>')


def _level_cell(level: str, idx: int) -> str:
    return f'<i class="level" style="background:{LEVEL_COLOURS[level]}"></i>{html.escape(LEVEL_LABELS[level][idx])}'


def _levels(report: dict, t: dict, idx: int) -> str:
    lv = report["levels"]
    at_end, before, change = lv["at_end"] or {}, lv["before"] or {}, lv["change"] or {}
    rows = []
    for level in (*LEVELS, "total"):
        if level == "total":
            label = html.escape(t["total"])
            end_n = sum(at_end.values()) if at_end else None
            before_n = sum(before.values()) if before else None
            delta = sum(change.values()) if change else None
        else:
            label, end_n, before_n, delta = _level_cell(level, idx), at_end.get(level), before.get(level), \
                change.get(level)
        sign = "" if delta is None else ("up" if delta > 0 else "down" if delta < 0 else "")
        shown = "–" if delta is None else (f"+{delta}" if delta > 0 else str(delta))
        rows.append(f'<tr data-level="{level}"><td>{label}</td><td class="num">{_n(end_n)}</td>'
                    f'<td class="num">{_n(before_n)}</td><td class="num {sign}">{shown}</td></tr>')
    mean = lv.get("mean_score")
    if mean and mean["at_end"] is not None and mean["before"] is not None:
        delta = round(mean["at_end"] - mean["before"], 2)
        sign = "up" if delta > 0 else "down" if delta < 0 else ""
        rows.append(f'<tr data-level="mean_score"><td>{html.escape(t["mean_score"])}</td>'
                    f'<td class="num">{mean["at_end"]:.2f}</td><td class="num">{mean["before"]:.2f}</td>'
                    f'<td class="num {sign}">{delta:+.2f}</td></tr>')
    note = t["levels_note_history"] if lv["history"] else t["levels_note_now"]
    return (f'<table data-section="levels"><thead><tr><th>{html.escape(t["level"])}</th>'
            f'<th>{html.escape(t["at_end"])}</th><th>{html.escape(t["before"])}</th>'
            f'<th>{html.escape(t["change"])}</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
            f'<p class="note">{html.escape(note)}</p>')


def _inspections(report: dict, t: dict, idx: int) -> str:
    ins = report["inspections"]
    head = "".join(f"<th>{html.escape(t[c])}</th>" for c in ("level", "sites", "due", "due_done", "inspected",
                                                               "overdue"))
    rows = []
    for level in (*LEVELS, "total"):
        v = ins["total"] if level == "total" else ins["by_level"][level]
        label = html.escape(t["total"]) if level == "total" else _level_cell(level, idx)
        rows.append(f'<tr data-level="{level}"><td>{label}</td>'
                    + "".join(f'<td class="num">{_n(v[c])}</td>'
                              for c in ("sites", "due", "due_done", "inspected", "overdue_at_end")) + "</tr>")
    share = ins["total"]["done_share"]
    rec = ins["records"]
    pairs = [("records_total", rec["total"], False)]
    pairs += [(name, rec["by_type"][key], True) for key, name in t["types"].items()]
    pairs += [(t["outcomes"][key], rec["by_outcome"][key], True) for key in ("no_findings", "dangers_found",
                                                                            "enforcement", "not_inspected")]
    return (f'<div class="cols"><div><table data-section="inspections"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>'
            f'<p>{html.escape(t["done_share"])}: <b data-item="done_share">'
            f'{"–" if share is None else f"{100 * share:.1f} %"}</b></p>'
            f'<p class="note">{html.escape(t["inspections_note"])}</p></div>'
            f'<div>{_rows(pairs, t, "inspection_records")}</div></div>')


def _detail(reason: dict, t: dict) -> str:
    """A look-back reason's detail: the danger's description, or the measure lifted in words."""
    if reason["record"] == "enforcement_action":
        return t["measures"].get(reason["detail"], reason["detail"])
    return reason["detail"]


def _look_backs(report: dict, t: dict, idx: int) -> str:
    lb = report["look_backs"]
    pairs = [("look_back_done", lb["done"], False), ("waiting", lb["waiting_at_end"], False)]
    pairs += [(label, lb["reasons"][r], True) for r, label in t["reasons"].items()]
    rows = []
    for site in lb["sites"][:WAITING_SHOWN]:
        why = "; ".join(f'{t["reasons"][r["reason"]]} {r["date"]}: {r["source_id"]} {_detail(r, t)}'
                        for r in site["reasons"][:3])
        if len(site["reasons"]) > 3:
            why += " …"
        rows.append(f'<tr data-kind="{site["kind"]}" data-id="{site["id"]}"><td>{html.escape(site["name"] or "")}'
                    f'</td><td>{html.escape(KIND_LABELS[site["kind"]][idx])}</td>'
                    f'<td>{_level_cell(site["level"], idx)}</td><td>{html.escape(why)}</td></tr>')
    more = len(lb["sites"]) - WAITING_SHOWN
    table = (f'<table class="wide" data-section="look_back_sites"><thead><tr><th>{html.escape(t["site"])}</th>'
             f'<th>{html.escape(t["kind"])}</th><th>{html.escape(t["level"])}</th><th>{html.escape(t["why"])}</th>'
             f'</tr></thead><tbody>{"".join(rows)}</tbody></table>' if rows else "")
    if more > 0:
        table += f'<p class="note">{html.escape(t["more"].format(more))}</p>'
    return _rows(pairs, t, "look_backs") + table


def _major_list(report: dict, t: dict, language: str) -> str:
    """The list of major risks and hidden dangers: its counts line and its table, with the columns and labels of
    its own page and spreadsheets (maps/major_risks_page.py)."""
    lst = report["major_list"]
    columns, rows = list_table(lst, language)
    if not rows:
        return f'<p>{html.escape(MAJOR_TEXT[language]["none"])}</p>'
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        f'<tr data-entry="{it["entry"]}">' + "".join(
            f'<td class="num">{_n(v)}</td>' if isinstance(v, (int, float)) and not isinstance(v, bool)
            else f"<td>{html.escape(v.isoformat() if isinstance(v, dt.date) else str(v or ''))}</td>" for v in row)
        + "</tr>" for it, row in zip(lst.items, rows, strict=True))
    counts = html.escape(MAJOR_TEXT[language]["counts"].format(**lst.counts))
    return (f'<p data-section="major_list_counts">{counts}</p><table class="wide major" data-section="major_list">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def monthly_report_page(report: dict, language: str = "zh", generated_at: dt.datetime | None = None) -> str:
    """The report as one printable HTML page in ``language`` (zh or en)."""
    if language not in TEXT:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    t, e, idx = TEXT[language], html.escape, 0 if language == "zh" else 1
    area = report["area"]
    d, enf, acc = report["hidden_dangers"], report["enforcement"], report["accidents"]
    dangers = _rows([(k, d[k], k.endswith("major") or k.endswith("major_at_end"))
                     for k in ("found", "found_major", "rectified", "verified", "reopened", "open_at_end",
                               "open_major_at_end", "overdue_at_end", "overdue_major_at_end")], t, "hidden_dangers")
    enforcement = _rows([("decided", enf["decided"], False),
                         *((label, enf["by_measure"][m], True) for m, label in t["measures"].items()),
                         ("fines", enf["fines_yuan"], False), ("lifted", enf["lifted"], False),
                         ("suspensions_lifted", enf["suspensions_lifted"], True),
                         ("in_force_at_end", enf["in_force_at_end"], False),
                         ("suspended_at_end", enf["suspended_at_end"], True)], t, "enforcement")
    accidents = _rows([("accident_total", acc["total"], False),
                       *((label, acc["by_class"][c], True) for c, label in t["classes"].items()),
                       ("deaths", acc["deaths"], False), ("serious_injuries", acc["serious_injuries"], False)],
                      t, "accidents")
    major = _major_list(report, t, language)
    made = (generated_at or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    title = f'{t["title"]} · {area["name"]} ({area["admin_code"]}) · {report["month"]}'
    synthetic = f'<p class="synthetic">{e(t["synthetic"])}</p>' if report["synthetic"] else ""
    return f"""<!DOCTYPE html>
<html lang="{"zh-CN" if language == "zh" else "en"}">
<head><meta charset="utf-8"><title>{e(title)}</title><link rel="icon" href="data:,"><style>{STYLE}</style></head>
<body data-area="{e(area["admin_code"])}" data-month="{e(report["month"])}">
<h1>{e(title)}</h1>
<p class="sub">{e(t["period"])} {report["period"]["from"]} – {report["period"]["to"]} · {e(t["made"])} {made}</p>
{synthetic}
<div class="cols"><div><h2>{e(t["levels"])}</h2>
{_levels(report, t, idx)}</div>
<div><h2>{e(t["dangers"])}</h2>{dangers}</div></div>
<h2>{e(t["inspections"])}</h2>
{_inspections(report, t, idx)}
<h2>{e(t["look_backs"])}</h2>
{_look_backs(report, t, idx)}
<div class="cols"><div><h2>{e(t["enforcement"])}</h2>{enforcement}</div>
<div><h2>{e(t["accidents"])}</h2>{accidents}</div></div>
<h2>{e(t["major_list"])}</h2>
{major}
</body>
</html>"""
