"""The inspectors' field form (issue 14 item 8): one small HTML page for a phone, rendered here, and one small script
(maps/static/inspection_form.js) that posts it to the API.

Above the form, what an inspector needs at the gate: the site, its level and the top reasons of its score, its
supervision light and next due date (geo/supervision), and its hidden dangers not yet closed with their deadlines
and the status changes allowed (geo/records/transitions.py).  The form records an inspection and the hidden
dangers found, with photos from the phone's camera.  No map and no library: the page must load on a weak
mobile connection, and everything it loads comes from riskmap itself.
"""

from __future__ import annotations

import datetime as dt
import html
import json

from geo.records.photos import CONTENT_TYPES, DEFAULT_MAX_BYTES
from geo.records.transitions import allowed
from maps import assets
from maps.main_map import LEVEL_COLOURS, LEVEL_LABELS, MEASURE_LABELS
from maps.plan_page import look_back_detail

LIGHT_COLOURS = {"red": "#d7191c", "yellow": "#f2c200", "green": "#1a9641"}
TYPES = ("routine", "special", "comprehensive", "look_back")
OUTCOMES = ("no_findings", "dangers_found", "enforcement", "not_inspected")

TEXT = {
    "zh": {
        "title": "现场检查", "comma": "，", "site_page": "对象详情", "map": "地图", "other_language": "English",
        "kinds": {"enterprise": "企业", "tailings_pond": "尾矿库", "pipeline": "管道", "venue": "人员密集场所"},
        "level": "风险等级", "score": "得分", "unscored": "未评分", "why": "主要因素", "direct_red": "直接判定重大风险",
        "synthetic": "演示数据（合成），非真实对象",
        "supervision": "精准监管", "light": {"red": "红灯", "yellow": "黄灯", "green": "绿灯"},
        "light_reasons": {"open_major_danger": "有未整改重大隐患", "red_level_overdue": "重大风险且检查逾期",
                          "red_level": "重大风险", "inspection_overdue": "检查逾期",
                          "danger_overdue": "隐患逾期未整改"},
        "next_due": "下次检查", "due_now": "应立即检查", "overdue_days": "已逾期 {n} 天",
        "last_inspection": "上次检查", "never": "无记录", "frequency": "检查频次", "months": "每 {n} 个月",
        "look_back": "回头看",
        "enforcement_measures": {k: v[0] for k, v in MEASURE_LABELS.items()},
        "look_back_reasons": {"major_danger_rectified": "重大隐患已整改",
                              "enforcement_lifted": "执法措施解除（复产复工）", "danger_overdue": "隐患逾期未整改"},
        "measure": "可采取的措施（仅限本单位）",
        "measures": {"rectify_by_deadline": "责令限期整改", "suspend_site": "责令本单位停产停业整改",
                     "keep_suspended": "维持停产整顿直至验收"},
        "no_supervision": "尚未评分，无监管建议",
        "dangers": "未销号隐患", "no_dangers": "没有未销号的隐患",
        "grades": {"general": "一般隐患", "major": "重大隐患"},
        "statuses": {"open": "未整改", "rectified": "已整改待验收", "verified": "已验收销号", "reopened": "重新打开"},
        "actions": {"rectified": "标记已整改", "verified": "验收销号", "reopened": "重新打开"},
        "found_on": "发现", "deadline": "整改期限", "no_deadline": "无期限", "overdue": "已逾期",
        "responsible": "责任单位 / 责任人", "photos_n": "照片 {n} 张", "change_on": "变更日期",
        "record": "记录本次检查", "api_key": "令牌（或 API 密钥）",
        "api_key_hint": "写入需要检查员的令牌（riskmap users add 给出）；只保存在本浏览器标签页中，关闭即清除。",
        "inspected_on": "检查日期", "team": "检查组", "inspection_type": "检查类型", "outcome": "检查结果",
        "notes": "备注", "choose": "（未选择）",
        "types": {"routine": "日常检查", "special": "专项检查", "comprehensive": "综合检查", "look_back": "回头看"},
        "outcomes": {"no_findings": "未发现问题", "dangers_found": "发现隐患", "enforcement": "立案处罚",
                     "not_inspected": "未实施检查"},
        "found": "发现的隐患", "add_danger": "＋ 添加隐患", "danger_n": "隐患 {n}", "remove": "删除",
        "remove_danger": "删除此隐患", "deadline_label": "整改期限",
        "description": "隐患描述", "category": "隐患类别", "grade": "隐患等级",
        "responsible_unit": "责任单位", "responsible_person": "责任人", "photos": "照片（拍照或选择）",
        "submit": "提交检查记录", "submit_photos": "继续上传未传的照片",
        # the script's messages
        "sending": "正在提交……", "sent": "已保存：检查记录 {id}，隐患 {n} 条，照片 {p} 张。",
        "view_record": "查看对象详情", "reload": "刷新本页", "new_form": "记录另一次检查",
        "offline": "未能连接服务器，表单内容保留在页面上，请稍后重试。",
        "recorded_photos_left": "检查记录已保存（{id}），但有照片未上传：请重试。",
        "add_photo": "补拍照片（如整改后）", "photo_stored": "照片已保存（共 {n} 张）",
        "already_stored": "本次检查已在此前的提交中保存（当时的回复未收到）。"
                          "请刷新本页查看，照片可在上方的隐患中补传。",
        "changed": "已变更为：{status}", "draft_restored": "已恢复未提交的表单。",
        # the open dangers, compactly: one line each, the rest behind "show all"
        "grade_short": {"general": "一般", "major": "重大"}, "to_verify": "待验收",
        "n_items": "{n} 项，最早 {first}",
        "show_all": "显示全部 {n} 条（另有 {more} 条）", "go_to_form": "记录检查 ↓",
        # photos checked in the page before anything is posted (the server checks them again)
        "photo_too_large": "“{name}”有 {size}，超过上限 {max}，未添加：请压缩或重新拍摄。",
        "photo_empty": "“{name}”是空文件，未添加。",
        "photo_bad_type": "“{name}”不是 JPEG、PNG 或 WebP 图片，未添加：请拍照或选择照片。",
        # the API's errors in plain words; the server's own text stays beside them in small print
        "server_says": "服务器说明：",
        "problems": {"date": "日期无效，请重新选择。", "future": "不能晚于今天。",
                     "deadline_before": "整改期限不能早于发现日期（即检查日期）。",
                     "change_before": "变更日期不能早于隐患发现或上次状态变更的日期。",
                     "before": "日期早于允许的日期。", "required": "必须填写。", "too_long": "内容过长，请删减。",
                     "choice": "所选内容无效，请重新选择。", "invalid": "填写有误，请检查。",
                     "key": "令牌缺失或无效，请重新输入。",
                     "role": "此令牌的角色或地区不允许这项记录（需要检查员及以上，且站点在其地区内）。",
                     "photo_too_large": "照片超过大小上限。", "photo_type": "照片不是 JPEG、PNG 或 WebP 图片。",
                     "conflict": "记录已被他人变更，页面已显示其当前状态。", "server": "服务器暂时出错，请稍后重试。",
                     "other": "提交未成功。"},
        "fix_fields": "未保存：请修改标出的 {n} 处后重新提交。", "not_saved": "未保存：",
    },
    "en": {
        "title": "Field inspection", "comma": ", ", "site_page": "Site page", "map": "Map", "other_language": "中文",
        "kinds": {"enterprise": "Enterprise", "tailings_pond": "Tailings pond", "pipeline": "Pipeline",
                  "venue": "Crowded venue"},
        "level": "Risk level", "score": "score", "unscored": "Not scored", "why": "Main factors",
        "direct_red": "Red by direct rule", "synthetic": "Synthetic demo data, not a real site",
        "supervision": "Precise supervision", "light": {"red": "Red light", "yellow": "Yellow light",
                                                        "green": "Green light"},
        "light_reasons": {"open_major_danger": "open major hidden danger", "red_level_overdue": "red site overdue",
                          "red_level": "red site", "inspection_overdue": "inspection overdue",
                          "danger_overdue": "hidden danger past its deadline"},
        "next_due": "Next inspection", "due_now": "due now", "overdue_days": "overdue by {n} days",
        "last_inspection": "Last inspection", "never": "none known", "frequency": "Frequency",
        "months": "every {n} months", "look_back": "Look-back",
        "enforcement_measures": {k: v[1] for k, v in MEASURE_LABELS.items()},
        "look_back_reasons": {"major_danger_rectified": "major hidden danger rectified",
                              "enforcement_lifted": "enforcement measure lifted (resumption)",
                              "danger_overdue": "hidden danger open past its deadline"},
        "measure": "Measure allowed (this site only)",
        "measures": {"rectify_by_deadline": "order rectification by the deadline",
                     "suspend_site": "order this site to stop until rectified",
                     "keep_suspended": "keep the suspension until verified"},
        "no_supervision": "Not scored yet: no supervision recommendation",
        "dangers": "Hidden dangers not closed", "no_dangers": "No hidden danger waits to be closed",
        "grades": {"general": "general", "major": "major"},
        "statuses": {"open": "open", "rectified": "rectified, to verify", "verified": "verified (closed)",
                     "reopened": "reopened"},
        "actions": {"rectified": "Mark rectified", "verified": "Verify (close)", "reopened": "Reopen"},
        "found_on": "found", "deadline": "deadline", "no_deadline": "no deadline", "overdue": "overdue",
        "responsible": "Responsible unit / person", "photos_n": "photos: {n}", "change_on": "Date of the change",
        "record": "Record this inspection", "api_key": "Token (or API key)",
        "api_key_hint": "Writing needs an inspector's token (from riskmap users add); it is kept in this browser tab "
                        "only, and forgotten when it closes.",
        "inspected_on": "Date", "team": "Team", "inspection_type": "Type", "outcome": "Outcome", "notes": "Notes",
        "choose": "(not chosen)",
        "types": {"routine": "routine", "special": "special", "comprehensive": "comprehensive",
                  "look_back": "look-back"},
        "outcomes": {"no_findings": "no findings", "dangers_found": "hidden dangers found",
                     "enforcement": "enforcement", "not_inspected": "not inspected"},
        "found": "Hidden dangers found", "add_danger": "+ Add a hidden danger", "danger_n": "Hidden danger {n}",
        "remove": "Remove", "remove_danger": "Remove this hidden danger", "deadline_label": "Rectification deadline",
        "description": "Description", "category": "Category", "grade": "Grade",
        "responsible_unit": "Responsible unit", "responsible_person": "Responsible person",
        "photos": "Photos (camera or file)", "submit": "Submit the inspection",
        "submit_photos": "Upload the photos not yet sent",
        "sending": "Sending…", "sent": "Saved: inspection {id}; hidden dangers: {n}; photos: {p}.",
        "view_record": "Site page", "reload": "Reload this page", "new_form": "Record another inspection",
        "offline": "The server could not be reached: the form is kept on this page; try again later.",
        "recorded_photos_left": "The inspection is saved ({id}) but some photos were not uploaded: try again.",
        "add_photo": "Add a photo (e.g. of the rectification)", "photo_stored": "Photo stored ({n} in all)",
        "already_stored": "This inspection was stored by an earlier attempt whose answer was lost. Reload the page "
                          "to see it; photos can be added to its hidden dangers there.",
        "changed": "Now: {status}", "draft_restored": "An unsent form was restored.",
        "grade_short": {"general": "general", "major": "MAJOR"}, "to_verify": "to verify",
        "n_items": "{n}, the first {first}",
        "show_all": "Show all {n} ({more} more)", "go_to_form": "Record ↓",
        "photo_too_large": "“{name}” is {size}, over the limit of {max}: not added. Make it smaller or take it "
                           "again.",
        "photo_empty": "“{name}” is an empty file: not added.",
        "photo_bad_type": "“{name}” is not a JPEG, PNG or WebP image: not added. Take a photo or choose one.",
        "server_says": "Server: ",
        "problems": {"date": "not a valid date: choose it again.", "future": "cannot be after today.",
                     "deadline_before": "the deadline cannot be before the date found (the inspection's date).",
                     "change_before": "the date cannot be before the danger was found or last changed.",
                     "before": "the date is too early.", "required": "must be filled in.",
                     "too_long": "too long: shorten it.", "choice": "not a valid choice: choose again.",
                     "invalid": "not valid: check it.", "key": "the token is missing or not valid: type it again.",
                     "role": "this token's role or areas do not allow this record (an inspector or above, of "
                             "the site's area).",
                     "photo_too_large": "the photo is over the size limit.",
                     "photo_type": "the photo is not a JPEG, PNG or WebP image.",
                     "conflict": "someone else changed this record: the page now shows it as it is.",
                     "server": "the server had a problem: try again later.", "other": "not sent."},
        "fix_fields": "Not saved: correct the {n} marked field(s) and submit again.", "not_saved": "Not saved: ",
    },
}
# Suggestions for the free-text category (the common split of hidden dangers in inspection forms).
CATEGORIES = {"zh": ("基础管理", "现场管理", "设备设施", "作业环境", "人员操作", "消防安全", "危险化学品", "用电安全"),
              "en": ("management", "on-site management", "equipment", "work environment", "operation",
                     "fire safety", "hazardous chemicals", "electrical")}
