"""The feature classes riskmap stores, and the attributes each one carries.

This is the one description of the feature store: the migrations create the tables it describes, the importer
validates rows against it, and the exporter writes its columns back.  The attributes are the ones the risk rules
of ``../shared/domain.md`` need (section numbers below); every attribute beyond ``source_id``, ``name``, the
geometry and the single ``required`` attribute of a class is optional, because real registers are incomplete.
The risk model treats a missing value conservatively and says so in the factors it records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from geo.errors import ImportReport

FieldType = Literal["text", "integer", "real", "boolean", "date", "enum", "chemicals"]


@dataclass(frozen=True)
class Attribute:
    """One typed attribute of a feature class."""

    name: str
    type: FieldType
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    # enum: canonical value -> accepted spellings (case-insensitive), Chinese terms included
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # other source column names recognised without a mapping file
    aliases: tuple[str, ...] = ()

    @property
    def sql_type(self) -> str:
        return {
            "text": "text",
            "integer": "integer",
            "real": "double precision",
            "boolean": "boolean",
            "date": "date",
            "enum": "text",
            "chemicals": "jsonb",
        }[self.type]


@dataclass(frozen=True)
class FeatureKind:
    """A feature class: its table, geometry types and attributes."""

    name: str
    title: str
    geometry_types: tuple[str, ...]
    attributes: tuple[Attribute, ...]
    # attributes that must be present on every row; a tuple of alternatives means "at least one of them"
    required: tuple[tuple[str, ...], ...] = ()

    @property
    def table(self) -> str:
        return self.name

    def attribute(self, name: str) -> Attribute:
        for a in self.attributes:
            if a.name == name:
                return a
        raise KeyError(name)

    @property
    def attribute_names(self) -> list[str]:
        return [a.name for a in self.attributes]

    # What the importer (geo/importer.py) asks of a kind.  Features: a name column, the file's columns written as
    # they are, no checks across columns and nothing to look up.  The campaign's records (geo/records/kinds.py)
    # have no name, check fields against each other and resolve the sites they name.
    named: ClassVar[bool] = True

    def written_columns(self, columns: list[str]) -> list[str]:
        """The columns an import writes, given the columns the file feeds (ColumnPlan.target_columns)."""
        return columns

    def check_rows(self, values: dict[str, pd.Series], rows: np.ndarray, report: ImportReport,
                   today: dt.date) -> dict[str, pd.Series]:
        """Checks across the converted attributes of a chunk (pure; bad values are reported and nulled);
        ``today`` is the date the import takes as today (geo/dates.py)."""
        return values

    looks_up = False  # whether ``resolve`` reads the database (a feature's rows name nothing else)

    def resolve(self, conn, rows: pa.Table, report: ImportReport) -> pa.Table:
        """Look up what the chunk's rows name in the database (one query per chunk and kind)."""
        return rows


