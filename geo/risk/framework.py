"""What every risk rule returns, and the four-colour levels.

A rule is a pure function ``score_<kind>(frame: pd.DataFrame, params: dict) -> RuleResult``: a DataFrame of
features (their stored attributes plus spatial-context columns computed in PostGIS) in, one score per row out,
with the factors that produced it.  No I/O, no settings: ``params`` is the rule's section of the risk-model
configuration file (``geo/risk/model.toml``), passed in by the caller.

Scores run from 0 (no risk found) to 100.  Each factor records, per row, the value it looked at, the points it
contributed and whether the value was *assumed* because the register lacked it (a missing value is always
replaced by a conservative one, and the factor says so).  ``direct_red`` holds, per row, the reason a feature is
red whatever its score (domain.md §2: a major hidden danger, a 危 or 险 pond, ...), or None.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

LEVELS = ("blue", "yellow", "orange", "red")  # 低 / 一般 / 较大 / 重大 (domain.md §2)
LEVEL_RANK = {name: i for i, name in enumerate(LEVELS)}
LEVEL_NAMES_ZH = {"red": "重大风险", "orange": "较大风险", "yellow": "一般风险", "blue": "低风险"}


@dataclass(frozen=True)
class FactorDef:
    """What a factor is: shown with its values so a reader can check the rule."""

    name: str
    title: str
    source: str  # the standard or documented assumption it rests on, e.g. "GB 18218-2018 §4.2.2; domain.md §1"
    unit: str = ""


@dataclass
class Factor:
    """One factor's per-row value, points contributed and whether the value was assumed (missing in the data)."""

    definition: FactorDef
    value: pd.Series
    points: pd.Series
    assumed: pd.Series | None = None


@dataclass
class RuleResult:
    score: pd.Series  # 0..100, float
    factors: list[Factor]
    direct_red: pd.Series  # object: reason text or None
    extra: dict[str, pd.Series] = field(default_factory=dict)  # rule outputs worth keeping (S, R, grade...)

    def __post_init__(self) -> None:
        n = len(self.score)
        for f in self.factors:
            if len(f.value) != n or len(f.points) != n:
                raise ValueError(f"factor {f.definition.name}: length differs from the scores")


def level_from_score(score: pd.Series | np.ndarray, bands: dict[str, float]) -> np.ndarray:
    """Band a 0-100 score into the four levels; ``bands`` gives each level's lower bound (red >= bands['red'])."""
    s = np.asarray(score, dtype="float64")
    out = np.full(len(s), "blue", dtype=object)
    out[s >= bands["yellow"]] = "yellow"
    out[s >= bands["orange"]] = "orange"
    out[s >= bands["red"]] = "red"
    return out


def final_level(score: pd.Series, direct_red: pd.Series, bands: dict[str, float]) -> np.ndarray:
    """The level from the score bands, raised to red where a direct-red rule applies (domain.md §2)."""
    level = level_from_score(score, bands)
    level[pd.notna(direct_red).to_numpy()] = "red"
    return level
