"""How many features of each class each province gets: one row per mainland province.

``population_m``: resident population in millions, the Seventh National Population Census (国家统计局, 第七次全国人口
普查公报 No. 3, 2021, figures as of 1 November 2020).  Venues and settlements are shared among the provinces in
proportion to it.

The other columns are **assumptions**: a 0-10 index per sector, judged from the order in which the provinces
stand in published statistics (the China Statistical Yearbook's industrial output by sector, the steel
producers' output, coal and metal-ore output, the Ministry of Emergency Management's public statements on where
the tailings ponds are, where the oil and gas fields and trunk lines are), not the figures themselves:

``chemicals``  hazardous-chemical production and storage (山东, 江苏 first; 浙江, 广东 next).
``metallurgy`` iron, steel and non-ferrous smelting (河北 far ahead; 江苏, 山东, 辽宁 next).
``mining``     coal and metal mines (山西, 内蒙古, 陕西 coal; 云南, 河北, 辽宁, 湖南 metal).
``ponds``      tailings ponds (河北, 云南, 辽宁, 湖南, 江西, 内蒙古 have the most; Shanghai none).
``pipelines``  oil and gas pipelines (新疆, 四川, 陕西, 黑龙江, 山东: the fields and the trunk lines).

Enterprises are shared in proportion to chemicals + metallurgy + mining, and within a province drawn as those
industries in those proportions (``data/national/features.py``); ponds and pipeline kilometres in proportion to
their own index.  Within a province every county-level unit gets an equal share (a county is sized by people far
more than by land), except that urban districts (names ending 区) get ``DISTRICT_POND_WEIGHT`` of a share of
ponds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DISTRICT_POND_WEIGHT = 0.3

_COLUMNS = ("province_code", "name", "population_m", "chemicals", "metallurgy", "mining", "ponds", "pipelines")
_ROWS = (
    ("110000", "北京市", 21.89, 1.0, 0.5, 0.5, 1.0, 2.0),
    ("120000", "天津市", 13.87, 5.0, 4.0, 0.5, 0.2, 5.0),
    ("130000", "河北省", 74.61, 5.0, 10.0, 6.0, 10.0, 5.0),
    ("140000", "山西省", 34.92, 4.0, 5.0, 10.0, 6.0, 3.0),
    ("150000", "内蒙古自治区", 24.05, 4.0, 4.0, 9.0, 7.0, 4.0),
    ("210000", "辽宁省", 42.59, 5.0, 7.0, 6.0, 8.0, 5.0),
    ("220000", "吉林省", 24.07, 3.0, 2.0, 3.0, 3.0, 3.0),
    ("230000", "黑龙江省", 31.85, 3.0, 1.5, 4.0, 2.0, 6.0),
    ("310000", "上海市", 24.87, 5.0, 3.0, 0.2, 0.0, 3.0),
    ("320000", "江苏省", 84.75, 10.0, 8.0, 1.5, 1.0, 5.0),
    ("330000", "浙江省", 64.57, 8.0, 3.0, 2.0, 2.0, 3.0),
    ("340000", "安徽省", 61.03, 4.0, 4.0, 5.0, 5.0, 2.0),
    ("350000", "福建省", 41.54, 4.0, 3.0, 4.0, 4.0, 2.0),
    ("360000", "江西省", 45.19, 3.0, 3.0, 5.0, 7.0, 1.5),
    ("370000", "山东省", 101.53, 10.0, 7.0, 5.0, 5.0, 6.0),
    ("410000", "河南省", 99.37, 5.0, 4.0, 6.0, 6.0, 4.0),
    ("420000", "湖北省", 57.75, 5.0, 4.0, 4.0, 5.0, 3.0),
    ("430000", "湖南省", 66.45, 4.0, 3.0, 6.0, 8.0, 2.0),
    ("440000", "广东省", 126.01, 7.0, 4.0, 2.0, 3.0, 3.0),
    ("450000", "广西壮族自治区", 50.13, 3.0, 4.0, 5.0, 6.0, 2.0),
    ("460000", "海南省", 10.08, 1.5, 0.2, 0.5, 0.5, 1.0),
    ("500000", "重庆市", 32.05, 3.0, 2.0, 3.0, 2.0, 3.0),
    ("510000", "四川省", 83.67, 5.0, 4.0, 6.0, 6.0, 8.0),
    ("520000", "贵州省", 38.56, 3.0, 1.5, 6.0, 4.0, 2.0),
    ("530000", "云南省", 47.21, 3.0, 3.0, 7.0, 9.0, 2.0),
    ("540000", "西藏自治区", 3.65, 0.2, 0.1, 1.0, 0.5, 0.3),
    ("610000", "陕西省", 39.53, 4.0, 2.0, 7.0, 4.0, 7.0),
    ("620000", "甘肃省", 25.02, 3.0, 3.0, 4.0, 4.0, 4.0),
    ("630000", "青海省", 5.92, 1.5, 1.0, 3.0, 2.0, 3.0),
    ("640000", "宁夏回族自治区", 7.20, 2.5, 1.5, 3.0, 1.0, 2.0),
    ("650000", "新疆维吾尔自治区", 25.85, 3.0, 2.0, 5.0, 4.0, 10.0),
)
PROVINCES = pd.DataFrame(_ROWS, columns=_COLUMNS).set_index("province_code")

# class -> the column its provincial share follows
CLASS_WEIGHT = {"enterprise": ("chemicals", "metallurgy", "mining"), "tailings_pond": ("ponds",),
                "pipeline": ("pipelines",), "venue": ("population_m",), "settlement": ("population_m",)}


def province_weights(kind: str) -> pd.Series:
    """Each province's weight for a feature class (province_code -> weight, summing to 1)."""
    w = PROVINCES[list(CLASS_WEIGHT[kind])].sum(axis=1)
    return w / w.sum()


def unit_weights(kind: str, province_code: np.ndarray, name: np.ndarray) -> np.ndarray:
    """Each county-level unit's share of a class: its province's share split equally among the province's units
    (ponds: urban districts at ``DISTRICT_POND_WEIGHT``), summing to 1."""
    missing = sorted(set(province_code) - set(PROVINCES.index))
    if missing:
        raise ValueError(f"no weights for provinces {missing} (data/national/weights.py)")
    within = np.ones(province_code.size)
    if kind == "tailings_pond":
        within[np.char.endswith(name.astype(str), "区")] = DISTRICT_POND_WEIGHT
    totals = pd.Series(within).groupby(province_code).transform("sum").to_numpy()
    w = province_weights(kind).reindex(province_code).to_numpy() * within / totals
    return w / w.sum()
