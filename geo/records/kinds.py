"""The campaign's record kinds (migration 0013), described once, as the feature kinds are in geo/kinds.py: their
attributes with types, ranges, Chinese column names and Chinese values.  The importer validates files against
them, the API's bodies become rows of them, and the record pages read their columns.

A record names its site by ``site_kind`` and either ``site_id`` (riskmap's id) or ``site_source_id`` (the site's
own register id, resolved to riskmap's on import); a hidden danger may instead name the inspection that found it
(``inspection_id`` or ``inspection_source_id``) and take its site.  Only accidents have a geometry (a point);
the other records are located by their site.  Columns a file has that no attribute takes are kept in the
record's ``props``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from geo.dates import refuse_ahead
from geo.kinds import Attribute, FeatureKind, _enum

if TYPE_CHECKING:
    import datetime as dt

    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from geo.errors import ImportReport

SITE_KINDS = _enum(
    ("enterprise", ("企业", "生产经营单位", "company")),
    ("tailings_pond", ("尾矿库", "pond")),
    ("pipeline", ("管道", "油气管道", "输油管道", "输气管道")),
    ("venue", ("人员密集场所", "场所")),
)

INSPECTION_TYPES = _enum(
    ("routine", ("日常检查", "例行检查", "日常", "常规检查")),
    ("special", ("专项检查", "专项", "专项整治")),
    ("comprehensive", ("综合检查", "综合", "全面检查")),
    ("look_back", ("回头看", "复查", "look-back", "lookback")),
)

OUTCOMES = _enum(
    ("no_findings", ("未发现问题", "无隐患", "未发现隐患", "合格")),
    ("dangers_found", ("发现隐患", "存在隐患", "有隐患")),
    ("enforcement", ("立案处罚", "行政处罚", "执法", "采取执法措施")),
    ("not_inspected", ("未检查", "未实施检查", "停产未检")),
)

GRADES = _enum(  # domain.md §8: 《安全生产事故隐患排查治理暂行规定》
    ("general", ("一般", "一般隐患", "一般事故隐患")),
    ("major", ("重大", "重大隐患", "重大事故隐患")),
)

STATUSES = _enum(  # geo/records/transitions.py
    ("open", ("未整改", "待整改", "整改中", "未销号", "新发现")),
    ("rectified", ("已整改", "整改完成", "待验收", "待核查")),
    ("verified", ("已验收", "已核查", "已销号", "验收通过", "销号")),
    ("reopened", ("重新打开", "复发", "反弹", "整改不合格")),
)

MEASURES = _enum(
    ("rectify_order", ("责令整改", "责令限期整改", "限期整改", "责令改正")),
    ("suspension", ("停产整顿", "停产停业整顿", "责令停产停业", "停产停业", "停业整顿")),
    ("closure", ("关闭取缔", "关闭", "取缔", "提请关闭")),
    ("fine", ("罚款", "处罚款")),
)

ACCIDENT_CLASSES = _enum(  # geo/records/accident_class.py
    ("general", ("一般", "一般事故")),
    ("relatively_serious", ("较大", "较大事故")),
    ("serious", ("重大", "重大事故")),
    ("especially_serious", ("特别重大", "特别重大事故")),
)

_site_kind = Attribute("site_kind", "enum", "The class of the site: enterprise, tailings_pond, pipeline or venue.",
                       values=SITE_KINDS, aliases=("对象类型", "场所类型", "site_type"))
_site_id = Attribute("site_id", "integer", "The site's riskmap id.", 1, 2**63 - 1, aliases=("对象ID",))
_site_source_id = Attribute("site_source_id", "text", "The site's own register id (its source_id), resolved to "
                            "its riskmap id on import.",
                            aliases=("企业编号", "单位编号", "对象编号", "场所编号", "尾矿库编号", "管道编号",
                                     "site_code"))
_notes = Attribute("notes", "text", "Notes.", aliases=("备注", "说明"))


@dataclass(frozen=True)
class RecordKind(FeatureKind):
    """A record kind: a FeatureKind without a name column, with the importer's hooks filled in.

    ``id_names`` are further spellings of the record's own id column; ``resolves`` maps an attribute read from
    files but not stored (a source id) to the column it is resolved into; ``always_written`` are columns every
    import writes, whether the file has them or not (resolved or derived, e.g. an accident's class);
    ``checker`` checks a chunk's values across fields (pure); ``resolver`` looks up what the rows name in the
    database."""

    id_names: tuple[str, ...] = ()  # the record's own id column, beyond the common spellings (column_plan.ID_NAMES)
    resolves: tuple[tuple[str, str], ...] = ()
    always_written: tuple[str, ...] = ()
    checker: Callable | None = None
    resolver: Callable | None = None
    named: ClassVar[bool] = False

    def written_columns(self, columns: list[str]) -> list[str]:
        resolved = dict(self.resolves)
        out: list[str] = []
        for c in columns:
            c = resolved.get(c, c)
            if c not in out:
                out.append(c)
        tail = [c for c in ("props", "synthetic", "geom") if c in out]
        body = [c for c in out if c not in tail]
        if "site_kind" in body or "site_id" in body:  # a site is written whole (the table checks both or none)
            body += [c for c in ("site_kind", "site_id") if c not in body]
        body += [c for c in self.always_written if c not in body]
        return body + tail

    def check_rows(self, values: dict[str, pd.Series], rows: np.ndarray, report: ImportReport,
                   today: dt.date) -> dict[str, pd.Series]:
        """No date of what has happened after ``today`` (geo/dates.py), then the kind's own checks."""
        refuse_ahead(values, [a.name for a in self.attributes if a.type == "date"], rows, report, today)
        return self.checker(values, rows, report) if self.checker else values

    @property
    def looks_up(self) -> bool:
        return self.resolver is not None

    def resolve(self, conn, rows: pa.Table, report: ImportReport) -> pa.Table:
        rows = self.resolver(conn, rows, report) if self.resolver else rows
        return rows.drop_columns([c for c, _ in self.resolves if c in rows.column_names])


def _kinds() -> dict[str, RecordKind]:
    from geo.records import checks, references

    inspection = RecordKind(
        name="inspection",
        id_names=("检查编号", "检查记录编号", "记录编号", "inspection_id", "inspection_no"),
        title="inspection (检查)",
        geometry_types=(),
        required=(("site_kind",), ("site_id", "site_source_id"), ("inspected_on",)),
        attributes=(
            _site_kind, _site_id, _site_source_id,
            Attribute("inspected_on", "date", "The date of the inspection.", aliases=("检查日期", "检查时间", "date")),
            Attribute("team", "text", "The inspection team or inspectors.", aliases=("检查组", "检查人员", "检查人")),
            Attribute("inspection_type", "enum", "routine, special, comprehensive or look_back (回头看); routine "
                      "when not given.", values=INSPECTION_TYPES, aliases=("检查类型", "检查方式", "type")),
            Attribute("outcome", "enum", "no_findings, dangers_found, enforcement or not_inspected.",
                      values=OUTCOMES, aliases=("检查结果", "结果", "result")),
            _notes,
        ),
        resolves=(("site_source_id", "site_id"),),
        always_written=("site_kind", "site_id"),
        checker=checks.inspection,
        resolver=references.sites_required,
    )
    hidden_danger = RecordKind(
        name="hidden_danger",
        id_names=("隐患编号", "记录编号", "hidden_danger_id", "danger_id"),
        title="hidden danger (事故隐患)",
        geometry_types=(),
        required=(("description",), ("grade",), ("found_on",)),
        attributes=(
            _site_kind, _site_id, _site_source_id,
            Attribute("inspection_id", "integer", "The riskmap id of the inspection that found it.", 1, 2**63 - 1),
            Attribute("inspection_source_id", "text", "The source id of the inspection that found it (resolved on "
                      "import); the danger then takes the inspection's site unless it names one.",
                      aliases=("检查编号", "检查记录编号")),
            Attribute("description", "text", "What the danger is.",
                      aliases=("隐患描述", "隐患内容", "隐患名称", "问题描述")),
            Attribute("category", "text", "Its category (sector criteria, e.g. 危化品重大隐患判定标准 item).",
                      aliases=("隐患类别", "隐患类型", "类别")),
            Attribute("grade", "enum", "general (一般) or major (重大), domain.md §8.", values=GRADES,
                      aliases=("隐患等级", "隐患级别", "等级", "级别")),
            Attribute("found_on", "date", "The date it was found.", aliases=("发现日期", "排查日期", "发现时间")),
            Attribute("deadline", "date", "The rectification deadline.",
                      aliases=("整改期限", "整改时限", "整改截止日期", "限期")),
            Attribute("responsible_unit", "text", "The unit responsible for the rectification.",
                      aliases=("责任单位", "整改责任单位")),
            Attribute("responsible_person", "text", "The person responsible.", aliases=("责任人", "整改责任人")),
            Attribute("status", "enum", "open, rectified, verified or reopened; open when not given.",
                      values=STATUSES, aliases=("状态", "整改状态", "隐患状态")),
            Attribute("status_changed_on", "date", "The date of the last status change (by default the date of "
                      "the status: found_on, rectified_on, ...).", aliases=("状态变更日期",)),
            Attribute("rectified_on", "date", "The date it was rectified.",
                      aliases=("整改日期", "整改完成日期", "完成整改日期")),
            Attribute("verified_on", "date", "The date the rectification was verified (销号).",
                      aliases=("验收日期", "核查日期", "销号日期")),
            Attribute("reopened_on", "date", "The date it was last reopened.", aliases=("重新打开日期",)),
            Attribute("measures", "text", "The rectification measures.", aliases=("整改措施", "措施")),
        ),
        resolves=(("site_source_id", "site_id"), ("inspection_source_id", "inspection_id")),
        always_written=("site_kind", "site_id", "status", "status_changed_on"),
        checker=checks.hidden_danger,
        resolver=references.hidden_danger,
    )
    enforcement_action = RecordKind(
        name="enforcement_action",
        id_names=("文书编号", "决定书编号", "执法编号", "记录编号", "enforcement_action_id", "action_id"),
        title="enforcement action (执法措施)",
        geometry_types=(),
        required=(("site_kind",), ("site_id", "site_source_id"), ("decided_on",), ("measure",)),
        attributes=(
            _site_kind, _site_id, _site_source_id,
            Attribute("decided_on", "date", "The date of the decision.",
                      aliases=("决定日期", "执法日期", "处罚日期", "日期", "date")),
            Attribute("measure", "enum", "rectify_order (责令整改), suspension (停产整顿), closure (关闭取缔) or fine "
                      "(罚款).", values=MEASURES, aliases=("执法措施", "处罚措施", "措施", "处理措施")),
            Attribute("fine_yuan", "real", "The fine in yuan (needed for a fine).", 0, 1e12,
                      aliases=("罚款金额", "罚款金额(元)", "罚款金额（元）", "罚款(元)", "罚款（元）", "fine")),
            Attribute("lifted_on", "date", "When the measure was lifted (复产复工 after a suspension).",
                      aliases=("解除日期", "复产日期", "复产复工日期", "解除时间")),
            _notes,
        ),
        resolves=(("site_source_id", "site_id"),),
        always_written=("site_kind", "site_id"),
        checker=checks.enforcement_action,
        resolver=references.sites_required,
    )
    accident = RecordKind(
        name="accident",
        id_names=("事故编号", "记录编号", "accident_id"),
        title="accident (生产安全事故)",
        geometry_types=("Point",),
        required=(("occurred_on",), ("accident_class", "deaths", "serious_injuries", "direct_loss_10k_yuan")),
        attributes=(
            Attribute("occurred_on", "date", "The date it happened.",
                      aliases=("事故日期", "发生日期", "发生时间", "date")),
            Attribute("accident_type", "text", "Its type (GB 6441: 火灾, 爆炸, 中毒和窒息, ...).",
                      aliases=("事故类型", "事故类别", "type")),
            Attribute("accident_class", "enum", "general 一般, relatively_serious 较大, serious 重大 or "
                      "especially_serious 特别重大 (State Council Decree No. 493); derived from the deaths, "
                      "serious injuries and direct loss when not given.", values=ACCIDENT_CLASSES,
                      aliases=("事故等级", "事故级别", "class")),
            Attribute("deaths", "integer", "People killed (0 when not given).", 0, 100_000,
                      aliases=("死亡人数", "死亡", "遇难人数")),
            Attribute("serious_injuries", "integer", "People seriously injured, acute poisoning included (0 when "
                      "not given).", 0, 100_000, aliases=("重伤人数", "重伤", "重伤(含急性工业中毒)人数")),
            Attribute("direct_loss_10k_yuan", "real", "Direct economic loss in 10,000 yuan.", 0, 1e9,
                      aliases=("直接经济损失", "直接经济损失(万元)", "直接经济损失（万元）", "direct_loss")),
            _site_kind, _site_id, _site_source_id,
            Attribute("source", "text", "Where the record comes from (report, news, ...).",
                      aliases=("来源", "信息来源")),
        ),
        resolves=(("site_source_id", "site_id"),),
        always_written=("accident_class",),
        checker=checks.accident,
        resolver=references.sites_optional,
    )
    return {k.name: k for k in (inspection, hidden_danger, enforcement_action, accident)}


RECORD_KINDS: dict[str, RecordKind] = _kinds()


def recognised_columns(kind: str) -> set[str]:
    """Every column name (lower case) an import of ``kind`` takes as one of its fields rather than keeping it in
    ``props``: the fields' names and aliases, the id's spellings and, for accidents, the coordinates'."""
    from geo.column_plan import ID_NAMES, LAT_NAMES, LON_NAMES, SYNTHETIC_NAMES, WKT_NAMES

    k = RECORD_KINDS[kind]
    names = {"source_id", *ID_NAMES, *k.id_names, *SYNTHETIC_NAMES}
    for a in k.attributes:
        names |= {a.name, *a.aliases}
    if k.geometry_types:
        names |= {*LON_NAMES, *LAT_NAMES, *WKT_NAMES}
    return {n.lower() for n in names}
