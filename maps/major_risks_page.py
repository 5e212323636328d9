"""The list of major risks and hidden dangers (重大风险和隐患清单) as a table for people: the rows of the printable
page, which the CSV and XLSX of GET /major-risks and `riskmap major-risks` hold too (``list_table``), and the page
itself (``major_risks_page``): one self-contained HTML file, no script, no stylesheet or image to fetch, that
prints on A4 landscape with the table's header repeated on every sheet."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from geo.lists.major_risks import MajorRiskList
from maps.main_map import KIND_LABELS, LEVEL_COLOURS, LEVEL_LABELS

TEXT = {
    "zh": {"title": "重大风险和隐患清单", "everywhere": "全部区域", "as_of": "截至", "made": "riskmap 生成",
           "entries": {"major_risk": "风险点", "major_hidden_danger": "重大事故隐患"},
           "counts": "红色、橙色风险点 {major_risk} 处（红 {red}，橙 {orange}）；"
                     "未整改重大事故隐患 {major_hidden_danger} 项（逾期 {overdue} 项）",
           "columns": ("序号", "类别", "名称", "编号", "场所类型", "风险等级", "所在区县", "风险因素 / 隐患内容",
                       "责任单位", "责任人", "监管部门", "整改期限", "逾期天数", "管控 / 整改措施"),
           "status": {"open": "未整改", "reopened": "整改后复发", "rectified": "已整改", "verified": "已验收"},
           "overdue": "逾期 {} 天", "none": "清单为空：没有红色、橙色风险点，也没有未整改的重大事故隐患。",
           "synthetic": "演示数据（合成），非真实企业", "other": "English", "unscored": "未评分",
           "rules": "说明：风险点为评分达到红色（重大）或橙色（较大）的场所，因素为得分最高的三项；隐患为状态未整改或"
                    "整改后复发的重大事故隐患，逾期指已过整改期限。责任单位、责任人取隐患记录，未填写时取场所登记信息"
                    "（管道取运营单位，企业取企业本身）。监管部门取场所登记的监管部门；未登记时为场所所在区县的"
                    "应急管理局（属地管理）。"},
    "en": {"title": "List of major risks and hidden dangers", "everywhere": "all areas", "as_of": "as of",
           "made": "made by riskmap",
           "entries": {"major_risk": "Risk site", "major_hidden_danger": "Major hidden danger"},
           "counts": "{major_risk} red or orange sites (red {red}, orange {orange}); {major_hidden_danger} open major "
                     "hidden dangers ({overdue} overdue)",
           "columns": ("#", "Entry", "Name", "Id", "Kind", "Risk level", "County", "Why", "Responsible unit",
                       "Responsible person", "Supervising department", "Deadline", "Days overdue", "Measures"),
           "status": {"open": "open", "reopened": "reopened", "rectified": "rectified", "verified": "verified"},
           "overdue": "{} days overdue",
           "none": "The list is empty: no red or orange site and no open major hidden danger.",
           "synthetic": "Synthetic demo data, not real enterprises", "other": "中文", "unscored": "unscored",
           "rules": "Sites are those scored red (major) or orange (high), with the three factors that gave the most "
                    "points; hidden dangers are the major ones open or reopened, overdue when past their deadline. "
                    "The responsible unit and person are the danger record's, else the site register's (for a "
                    "pipeline its operator, for an enterprise the enterprise itself). The supervising department "
                    "is the one the site register names, else the emergency-management bureau of the county "
                    "holding the site (territorial supervision)."},
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


def list_table(lst: MajorRiskList, language: str = "zh") -> tuple[tuple[str, ...], list[list[Any]]]:
    """The list as a table: the column headers in ``language`` and one row per entry (numbers and dates typed,
    text as it is: the spreadsheet writer makes it formula-safe, the page escapes it)."""
    t, idx = TEXT[language], 0 if language == "zh" else 1
    rows = []
    for it in lst.items:
        site, county, danger = it["site"], it["county"] or {}, it["hidden_danger"] or {}
        level = site["level"]
        rows.append([
            it["rank"], t["entries"][it["entry"]], site["name"], site["source_id"], KIND_LABELS[site["kind"]][idx],
            LEVEL_LABELS[level][idx] if level else t["unscored"], county.get("name"), it["why"],
            it["responsible_unit"], it["responsible_person"], it["supervising_department"], it["deadline"],
            danger.get("days_overdue"), it["measures"]])
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
        deadline = _date(it["deadline"])
        if danger.get("overdue"):
            deadline += f'<br><span class="overdue">{e(t["overdue"].format(danger["days_overdue"]))}</span>'
        elif danger:
            deadline += f'<br><small>{e(t["status"][danger["status"]])}</small>'
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
    query = (f"area={e(lst.area['admin_code'])}&amp;" if lst.area else "") + f"as_of={lst.as_of.isoformat()}"
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
{synthetic}
{table}
<p class="note">{e(t["rules"])}</p>
</body>
</html>"""