def _enum(*pairs: tuple[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    return {k: v for k, v in pairs}


OPERATING_STATUS = _enum(
    ("operating", ("运营", "在产", "生产", "正常生产", "active", "in operation")),
    ("suspended", ("停产", "停业", "停产整顿", "停用", "idle")),
    ("closed", ("关闭", "闭库", "已关闭", "销号", "decommissioned")),
    ("under_construction", ("在建", "建设中", "construction")),
)

INDUSTRIES = _enum(
    ("hazardous_chemicals", ("危险化学品", "危化品", "化工", "chemical", "chemicals", "petrochemical", "石化")),
    ("metallurgy", ("冶金", "钢铁", "steel", "iron and steel", "metallurgical")),
    ("mining", ("矿山", "采矿", "煤矿", "非煤矿山", "coal mining", "mine")),
    ("fireworks", ("烟花爆竹", "烟花", "fireworks")),
    ("oil_gas_storage", ("油气储存", "油库", "储罐", "tank farm", "oil storage", "port storage")),
    ("building_materials", ("建材", "水泥", "cement")),
    ("machinery", ("机械", "机械制造", "manufacturing")),
    ("light_industry", ("轻工", "纺织", "食品", "textile", "food")),
    ("dust_explosion", ("粉尘涉爆", "涉爆粉尘", "dust")),
    ("ammonia_refrigeration", ("涉氨制冷", "氨制冷")),
    ("power", ("电力", "power plant")),
    ("logistics", ("物流", "仓储", "warehousing")),
    ("other", ("其他", "其它")),
)

POND_SAFETY_STATES = _enum(  # domain.md §3, legacy AQ 2006-2005 安全度
    ("normal", ("正常", "正常库")),
    ("ill", ("病", "病库")),
    ("dangerous", ("险", "险库")),
    ("critical", ("危", "危库")),
)

PIPELINE_MEDIA = _enum(  # domain.md §4: gas lines use the potential impact radius, oil lines 200 m
    ("natural_gas", ("gas", "天然气", "燃气", "输气")),
    ("crude_oil", ("crude", "原油", "oil")),
    ("refined_oil", ("成品油", "refined", "product")),
    ("hazardous_chemical", ("危险化学品", "化学品", "chemical")),
)

VENUE_TYPES = _enum(  # domain.md §5 (GB 50016 densities; GB 32167 特定场所)
    ("mall", ("商场", "购物中心", "shopping mall", "shop", "商店")),
    ("market", ("市场", "集贸市场", "农贸市场")),
    ("hospital", ("医院",)),
    ("nursing_home", ("养老院", "敬老院", "养老机构", "elderly care")),
    ("kindergarten", ("幼儿园", "托儿所", "nursery")),
    ("school", ("学校", "中学", "小学")),
    ("hotel", ("宾馆", "酒店", "旅馆")),
    ("entertainment", ("娱乐场所", "KTV", "歌舞厅", "网吧")),
    ("cinema", ("影院", "电影院", "剧院", "theatre")),
    ("stadium", ("体育场", "体育馆", "stadium")),
    ("exhibition", ("展览馆", "会展中心")),
    ("transport_hub", ("车站", "火车站", "汽车站", "交通枢纽", "station")),
    ("religious", ("宗教场所", "寺庙", "教堂", "temple")),
    ("square", ("广场",)),
    ("other", ("其他", "其它")),
)

AREA_LEVELS = _enum(
    ("province", ("省", "省级", "1")),
    ("city", ("市", "地级市", "市级", "2")),
    ("county", ("县", "区县", "区", "县级", "3")),
    ("township", ("乡镇", "街道", "4")),
)

_status = Attribute("status", "enum", "Operating status.", values=OPERATING_STATUS, aliases=("状态", "运营状态"))
_last_inspection = Attribute(
    "last_inspection", "date", "Date of the last safety inspection.", aliases=("最近检查日期", "last_inspected")
)

ENTERPRISE = FeatureKind(
    name="enterprise",
    title="enterprise (production or storage site)",
    geometry_types=("Point", "Polygon", "MultiPolygon"),
    required=(("industry",),),
    attributes=(
        Attribute("industry", "enum", "Industry sector (drives the industry hazard).", values=INDUSTRIES,
                  aliases=("行业", "sector")),
        Attribute("chemicals", "chemicals",
                  "Hazardous-chemical inventory for GB 18218 (domain.md §1): a JSON list of "
                  "{chemical, quantity_t, hazard_category?} or 'name:tonnes;name:tonnes'.",
                  aliases=("危化品", "inventory")),
        _status,
        Attribute("employees", "integer", "Number of employees.", 0, 1_000_000, aliases=("职工人数",)),
        Attribute("flexible_worker_share", "real", "Share of dispatched and flexible workers (0-1).", 0, 1,
                  aliases=("dispatched_share",)),
        Attribute("violations_12m", "integer", "Violations recorded in the last 12 months.", 0, 100_000,
                  aliases=("violations",)),
        Attribute("open_hidden_dangers", "integer", "Open (unrectified) hidden dangers.", 0, 100_000,
                  aliases=("hidden_dangers",)),
        Attribute("major_hidden_danger", "boolean", "A 重大事故隐患 is open (direct red, domain.md §2).",
                  aliases=("重大隐患",)),
        _last_inspection,
    ),
)

TAILINGS_POND = FeatureKind(
    name="tailings_pond",
    title="tailings pond (尾矿库)",
    geometry_types=("Point", "Polygon", "MultiPolygon"),
    required=(),  # grade, state and downstream population all have conservative defaults (domain.md §3)
    attributes=(
        Attribute("dam_height_m", "real", "Total dam height H in metres (grade table, domain.md §3).", 0, 400,
                  aliases=("坝高", "dam_height")),
        Attribute("capacity_10k_m3", "real", "Total storage capacity V in 10^4 m3 (全库容).", 0, 1_000_000,
                  aliases=("全库容", "capacity")),
        Attribute("safety_state", "enum", "Safety state 正常/病/险/危 (AQ 2006-2005).", values=POND_SAFETY_STATES,
                  aliases=("安全度", "state")),
        Attribute("downstream_direction_deg", "real",
                  "Direction of the downstream flow path from the starter dam, degrees clockwise from north; "
                  "unknown means the overhead test uses a full circle.", 0, 360,
                  aliases=("downstream_deg", "下游方向")),
        Attribute("downstream_population", "integer", "People within 1000 m downstream as registered.",
                  0, 10_000_000, aliases=("下游1000米受影响人数",)),
        Attribute("ore", "text", "Ore or mineral (e.g. iron).", aliases=("矿种",)),
        _status,
        Attribute("major_hidden_danger", "boolean", "One of the 12 tailings 重大事故隐患 criteria is open.",
                  aliases=("重大隐患",)),
        _last_inspection,
    ),
)

PIPELINE = FeatureKind(
    name="pipeline",
    title="oil or gas pipeline",
    geometry_types=("LineString", "MultiLineString"),
    required=(("medium",),),
    attributes=(
        Attribute("medium", "enum", "Transported medium (domain.md §4).", values=PIPELINE_MEDIA,
                  aliases=("介质", "product_type")),
        Attribute("diameter_mm", "real", "Outside diameter d in mm (potential impact radius).", 1, 3000,
                  aliases=("管径", "diameter", "od_mm")),
        Attribute("pressure_mpa", "real", "Maximum allowable operating pressure p in MPa.", 0, 40,
                  aliases=("压力", "maop_mpa", "pressure")),
        Attribute("year_built", "integer", "Year of construction.", 1900, 2100, aliases=("建设年份", "year")),
        Attribute("operator", "text", "Operating company.", aliases=("运营单位",)),
        Attribute("depth_of_cover_m", "real", "Depth of cover in metres.", 0, 50, aliases=("埋深",)),
        _status,
    ),
)

VENUE = FeatureKind(
    name="venue",
    title="crowded venue (人员密集场所)",
    geometry_types=("Point", "Polygon", "MultiPolygon"),
    required=(("venue_type",),),
    attributes=(
        Attribute("venue_type", "enum", "Venue type (GB 50016 densities; vulnerable occupants).",
                  values=VENUE_TYPES, aliases=("场所类型", "type")),
        Attribute("floor_area_m2", "real", "Floor area in m2.", 0, 10_000_000, aliases=("建筑面积", "floor_area")),
        Attribute("storey", "integer", "Storey of the main use: negative below ground (-1 = B1).", -10, 200,
                  aliases=("楼层",)),
        Attribute("occupancy", "integer", "Stated occupancy (people).", 0, 1_000_000, aliases=("容纳人数",)),
        Attribute("exits", "integer", "Number of safety exits.", 0, 1000, aliases=("安全出口数", "exit_count")),
        Attribute("exits_blocked", "boolean", "An exit is blocked or locked.", aliases=("出口堵塞",)),
        Attribute("exit_width_ratio", "real", "Total exit width as a share of the code value.", 0, 10,
                  aliases=("exit_width_share",)),
        Attribute("sprinklers", "boolean", "Automatic sprinklers present and working.", aliases=("喷淋",)),
        Attribute("fire_alarm", "boolean", "Fire alarm present and working.", aliases=("火灾报警",)),
        Attribute("last_fire_inspection", "date", "Date of the last fire inspection.", aliases=("最近消防检查",)),
        _status,
    ),
)

SETTLEMENT = FeatureKind(
    name="settlement",
    title="settlement (resident population)",
    geometry_types=("Point", "Polygon", "MultiPolygon"),
    required=(("population", "households"),),
    attributes=(
        Attribute("population", "integer", "Resident population.", 0, 50_000_000, aliases=("人口", "pop")),
        Attribute("households", "integer", "Households (GB 50251 location classes count households).",
                  0, 20_000_000, aliases=("户数",)),
        Attribute("buildings_4plus_dominant", "boolean",
                  "Buildings of four or more storeys dominate (GB 50251 class 4).", aliases=("四层以上",)),
    ),
)

AREA = FeatureKind(
    name="area",
    title="administrative area",
    geometry_types=("Polygon", "MultiPolygon"),
    required=(("admin_code",), ("level",)),
    attributes=(
        Attribute("admin_code", "text", "Administrative division code (GB/T 2260, e.g. 130203).",
                  aliases=("adcode", "code", "行政区划代码")),
        Attribute("level", "enum", "Administrative level.", values=AREA_LEVELS, aliases=("行政级别",)),
        Attribute("parent_code", "text", "Code of the parent area.", aliases=("parent_adcode",)),
    ),
)

KINDS: dict[str, FeatureKind] = {
    k.name: k for k in (ENTERPRISE, TAILINGS_POND, PIPELINE, VENUE, SETTLEMENT, AREA)
}


def get_kind(name: str) -> FeatureKind:
    """The feature class called ``name``; raises UnknownKind naming the valid ones."""
    from geo.errors import UnknownKind

    try:
        return KINDS[name]
    except KeyError:
        raise UnknownKind(name, sorted(KINDS)) from None
