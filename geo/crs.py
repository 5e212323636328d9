"""Source coordinate reference systems for imports; everything is converted to WGS 84 (EPSG:4326).

An import may declare the CRS its coordinates are in: any EPSG code PROJ knows (``EPSG:4326``, ``EPSG:3857``,
``4547``...) or one of the two Chinese web-map offset systems:

* **GCJ-02** ("Mars coordinates"), the obfuscated datum that Chinese regulations require of published maps.  AMap
  (Gaode), Tencent Maps and Google Maps' China tiles publish GCJ-02, so points digitised or geocoded against those
  maps are shifted by a few hundred metres from WGS 84.
* **BD-09**, Baidu Maps' own system: a further, smaller offset applied on top of GCJ-02.

Neither system is an EPSG CRS and PROJ cannot convert them, so they are handled here.  The formulas are the public
ones (the leaked GCJ-02 forward transform on the Krasovsky 1940 ellipsoid, a = 6378245.0 m,
e^2 = 0.00669342162296594323, and Baidu's GCJ-02 -> BD-09 rotation/scaling with x_pi = pi * 3000 / 180) that many
open-source libraries reimplement; this module was written from the formulas, vectorised with numpy.

As in the public algorithm, the GCJ-02 offset is applied only inside a rough bounding box of mainland China
(longitude 72.004..137.8347, latitude 0.8293..55.8271); outside it GCJ-02 equals WGS 84.

Only the forward directions (WGS 84 -> GCJ-02 and GCJ-02 -> BD-09) have closed forms.  The inverses here are exact
inverses computed by fixed-point iteration (start from the usual one-step approximation, then repeatedly subtract
the residual of the forward transform) until the residual is below 1e-9 degrees (about 0.1 mm) or 10 iterations have
run.  The one-step approximations commonly used elsewhere are off by up to a few metres for GCJ-02 and up to about
a metre for BD-09; the iterated inverses round-trip to well under a millimetre (except within a few hundred metres
of the bounding-box edge, where the public forward transform itself is discontinuous).

Points a transformation cannot handle (for example outside a projection's domain) come back as NaN or inf rather
than raising, so the caller can report the offending rows.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from geo.errors import InvalidCRS

__all__ = [
    "WGS84",
    "SourceCRS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "parse_crs",
    "transform_geometries",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

# --- GCJ-02 constants (Krasovsky 1940 ellipsoid) ---------------------------------------------------------------
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323

# Rough bounding box of mainland China used by the public algorithm; outside it the offset is zero.
_CHINA_LON_MIN, _CHINA_LON_MAX = 72.004, 137.8347
_CHINA_LAT_MIN, _CHINA_LAT_MAX = 0.8293, 55.8271

# --- BD-09 constants -------------------------------------------------------------------------------------------
_X_PI = math.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006

# --- inverse iteration -----------------------------------------------------------------------------------------
_INVERSE_TOLERANCE_DEG = 1e-9
_INVERSE_MAX_ITERATIONS = 10

_ACCEPTED = "give an EPSG code (e.g. EPSG:4326, EPSG:4547) or gcj02 / bd09"
_EPSG_RE = re.compile(r"^(?:epsg\s*:\s*)?(\d{1,9})$", re.IGNORECASE)
_OFFSET_SYSTEMS = {"gcj02": "gcj02", "bd09": "bd09"}


def _as_float_arrays(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return lon, lat


def _in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Mask of points inside the bounding box where the GCJ-02 offset applies (NaN is outside)."""
    return (lon >= _CHINA_LON_MIN) & (lon <= _CHINA_LON_MAX) & (lat >= _CHINA_LAT_MIN) & (lat <= _CHINA_LAT_MAX)


def _gcj02_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS-84, in degrees, at WGS-84 point(s) (lon, lat); zero outside the China bounding box."""
    x = lon - 105.0
    y = lat - 35.0
    # The two "noise" polynomials of the public algorithm, in metres-ish units on the Krasovsky ellipsoid.
    common = (20.0 * np.sin(6.0 * np.pi * x) + 20.0 * np.sin(2.0 * np.pi * x)) * 2.0 / 3.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    d_lat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * sqrt_abs_x
        + common
        + (20.0 * np.sin(np.pi * y) + 40.0 * np.sin(np.pi * y / 3.0)) * 2.0 / 3.0
        + (160.0 * np.sin(np.pi * y / 12.0) + 320.0 * np.sin(np.pi * y / 30.0)) * 2.0 / 3.0
    )
    d_lon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * sqrt_abs_x
        + common
        + (20.0 * np.sin(np.pi * x) + 40.0 * np.sin(np.pi * x / 3.0)) * 2.0 / 3.0
        + (150.0 * np.sin(np.pi * x / 12.0) + 300.0 * np.sin(np.pi * x / 30.0)) * 2.0 / 3.0
    )
    # Scale the metre offsets to degrees using the Krasovsky radii of curvature at the point's latitude.
    rad_lat = np.radians(lat)
    w2 = 1.0 - _KRASOVSKY_EE * np.sin(rad_lat) ** 2
    w = np.sqrt(w2)
    meridian_radius = _KRASOVSKY_A * (1.0 - _KRASOVSKY_EE) / (w2 * w)
    parallel_radius = _KRASOVSKY_A / w * np.cos(rad_lat)
    d_lat = np.degrees(d_lat / meridian_radius)
    d_lon = np.degrees(d_lon / parallel_radius)
    inside = _in_china(lon, lat)
    return np.where(inside, d_lon, 0.0), np.where(inside, d_lat, 0.0)


def _iterate_inverse(forward, target_lon: np.ndarray, target_lat: np.ndarray, lon: np.ndarray, lat: np.ndarray):
    """Solve forward(lon, lat) == target by fixed-point iteration from the initial guess (lon, lat)."""
    for _ in range(_INVERSE_MAX_ITERATIONS):
        f_lon, f_lat = forward(lon, lat)
        r_lon = f_lon - target_lon
        r_lat = f_lat - target_lat
        lon = lon - r_lon
        lat = lat - r_lat
        # Non-finite points never converge; ignore them (they stay NaN/inf for the caller to report).
        residual = np.maximum(np.abs(r_lon), np.abs(r_lat))
        residual = residual[np.isfinite(residual)]
        if residual.size == 0 or residual.max() < _INVERSE_TOLERANCE_DEG:
            break
    return lon, lat


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 -> GCJ-02 (vectorised; points outside mainland China's bounding box are unchanged)."""
    lon, lat = _as_float_arrays(lon, lat)
    with np.errstate(invalid="ignore"):
        d_lon, d_lat = _gcj02_offset(lon, lat)
    return lon + d_lon, lat + d_lat