# What the script needs of the texts.
SCRIPT_TEXT = ("statuses", "actions", "sending", "sent", "view_record", "reload", "new_form", "offline",
               "recorded_photos_left", "changed", "draft_restored", "danger_n", "remove", "submit",
               "submit_photos", "photo_stored", "already_stored", "photo_too_large", "photo_empty",
               "photo_bad_type", "server_says", "problems", "fix_fields", "not_saved")
# The open dangers listed in full above the form; the rest wait behind "show all" (so that with many open
# dangers the form still starts within the first screen or two of a phone).
DANGERS_SHOWN = 3


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _date(value) -> str:
    return value.isoformat() if isinstance(value, dt.date) else _e(value)


def inspection_form(feature: dict, supervision: dict | None, dangers: list[dict], as_of: dt.date,
                    language: str = "zh", static_url: str = assets.STATIC_URL,
                    photo_max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The field form of one site: ``feature`` as GET /features/{kind}/{id} explains it, ``supervision`` its
    recommendation on ``as_of`` (GET /supervision/{kind}/{id}; None when it is not scored), ``dangers`` its hidden
    dangers not yet closed (geo.records.store.site_dangers).  ``photo_max_bytes`` is the server's limit of a photo
    (the setting photo_max_mb): the page refuses a larger one, or one of another type than the server takes,
    before posting it.  The date inputs offer no day after ``as_of`` (the API refuses dates after today)."""
    if language not in TEXT:
        raise ValueError(f"unknown language {language!r}; the languages are: {', '.join(TEXT)}")
    t = TEXT[language]
    p = feature["properties"]
    kind, fid = p["kind"], p["id"]
    other = "en" if language == "zh" else "zh"
    config = {"kind": kind, "id": fid, "as_of": as_of.isoformat(), "lang": language,
              "photo_max_bytes": int(photo_max_bytes), "photo_types": list(CONTENT_TYPES),
              "text": {k: t[k] for k in SCRIPT_TEXT}}
    # JSON inside <script>: no "</" may end the element early
    config_json = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
    return f"""<!DOCTYPE html>
<html lang="{"zh-CN" if language == "zh" else "en"}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(t["title"])} · {_e(p["name"])}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{static_url}/inspection_form.css">
</head>
<body>
<main class="rm-inspect" data-kind="{_e(kind)}" data-id="{int(fid)}" data-as-of="{as_of.isoformat()}">
<nav><a href="/features/{_e(kind)}/{int(fid)}?format=html&amp;lang={language}">{_e(t["site_page"])}</a>
  <a href="/?lang={language}">{_e(t["map"])}</a>
  <a href="?lang={other}&amp;as_of={as_of.isoformat()}" lang="{other}">{_e(t["other_language"])}</a>
  <a href="#rm-record" class="rm-go-form">{_e(t["go_to_form"])}</a></nav>
{_site(p, t, language)}
{_supervision(supervision, t)}
{_dangers(dangers, as_of, t)}
{_form(as_of, supervision, t, language)}
</main>
<script type="application/json" id="rm-inspect-config">{config_json}</script>
<script src="{static_url}/inspection_form.js"></script>
</body>
</html>
"""


def _site(p: dict, t: dict, language: str) -> str:
    level = p.get("level")
    colour = LEVEL_COLOURS.get(level, "#888888")
    level_label = LEVEL_LABELS[level][0 if language == "zh" else 1] if level else t["unscored"]
    factors = sorted((f for f in p.get("factors") or [] if (f.get("points") or 0) > 0),
                     key=lambda f: -(f.get("points") or 0))[:3]
    why = "".join(f"<li>{_e(f.get('title') or f['factor'])} <b>+{float(f['points']):.4g}</b></li>" for f in factors)
    direct = f'<p class="rm-direct">{_e(t["direct_red"])}: {_e(p["direct_red"])}</p>' if p.get("direct_red") else ""
    synthetic = f'<p class="rm-synthetic">{_e(t["synthetic"])}</p>' if p.get("synthetic") else ""
    score = f' · {_e(t["score"])} {_e(p.get("score"))}' if p.get("score") is not None else ""
    return f"""<header class="rm-site" data-level="{_e(level)}">
  <h1><i class="rm-swatch" style="background:{colour}"></i>{_e(p["name"])}</h1>
  <p class="rm-sub">{_e(t["kinds"][p["kind"]])} · {_e(p.get("source_id"))}</p>
  {synthetic}
  <p class="rm-level"><b>{_e(t["level"])}: {_e(level_label)}</b>{score}</p>
  {direct}
  {f'<p class="rm-why-title">{_e(t["why"])}</p><ol class="rm-why">{why}</ol>' if why else ""}
</header>"""


def _supervision(s: dict | None, t: dict) -> str:
    if s is None:
        return f'<section class="rm-supervision" data-light=""><p>{_e(t["no_supervision"])}</p></section>'
    light = s["light"]
    reasons = t["comma"].join(t["light_reasons"].get(r, r) for r in s["light_reasons"])
    due = _e(s["next_due"]) if s["next_due"] else _e(t["due_now"])
    if s["overdue"] and s["next_due"]:
        due += f' <b class="rm-overdue">{_e(t["overdue_days"].format(n=s["days_overdue"]))}</b>'
    rows = [(t["next_due"], due),
            (t["last_inspection"], _e(s["last_inspection"] or t["never"])),
            (t["frequency"], _e(t["months"].format(n=s["frequency_months"])))]
    if s["look_back"]:
        rows.append((t["look_back"], _look_back(s["look_back"], t)))
    if s["measure"]:
        m = s["measure"]
        rows.append((t["measure"], _e(t["measures"].get(m["action"], m["action"]))
                     + (f' ({_e(t["deadline"])} {_e(m["deadline"])})' if m.get("deadline") else "")))
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in rows)
    return f"""<section class="rm-supervision" data-light="{_e(light)}" data-next-due="{_e(s["next_due"])}">
  <h2>{_e(t["supervision"])}</h2>
  <p class="rm-light"><i style="background:{LIGHT_COLOURS.get(light, "#888")}"></i><b>{_e(t["light"][light])}</b>
    {f"<span>{_e(reasons)}</span>" if reasons else ""}</p>
  <dl>{dl}</dl>
</section>"""


def _look_back(look_back: list[dict], t: dict) -> str:
    """Why the site is a look-back site: a reason given once is one line; one given many times (each overdue
    danger) is one line with its count and earliest date, its items behind a tap (a site with 14 overdue dangers
    would otherwise push the form several screens down)."""
    by_reason: dict[str, list[dict]] = {}
    for lb in look_back:
        by_reason.setdefault(lb["reason"], []).append(lb)
    lines = []
    for reason, items in by_reason.items():
        label = _e(t["look_back_reasons"].get(reason, reason))
        entries = [f'{_e(lb["date"])}: {_e(look_back_detail(lb, t))}' for lb in items]
        if len(items) == 1:
            lines.append(f"<div>{label} {entries[0]}</div>")
        else:
            first = min(str(lb["date"]) for lb in items)
            lines.append(f'<details class="rm-look-back"><summary>{label} · '
                         f'{_e(t["n_items"].format(n=len(items), first=first))}</summary>'
                         f'{"".join(f"<div>{e}</div>" for e in entries)}</details>')
    return "".join(lines)


def _dangers(dangers: list[dict], as_of: dt.date, t: dict) -> str:
    """The hidden dangers not yet closed, one line each (a <details> that opens on a tap to its dates, responsible
    unit and buttons); past the first few, the rest wait behind "show all", so that the form starts high on a phone
    even for a site with many open dangers."""
    if not dangers:
        return f"""<section class="rm-dangers">
  <h2>{_e(t["dangers"])} <small>(0)</small></h2>
  <p class="rm-none">{_e(t["no_dangers"])}</p>
</section>"""
    shown = "".join(_danger_card(d, as_of, t) for d in dangers[:DANGERS_SHOWN])
    rest = dangers[DANGERS_SHOWN:]
    more = (f'<details class="rm-more"><summary>{_e(t["show_all"].format(n=len(dangers), more=len(rest)))}'
            f'</summary>{"".join(_danger_card(d, as_of, t) for d in rest)}</details>') if rest else ""
    return f"""<section class="rm-dangers">
  <h2>{_e(t["dangers"])} <small>({len(dangers)})</small></h2>
  {shown}{more}
</section>"""


def _danger_card(d: dict, as_of: dt.date, t: dict) -> str:
    overdue = d["status"] in ("open", "reopened") and d["deadline"] is not None and d["deadline"] < as_of
    deadline = (f'<span class="rm-deadline">{_e(t["deadline"])} {_date(d["deadline"])}'
                f'<b class="rm-late"> · {_e(t["overdue"])}</b></span>' if d["deadline"] else _e(t["no_deadline"]))
    who = " / ".join(_e(x) for x in (d["responsible_unit"], d["responsible_person"]) if x)
    buttons = "".join(f'<button type="button" class="rm-action" data-status="{s}">{_e(t["actions"][s])}</button>'
                      for s in allowed(d["status"]))
    photos = f' · <span class="rm-photo-count">{_e(t["photos_n"].format(n=d["photos"]))}</span>' if d["photos"] else ""
    # the one line: grade, description (cut to the width), and the deadline (red when overdue) or "to verify"
    # once rectified; the style sheet picks which by the card's data-status, which the script keeps up to date
    when = f'<span class="rm-when">{_date(d["deadline"])}</span>' if d["deadline"] else ""
    return f"""<details class="rm-danger" data-danger-id="{int(d["id"])}" data-status="{_e(d["status"])}"
  data-grade="{_e(d["grade"])}" data-overdue="{str(overdue).lower()}">
  <summary><span class="rm-grade rm-grade-{_e(d["grade"])}">{_e(t["grade_short"][d["grade"]])}</span>
    <span class="rm-line">{_e(d["description"])}</span>{when}<span class="rm-to-verify">{_e(t["to_verify"])}</span>
  </summary>
  <p><span class="rm-status">{_e(t["statuses"][d["status"]])}</span>
    {f'<span class="rm-category">{_e(d["category"])}</span>' if d["category"] else ""}</p>
  <p>{_e(t["found_on"])} {_date(d["found_on"])} · {deadline}{photos}</p>
  {f'<p>{_e(t["responsible"])}: {who}</p>' if who else ""}
  <div class="rm-actions">
    <label class="rm-field" data-field="on" data-label="{_e(t["change_on"])}">{_e(t["change_on"])}
      <input type="date" name="on" value="{as_of.isoformat()}" max="{as_of.isoformat()}">
      <span class="rm-error"></span></label>
    <div class="rm-buttons">{buttons}</div>
  </div>
  <p class="rm-message" role="alert"></p>
  <div class="rm-field" data-field="file" data-label="{_e(t["add_photo"])}">
    <label for="f-photo-{int(d["id"])}">{_e(t["add_photo"])}</label>
    <input id="f-photo-{int(d["id"])}" type="file" name="photo" accept="image/*" capture="environment">
    <span class="rm-error" role="alert"></span></div>
</details>"""


def _field(name: str, label: str, control: str, hint: str = "") -> str:
    """A form field: its label, control and the place for the API's error about it (data-field names the body
    member the API reports, e.g. hidden_dangers.0.deadline)."""
    hint_html = f'<small class="rm-hint">{_e(hint)}</small>' if hint else ""
    return (f'<div class="rm-field" data-field="{name}" data-label="{_e(label)}"><label for="f-{name}">{_e(label)}'
            f'</label>{control}'
            f'{hint_html}<span class="rm-error" role="alert"></span></div>')


def _options(values, labels: dict, selected: str | None, blank: str | None = None) -> str:
    out = f'<option value="">{_e(blank)}</option>' if blank is not None else ""
    return out + "".join(f'<option value="{v}"{" selected" if v == selected else ""}>{_e(labels[v])}</option>'
                         for v in values)


def _form(as_of: dt.date, supervision: dict | None, t: dict, language: str) -> str:
    # a look-back site is most likely being inspected for its look-back
    kind = "look_back" if supervision and supervision["look_back"] else "routine"
    categories = "".join(f'<option value="{_e(c)}">' for c in CATEGORIES[language])
    danger = f"""<fieldset class="rm-found-danger">
  <legend></legend>
  {_field("description", t["description"], '<textarea id="f-description" name="description" rows="3"></textarea>')}
  {_field("category", t["category"], '<input id="f-category" name="category" list="rm-categories">')}
  {_field("grade", t["grade"], '<select id="f-grade" name="grade">'
          + _options(("general", "major"), t["grades"], "general") + "</select>")}
  {_field("deadline", t["deadline_label"], '<input id="f-deadline" type="date" name="deadline" max="9999-12-31">')}
  {_field("responsible_unit", t["responsible_unit"], '<input id="f-responsible_unit" name="responsible_unit">')}
  {_field("responsible_person", t["responsible_person"],
          '<input id="f-responsible_person" name="responsible_person">')}
  {_field("photos", t["photos"], '<input id="f-photos" type="file" name="photos" accept="image/*" '
          'capture="environment">')}
  <ul class="rm-photo-list"></ul>
  <button type="button" class="rm-remove">{_e(t["remove_danger"])}</button>
