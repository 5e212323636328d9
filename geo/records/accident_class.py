"""The accident classes of 《生产安全事故报告和调查处理条例》 (State Council Decree No. 493, 2007; domain.md §8).

An accident's class is the worst reached by any of its deaths, serious injuries (acute industrial poisoning
included) and direct economic loss.  Lower bounds are inclusive ("以上" includes the number), upper bounds
exclusive ("以下" excludes it):

| class                                   | deaths | seriously injured | direct loss (10,000 yuan) |
|-----------------------------------------|--------|-------------------|---------------------------|
| especially_serious 特别重大              | ≥ 30   | ≥ 100             | ≥ 10,000 (100 million)    |
| serious 重大                             | 10–29  | 50–99             | 5,000–10,000              |
| relatively_serious 较大                  | 3–9    | 10–49             | 1,000–5,000               |
| general 一般                             | < 3    | < 10              | < 1,000 (10 million)      |
"""

from __future__ import annotations

import numpy as np

CLASSES = ("general", "relatively_serious", "serious", "especially_serious")  # from the least to the worst
CHINESE = {"general": "一般", "relatively_serious": "较大", "serious": "重大", "especially_serious": "特别重大"}
# The lower bounds of relatively_serious, serious and especially_serious for each measure.
DEATHS = (3, 10, 30)
SERIOUS_INJURIES = (10, 50, 100)
DIRECT_LOSS_10K_YUAN = (1_000, 5_000, 10_000)


def _rank(values, bounds: tuple[float, ...]) -> np.ndarray:
    """How many of ``bounds`` each value reaches (0 for a missing value)."""
    x = np.asarray(values, dtype="float64")
    rank = np.searchsorted(np.asarray(bounds, dtype="float64"), np.nan_to_num(x, nan=-np.inf), side="right")
    return rank.astype(np.int64)


def class_ranks(deaths, serious_injuries, direct_loss_10k_yuan) -> np.ndarray:
    """The class of each accident as its index in ``CLASSES``: the worst of the three measures (a missing one
    counts for nothing)."""
    return np.maximum.reduce([_rank(deaths, DEATHS), _rank(serious_injuries, SERIOUS_INJURIES),
                              _rank(direct_loss_10k_yuan, DIRECT_LOSS_10K_YUAN)])


def accident_class(deaths, serious_injuries, direct_loss_10k_yuan) -> np.ndarray:
    """The class of each accident (``CLASSES``) from its deaths, serious injuries and direct loss in 10,000
    yuan; arrays (or scalars) of equal length, NaN for unknown.

    >>> accident_class([0, 3, 2, 0], [0, 0, 50, 0], [10, 0, 0, 10_000]).tolist()
    ['general', 'relatively_serious', 'serious', 'especially_serious']
    """
    return np.asarray(CLASSES, dtype=object)[class_ranks(deaths, serious_injuries, direct_loss_10k_yuan)]


def describe(name: str) -> str:
    """A class as people write it: 重大 (serious)."""
    return f"{CHINESE[name]} ({name})"