def gcj02_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> WGS-84, exact inverse of :func:`wgs84_to_gcj02` by fixed-point iteration (residual < 1e-9 deg)."""
    lon, lat = _as_float_arrays(lon, lat)
    with np.errstate(invalid="ignore"):
        # One-step approximation as the starting point: subtract the offset evaluated at the GCJ-02 point.
        d_lon, d_lat = _gcj02_offset(lon, lat)
        return _iterate_inverse(wgs84_to_gcj02, lon, lat, lon - d_lon, lat - d_lat)


def gcj02_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> BD-09 (Baidu), the public closed-form transform."""
    lon, lat = _as_float_arrays(lon, lat)
    with np.errstate(invalid="ignore"):
        z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
        theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
        return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def _bd09_to_gcj02_one_step(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon - _BD_DLON
    y = lat - _BD_DLAT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def bd09_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 -> GCJ-02, exact inverse of :func:`gcj02_to_bd09` (public one-step formula refined by iteration)."""
    lon, lat = _as_float_arrays(lon, lat)
    with np.errstate(invalid="ignore"):
        g_lon, g_lat = _bd09_to_gcj02_one_step(lon, lat)
        return _iterate_inverse(gcj02_to_bd09, lon, lat, g_lon, g_lat)


def wgs84_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 -> BD-09 (via GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 -> WGS-84 (via GCJ-02, both steps exact inverses)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


@lru_cache(maxsize=64)
def _transformer_to_wgs84(name: str) -> Transformer:
    return Transformer.from_crs(name, "EPSG:4326", always_xy=True)


@dataclass(frozen=True)
class SourceCRS:
    """The CRS an import's coordinates are in, and how to convert them to WGS 84 longitude/latitude."""

    name: str  # canonical: "EPSG:<code>", "gcj02" or "bd09"
    is_geographic: bool

    def to_wgs84(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Convert coordinate arrays (x = easting/longitude, y = northing/latitude) to WGS 84 (lon, lat) arrays.

        Never raises for individual points: those that cannot be converted come back as NaN or inf.
        """
        x, y = _as_float_arrays(x, y)
        if self.name == "EPSG:4326":
            return x.copy(), y.copy()
        if self.name == "gcj02":
            return gcj02_to_wgs84(x, y)
        if self.name == "bd09":
            return bd09_to_wgs84(x, y)
        lon, lat = _transformer_to_wgs84(self.name).transform(x, y, errcheck=False)
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


WGS84 = SourceCRS("EPSG:4326", True)


def parse_crs(text: str | None) -> SourceCRS:
    """Parse a user-given CRS: None (WGS 84), "EPSG:<code>" / "<code>" (any case), or gcj02 / GCJ-02 / bd09 / BD-09.

    Raises InvalidCRS naming the value received and what is accepted.
    """
    if text is None:
        return WGS84
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str):
        raise InvalidCRS(f"unknown CRS {text!r}: {_ACCEPTED}")
    value = text.strip()
    offset_key = re.sub(r"[\s_-]", "", value).lower()
    if offset_key in _OFFSET_SYSTEMS:
        return SourceCRS(_OFFSET_SYSTEMS[offset_key], True)
    match = _EPSG_RE.match(value)
    if not match:
        raise InvalidCRS(f"unknown CRS {text!r}: {_ACCEPTED}")
    code = int(match.group(1))
    if code == 4326:
        return WGS84
    name = f"EPSG:{code}"
    try:
        crs = CRS.from_epsg(code)
    except CRSError:
        raise InvalidCRS(f"unknown CRS {text!r}: {_ACCEPTED}") from None
    if not (crs.is_geographic or crs.is_projected):
        raise InvalidCRS(
            f"unsupported CRS {text!r} ({crs.type_name} {crs.name!r}): need a geographic or projected CRS; {_ACCEPTED}"
        )
    try:
        _transformer_to_wgs84(name)
    except CRSError as exc:
        raise InvalidCRS(f"unsupported CRS {text!r}: no transformation to EPSG:4326 ({exc}); {_ACCEPTED}") from None
    return SourceCRS(name, bool(crs.is_geographic))


def transform_geometries(geoms: np.ndarray, crs: SourceCRS) -> np.ndarray:
    """Convert an array of shapely geometries from ``crs`` to WGS 84 (vectorised with shapely.transform).

    Geometry types and Z values are kept; missing geometries (None) stay None.  Identity for EPSG:4326.
    """
    arr = np.asarray(geoms, dtype=object)
    if crs.name == "EPSG:4326":
        return arr.copy()

    def convert(coords: np.ndarray) -> np.ndarray:
        out = np.array(coords, dtype=np.float64, copy=True)
        if len(out):
            out[:, 0], out[:, 1] = crs.to_wgs84(out[:, 0], out[:, 1])
        return out

    return shapely.transform(arr, convert, include_z=None)
