"""The supervision settings (``supervision.toml``, or the user's copy): inspection frequency per level, the
look-back window, the staffing parameters and the staff of each county.  Loaded once by the caller (the CLI, the
app) and passed down; every bad value is a ``SupervisionConfigError`` naming the key."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from geo.errors import InvalidSetting
from geo.risk.framework import LEVELS

SITE_KINDS = ("enterprise", "tailings_pond", "pipeline", "venue")  # the scored sites (records name them too)


class SupervisionConfigError(InvalidSetting):
    """A supervision settings file riskmap cannot use (the message names the file, the key and what it accepts)."""


@dataclass(frozen=True)
class Staffing:
    inspection_hours: dict[str, float]  # per kind, on site
    travel_hours_per_inspection: float = 1.0
    inspectors_per_inspection: int = 2
    hours_per_day: float = 8.0
    field_days_per_inspector: float = 200.0


@dataclass(frozen=True)
class SupervisionConfig:
    frequency_months: dict[str, int]  # per level
    look_back_days: int
    staffing: Staffing
    staff: dict[str, int] = field(default_factory=dict)  # admin code -> inspectors
    version: str = ""
    path: str = ""  # where it was read from

    def frequency(self, level: str) -> int:
        return self.frequency_months[level]


def shipped_path() -> Path:
    return Path(str(resources.files("geo.supervision").joinpath("supervision.toml")))


def load_supervision(path: str | Path | None = None) -> SupervisionConfig:
    """The settings of the shipped file, or of ``path``."""
    p = Path(path) if path else shipped_path()
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SupervisionConfigError(f"supervision settings file {p}: no such file") from None
    except tomllib.TOMLDecodeError as e:
        raise SupervisionConfigError(f"supervision settings file {p}: not valid TOML: {e}") from None
    return parse_supervision(raw, str(p))


def parse_supervision(raw: dict, where: str = "supervision settings") -> SupervisionConfig:
    """The settings from a parsed TOML document (what ``load_supervision`` reads), checked."""

    def fail(key: str, message: str):
        raise SupervisionConfigError(f"{where}: {key}: {message}")

    def section(name: str) -> dict:
        value = raw.get(name, {})
        if not isinstance(value, dict):
            fail(name, "expected a table")
        return value

    def number(value, key: str, low: float, high: float, whole: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            fail(key, f"expected a number, got {value!r}")
        if whole and value != int(value):
            fail(key, f"expected a whole number, got {value!r}")
        if not low <= value <= high:
            fail(key, f"expected a value from {low:g} to {high:g}, got {value!r}")
        return int(value) if whole else float(value)

    freq = section("frequency_months")
    missing = [lv for lv in LEVELS if lv not in freq]
    if missing:
        fail("frequency_months", f"missing the level(s) {', '.join(missing)} (give months for each of "
                                 f"{', '.join(reversed(LEVELS))})")
    unknown = [k for k in freq if k not in LEVELS]
    if unknown:
        fail("frequency_months", f"unknown level(s) {', '.join(unknown)}; the levels are {', '.join(LEVELS)}")
    frequency = {lv: number(freq[lv], f"frequency_months.{lv}", 1, 120, whole=True) for lv in LEVELS}
    look_back = section("look_back")
    window = number(look_back.get("window_days", 90), "look_back.window_days", 1, 3650, whole=True)
    st = section("staffing")
    hours_raw = st.get("inspection_hours", {})
    if not isinstance(hours_raw, dict):
        fail("staffing.inspection_hours", "expected a table of hours per kind")
    unknown = [k for k in hours_raw if k not in SITE_KINDS]
    if unknown:
        fail("staffing.inspection_hours", f"unknown kind(s) {', '.join(unknown)}; the kinds are "
                                          f"{', '.join(SITE_KINDS)}")
    missing = [k for k in SITE_KINDS if k not in hours_raw]
    if missing:
        fail("staffing.inspection_hours", f"missing the kind(s) {', '.join(missing)}")
    staffing = Staffing(
        inspection_hours={k: number(hours_raw[k], f"staffing.inspection_hours.{k}", 0.1, 24) for k in SITE_KINDS},
        travel_hours_per_inspection=number(st.get("travel_hours_per_inspection", 1.0),
                                           "staffing.travel_hours_per_inspection", 0, 24),
        inspectors_per_inspection=number(st.get("inspectors_per_inspection", 2), "staffing.inspectors_per_inspection",
                                         1, 50, whole=True),
        hours_per_day=number(st.get("hours_per_day", 8.0), "staffing.hours_per_day", 1, 24),
        field_days_per_inspector=number(st.get("field_days_per_inspector", 200), "staffing.field_days_per_inspector",
                                        1, 366),
    )
    staff_raw = section("staff")
    staff = {}
    for code, n in staff_raw.items():
        if not str(code).strip():
            fail("staff", "an admin code may not be empty")
        staff[str(code)] = number(n, f"staff.{code}", 0, 1_000_000, whole=True)
    return SupervisionConfig(frequency, window, staffing, staff, str(raw.get("version", "")), where)


@cache
def shipped_supervision() -> SupervisionConfig:
    """The shipped settings, read once (the default of callers given no settings)."""
    return load_supervision()