</fieldset>"""
    return f"""<section class="rm-record" id="rm-record">
<h2>{_e(t["record"])}</h2>
<form id="rm-inspection" novalidate>
  {_field("api_key", t["api_key"], '<input id="f-api_key" type="password" name="api_key" autocomplete="off" '
          'spellcheck="false">', t["api_key_hint"])}
  {_field("inspected_on", t["inspected_on"], f'<input id="f-inspected_on" type="date" name="inspected_on" '
          f'value="{as_of.isoformat()}" max="{as_of.isoformat()}">')}
  {_field("team", t["team"], '<input id="f-team" name="team" autocomplete="on">')}
  {_field("inspection_type", t["inspection_type"], '<select id="f-inspection_type" name="inspection_type">'
          + _options(TYPES, t["types"], kind) + "</select>")}
  {_field("outcome", t["outcome"], '<select id="f-outcome" name="outcome">'
          + _options(OUTCOMES, t["outcomes"], None, t["choose"]) + "</select>")}
  {_field("notes", t["notes"], '<textarea id="f-notes" name="notes" rows="3"></textarea>')}
  <h3>{_e(t["found"])}</h3>
  <div id="rm-found"></div>
  <button type="button" id="rm-add-danger" class="rm-secondary">{_e(t["add_danger"])}</button>
  <p class="rm-message" id="rm-form-message" role="alert"></p>
  <button type="submit" class="rm-primary">{_e(t["submit"])}</button>
  <div class="rm-done" id="rm-done" hidden></div>
</form>
<datalist id="rm-categories">{categories}</datalist>
<template id="rm-danger-template">{danger}</template>
</section>"""
