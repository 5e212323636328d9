"""The list of major risks and hidden dangers (重大风险和隐患清单) as a table for people: the rows of the printable
page, which the CSV and XLSX of GET /major-risks and `riskmap major-risks` hold too (``list_table``), and the page
itself (``major_risks_page``): one self-contained HTML file, no script, no stylesheet or image to fetch, that
prints on A4 landscape with the table's header repeated on every sheet."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from geo.lists.major_risks import MajorRiskList, supervision_measures
from maps.main_map import KIND_LABELS, LEVEL_COLOURS, LEVEL_LABELS

TEXT = {
    "zh": {"title": "重大风险和隐患清单", "everywhere": "全部区域", "as_of": "截至", "made": "riskmap 生成",
           "entries": {"major_risk": "风险点", "major_hidden_danger": "重大事故隐患"},
           "counts": "红色、橙色风险点 {major_risk} 处（红 {red}，橙 {orange}）；"
                     "未整改重大事故隐患 {major_hidden_danger} 项（逾期 {overdue} 项）",
           "columns": ("序号", "类别", "名称", "编号", "场所类型", "风险等级", "所在区县", "风险因素 / 隐患内容",
                       "责任单位", "责任人", "监管部门", "整改期限 / 下次检查", "逾期天数", "管控 / 整改措施"),
           "status": {"open": "未整改", "reopened": "整改后复发", "rectified": "已整改", "verified": "已验收"},
           "overdue": "逾期 {} 天", "inspection_overdue": "检查逾期 {} 天", "due_now": "应立即检查",
           "next_inspection": "下次检查", "not_registered": "未登记", "filtered": "筛选",
           "filters": {"kind": "场所类型", "level": "风险等级", "status": "隐患状态", "entry": "类别",
                       "found_from": "隐患发现日期自", "found_to": "隐患发现日期至"},
           "none": "清单为空：没有红色、橙色风险点，也没有未整改的重大事故隐患。",
           "synthetic": "演示数据（合成），非真实企业", "other": "English", "unscored": "未评分",
           "rules": "说明：风险点为评分达到红色（重大）或橙色（较大）的场所，因素为得分最高的三项；隐患为状态未整改或"
                    "整改后复发的重大事故隐患，逾期指已过整改期限。责任单位、责任人取隐患记录，未填写时取场所登记信息"
                    "（管道取运营单位，企业取企业本身）。监管部门取场所登记的监管部门；未登记时为场所所在区县的"
                    "应急管理局（属地管理）。风险点的期限为精准监管的下次检查日期（上次检查加该等级的检查频次），"
                    "管控措施取场所登记的管控措施，未登记时取精准监管建议（检查频次，有未整改重大事故隐患时为"
                    "对本单位可采取的措施）。未登记责任人的不作推定。"},
    "en": {"title": "List of major risks and hidden dangers", "everywhere": "all areas", "as_of": "as of",
           "made": "made by riskmap",
           "entries": {"major_risk": "Risk site", "major_hidden_danger": "Major hidden danger"},
           "counts": "{major_risk} red or orange sites (red {red}, orange {orange}); {major_hidden_danger} open major "
                     "hidden dangers ({overdue} overdue)",
           "columns": ("#", "Entry", "Name", "Id", "Kind", "Risk level", "County", "Why", "Responsible unit",
                       "Responsible person", "Supervising department", "Deadline / next inspection", "Days overdue",
                       "Measures"),
           "status": {"open": "open", "reopened": "reopened", "rectified": "rectified", "verified": "verified"},
           "overdue": "{} days overdue", "inspection_overdue": "inspection {} days overdue",
           "due_now": "inspect at once", "next_inspection": "next inspection", "not_registered": "not registered",
           "filtered": "filters", "filters": {"kind": "kind", "level": "level", "status": "status", "entry": "entry",
                                              "found_from": "found from", "found_to": "found to"},
           "none": "The list is empty: no red or orange site and no open major hidden danger.",
           "synthetic": "Synthetic demo data, not real enterprises", "other": "中文", "unscored": "unscored",
           "rules": "Sites are those scored red (major) or orange (high), with the three factors that gave the most "
                    "points; hidden dangers are the major ones open or reopened, overdue when past their deadline. "
                    "The responsible unit and person are the danger record's, else the site register's (for a "
                    "pipeline its operator, for an enterprise the enterprise itself). The supervising department "
                    "is the one the site register names, else the emergency-management bureau of the county "
                    "holding the site (territorial supervision). A site's deadline is its next inspection due "
                    "under precise supervision (its last inspection plus its level's frequency); its measures are "
                    "the control measures of its register, else the supervision recommendation (the inspection "
                    "frequency, and for a site with an open major hidden danger the measure allowed for that "
                    "site). No responsible person is assumed where none is registered."},
}
LANGUAGES = tuple(TEXT)

STYLE = """
body {font: 13px/1.4 "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif; margin: 1.5em;
      color: #222;}
h1 {font-size: 1.45em; margin: 0 0 0.2em;} .sub {color: #555; margin: 0 0 0.6em;}
table {border-collapse: collapse; width: 100%;}
th, td {border: 1px solid #aaa; padding: 0.2em 0.35em; text-align: left; vertical-align: top;}
th {background: #eee; white-space: nowrap;} td.num, td.nowrap {text-align: right; white-space: nowrap;}
td.nowrap {text-align: left;} td.why {min-width: 16em; max-width: 24em;} td.measures {max-width: 16em;}
td.id {word-break: break-all; min-width: 5em;}
i.level {display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.3em; border: 1px solid #777;
         vertical-align: -0.05em;}
tr.major_hidden_danger td:nth-child(2) {font-weight: bold;}
.overdue {color: #b00000; font-weight: bold;} .note {color: #555; font-size: 0.9em;}
.synthetic {background: #fff3cd; color: #7a4d00; font-weight: bold; padding: 0.2em 0.5em; display: inline-block;}
small {color: #666;}
i.level, th, .synthetic {print-color-adjust: exact; -webkit-print-color-adjust: exact;}
@page {size: A4 landscape; margin: 10mm;}
@media print {
  body {margin: 0; font-size: 9.5px;} .noprint {display: none;}
  thead {display: table-header-group;} tr {break-inside: avoid;}
  a {color: inherit; text-decoration: none;}
}
"""


def _date(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else ""


def _filter_value(name: str, value: Any, language: str) -> str:
    t, idx = TEXT[language], 0 if language == "zh" else 1
    if isinstance(value, dt.date):
        return value.isoformat()
    label = {"kind": lambda v: KIND_LABELS[v][idx], "level": lambda v: LEVEL_LABELS[v][idx],
             "status": lambda v: t["status"][v], "entry": lambda v: t["entries"][v]}[name]
    return "、".join(map(label, value)) if language == "zh" else ", ".join(map(label, value))


def filters_text(lst: MajorRiskList, language: str = "zh") -> str:
    """The filters the list was made with, as one line in ``language`` (empty without filters)."""
    t = TEXT[language]
    sep, colon = ("；", "：") if language == "zh" else ("; ", ": ")
    parts = [f'{t["filters"][k]} {_filter_value(k, v, language)}' for k, v in lst.filters.items()]
    return f'{t["filtered"]}{colon}{sep.join(parts)}' if parts else ""


def filters_query(lst: MajorRiskList) -> str:
    """The filters as query parameters (``&name=value`` each), for the page's links."""
    return "".join(f"&{k}={v.isoformat() if isinstance(v, dt.date) else ','.join(v)}"
                   for k, v in lst.filters.items())


def list_table(lst: MajorRiskList, language: str = "zh") -> tuple[tuple[str, ...], list[list[Any]]]:
    """The list as a table: the column headers in ``language`` and one row per entry (numbers and dates typed,
    text as it is: the spreadsheet writer makes it formula-safe, the page escapes it).  A site's measures written
    from its supervision recommendation are written in ``language``; an empty responsible unit, person or
    supervising department reads "未登记" / "not registered"."""
    t, idx = TEXT[language], 0 if language == "zh" else 1
    rows = []
    for it in lst.items:
        site, county, danger = it["site"], it["county"] or {}, it["hidden_danger"] or {}
        level = site["level"]
        measures = it["measures"]
        if it.get("measures_source") == "supervision" and it.get("supervision"):
            measures = supervision_measures(it["supervision"], level, language)
        unregistered = t["not_registered"]
        rows.append([
            it["rank"], t["entries"][it["entry"]], site["name"], site["source_id"], KIND_LABELS[site["kind"]][idx],
            LEVEL_LABELS[level][idx] if level else t["unscored"], county.get("name"), it["why"],
            it["responsible_unit"] or unregistered, it["responsible_person"] or unregistered,
            it["supervising_department"] or unregistered, it["deadline"], danger.get("days_overdue"), measures])
    return t["columns"], rows


def major_risks_page(lst: MajorRiskList, language: str = "zh", links: bool = True,
                     generated_at: dt.datetime | None = None) -> str:
    """The list as one printable HTML page in ``language`` (zh or en).  ``links``: each site's name links to its
    page on this server (a page written to a file for use elsewhere has none)."""
    if language not in TEXT:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    t, e, idx = TEXT[language], html.escape, 0 if language == "zh" else 1
    columns, rows = list_table(lst, language)
    body_rows = []
    for it, row in zip(lst.items, rows, strict=True):
        site, danger = it["site"], it["hidden_danger"] or {}
        name = e(site["name"] or "")
        if links and site["name"]:
            name = f'<a href="/features/{e(site["kind"])}/{site["id"]}?format=html&amp;lang={language}">{name}</a>'
        level = site["level"]
        level_cell = (f'<i class="level" style="background:{LEVEL_COLOURS[level]}"></i>{e(LEVEL_LABELS[level][idx])}'
                      if level else e(t["unscored"]))
        deadline, sup = _date(it["deadline"]), it.get("supervision")
        if danger.get("overdue"):
            deadline += f'<br><span class="overdue">{e(t["overdue"].format(danger["days_overdue"]))}</span>'
        elif danger:
            deadline += f'<br><small>{e(t["status"][danger["status"]])}</small>'
        elif sup and sup["next_due"] is None:
            deadline = f'<span class="overdue">{e(t["due_now"])}</span>'
        elif sup and sup["overdue"]:
            deadline += (f'<br><span class="overdue">{e(t["inspection_overdue"].format(sup["days_overdue"]))}'
                         f"</span>")
        elif sup:
            deadline += f'<br><small>{e(t["next_inspection"])}</small>'
        cells = [f'<td class="num">{it["rank"]}</td>', f'<td class="nowrap">{e(row[1])}</td>', f"<td>{name}</td>",
                 f'<td class="id"><small>{e(site["source_id"] or "")}</small></td>', f"<td>{e(row[4])}</td>",
                 f'<td class="nowrap">{level_cell}</td>', f'<td class="nowrap">{e(row[6] or "")}</td>',
                 f'<td class="why">{e(row[7] or "")}</td>',
                 f'<td>{e(row[8] or "")}</td>', f'<td>{e(row[9] or "")}</td>', f'<td>{e(row[10] or "")}</td>',
                 f"<td>{deadline}</td>", f'<td class="num">{row[12] if row[12] is not None else ""}</td>',
                 f'<td class="measures">{e(row[13] or "")}</td>']
        body_rows.append(f'<tr class="{it["entry"]}" data-entry="{it["entry"]}" data-kind="{e(site["kind"])}" '
                         f'data-id="{site["id"]}" data-danger="{danger.get("id", "")}">{"".join(cells)}</tr>')
    head = "".join(f"<th>{e(c)}</th>" for c in columns)
    table = (f'<table class="riskmap-major-risks"><thead><tr>{head}</tr></thead><tbody>{"".join(body_rows)}</tbody>'
             f"</table>" if body_rows else f'<p class="riskmap-empty">{e(t["none"])}</p>')
    area = lst.area["name"] + f' ({lst.area["admin_code"]})' if lst.area else t["everywhere"]
    made = (generated_at or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    other = "en" if language == "zh" else "zh"
    query = ((f"area={e(lst.area['admin_code'])}&amp;" if lst.area else "") + f"as_of={lst.as_of.isoformat()}"
             + e(filters_query(lst)))
    filtered = filters_text(lst, language)
    filtered = f'<p class="sub filters">{e(filtered)}</p>' if filtered else ""
    switch = (f'<p class="noprint"><a href="/major-risks?{query}&amp;format=html&amp;lang={other}">'
              f'{e(t["other"])}</a></p>' if links else "")
    synthetic = (f'<p class="synthetic">{e(t["synthetic"])}</p>' if any(it["synthetic"] for it in lst.items)
                 else "")
    title = f'{t["title"]} · {area}'
    lang_attr = "zh-CN" if language == "zh" else "en"
    return f"""<!DOCTYPE html>
<html lang="{lang_attr}">
<head><meta charset="utf-8"><title>{e(title)}</title><link rel="icon" href="data:,"><style>{STYLE}</style></head>
<body>
{switch}
<h1>{e(title)}</h1>
<p class="sub">{e(t["as_of"])} {lst.as_of.isoformat()} · {e(t["counts"].format(**lst.counts))} · {e(t["made"])}
  {made}</p>
{filtered}
{synthetic}
{table}
<p class="note">{e(t["rules"])}</p>
</body>
</html>"""
