"""The siting check's input: the project geometry (a GeoJSON Point or Polygon in WGS 84) and its chemicals, checked
and resolved against GB 18218 Tables 1 and 2.  Every problem is a ``SitingInputError`` naming the field (as the
request body spells it: ``geometry.coordinates.0.2``, ``chemicals.1.name``) and what is wrong with it.
``read_project`` reads a project from a GeoJSON file (``riskmap siting-check``) and names the fields as the file
holds them."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pyproj import Geod

from geo.attribute_checks import HAZARD_CATEGORIES, parse_chemicals
from geo.errors import InputError
from geo.risk.chemicals import MATCH_UNKNOWN, explode_inventories, inventory_sums, resolve_entries

GEOD = Geod(ellps="WGS84")
MAX_CHEMICALS = 200
MAX_TONNES = 1e7
MAX_NAME = 200


class SitingInputError(InputError):
    """Bad input to a siting check: ``errors`` holds one (field, message) per problem, the field named as in the
    request body (``geometry.coordinates``, ``chemicals.0.tonnes``)."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors))


def body_error(field: str, message: str) -> SitingInputError:
    """The error of one field."""
    return SitingInputError([(field, message)])


class ChemicalIn(BaseModel):
    """One chemical of the project: its name (a GB 18218 Table 1 name, alias or CAS number) and quantity."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME, validation_alias=AliasChoices("name", "chemical"),
                      description="Name, alias or CAS number of GB 18218-2018 Table 1 (or any name with "
                                  "hazard_category).")
    tonnes: float = Field(ge=0, le=MAX_TONNES, allow_inf_nan=False, strict=True,
                          validation_alias=AliasChoices("tonnes", "quantity_t"),
                          description="The largest quantity present (t), in process or stored.")
    hazard_category: str | None = Field(None, description="GB 18218 Table 2 category (J1-J5, W1.1-W11) for a "
                                                          "chemical not named in Table 1.")


_CHEMICAL = TypeAdapter(ChemicalIn)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _position(value: Any, field: str) -> tuple[float, float]:
    """A GeoJSON position [lon, lat] (an altitude is ignored), in range."""
    if not isinstance(value, list) or len(value) not in (2, 3) or not all(_is_number(v) for v in value):
        raise body_error(field, "a position must be [longitude, latitude] in numbers")
    lon, lat = float(value[0]), float(value[1])
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise body_error(field, "coordinates must be finite numbers")
    if not -180.0 <= lon <= 180.0:
        raise body_error(field, f"longitude {lon!r} is out of range [-180, 180] (WGS 84, longitude first)")
    if not -90.0 <= lat <= 90.0:
        raise body_error(field, f"latitude {lat!r} is out of range [-90, 90] (WGS 84, longitude first)")
    return lon, lat


def parse_geometry(geometry: dict[str, Any], max_area_km2: float) -> tuple[shapely.Geometry, float | None]:
    """The project geometry as shapely (2D, WGS 84) and a polygon's geodesic area (m²); an error naming the field."""
    kind = geometry.get("type")
    if kind not in ("Point", "Polygon"):
        raise body_error("geometry.type", f"expected a GeoJSON Point or Polygon, not {kind!r}")
    coords = geometry.get("coordinates")
    if coords is None:
        raise body_error("geometry.coordinates", "missing coordinates")
    if not isinstance(coords, list) or not coords:
        raise body_error("geometry.coordinates", f"empty {kind}: coordinates must be a non-empty array")
    if kind == "Point":
        return shapely.Point(_position(coords, "geometry.coordinates")), None
    rings = []
    for i, ring in enumerate(coords):
        if not isinstance(ring, list):
            raise body_error(f"geometry.coordinates.{i}", "a linear ring must be an array of positions")
        points = [_position(p, f"geometry.coordinates.{i}.{j}") for j, p in enumerate(ring)]
        if len(points) < 4:
            raise body_error(f"geometry.coordinates.{i}", "a linear ring needs at least 4 positions (RFC 7946 §3.1.6)")
        if points[0] != points[-1]:
            raise body_error(f"geometry.coordinates.{i}", "a linear ring must be closed: its first and last "
                                                          "positions must be equal (RFC 7946 §3.1.6)")
        rings.append(points)
    polygon = shapely.Polygon(rings[0], rings[1:])
    if not polygon.is_valid:
        raise body_error("geometry", f"invalid polygon: {shapely.is_valid_reason(polygon)}")
    area_m2 = abs(GEOD.geometry_area_perimeter(polygon)[0])
    if not area_m2 > 0:
        raise body_error("geometry", "invalid polygon: its area is zero")
    if area_m2 > max_area_km2 * 1e6:
        raise body_error("geometry", f"the polygon covers {area_m2 / 1e6:.1f} km², more than the "
                                     f"{max_area_km2:g} km² a project site may cover")
    return polygon, area_m2


def _errors_under(e: ValidationError, prefix: tuple) -> SitingInputError:
    return SitingInputError([(".".join(str(part) for part in (*prefix, *err["loc"])), err["msg"])
                             for err in e.errors()])


def parse_project_chemicals(value: Any) -> tuple[list[dict], list[str]]:
    """The entries {chemical, quantity_t, hazard_category?} and, per entry, the field to name in an error."""
    if isinstance(value, str):
        try:
            entries = parse_chemicals(value)  # the importer's 'name:tonnes;name:tonnes' form
        except ValueError as e:
            raise body_error("chemicals", str(e)) from None
        fields = ["chemicals"] * len(entries)
    elif isinstance(value, list):
        if len(value) > MAX_CHEMICALS:
            raise body_error("chemicals", f"at most {MAX_CHEMICALS} chemicals, not {len(value)}")
        entries, fields = [], []
        for i, item in enumerate(value):
            try:
                c = _CHEMICAL.validate_python(item)
            except ValidationError as e:
                raise _errors_under(e, ("chemicals", i)) from None
            entry = {"chemical": c.name.strip(), "quantity_t": c.tonnes}
            if not entry["chemical"]:
                raise body_error(f"chemicals.{i}.name", "the chemical's name is blank")
            if c.hazard_category is not None:
                category = c.hazard_category.strip().upper()
                if category not in HAZARD_CATEGORIES:
                    raise body_error(f"chemicals.{i}.hazard_category",
                                     f"unknown GB 18218 hazard category {c.hazard_category!r}; expected one of "
                                     f"{', '.join(sorted(HAZARD_CATEGORIES))}")
                entry["hazard_category"] = category
            entries.append(entry)
            fields.append(f"chemicals.{i}.name")
    elif value is None:
        raise body_error("chemicals", "no chemicals: give the project's chemicals and quantities")
    else:
        raise body_error("chemicals", 'expected a list of {"name", "tonnes"} objects or the text form '
                                      '"name:tonnes;name:tonnes"')
    if not entries:
        raise body_error("chemicals", "no chemicals: give the project's chemicals and quantities")
    if len(entries) > MAX_CHEMICALS:
        raise body_error("chemicals", f"at most {MAX_CHEMICALS} chemicals, not {len(entries)}")
    return entries, fields



def resolve_chemicals(entries: list[dict], fields: list[str], g: dict) -> tuple[pd.DataFrame, pd.Series]:
    """Q, β, q/Q per entry (geo.risk.chemicals) and the S and Σβq/Q sums; an error naming every unknown chemical."""
    inventory = pd.Series([None], dtype=object)
    inventory.iloc[0] = entries
    exploded, _, _ = explode_inventories(inventory)
    resolved = resolve_entries(exploded, g)
    unknown = np.flatnonzero(resolved["match"].to_numpy() == MATCH_UNKNOWN)
    if len(unknown):
        raise SitingInputError([
            (fields[k], f"unknown chemical {entries[k]['chemical']!r}: not a name, alias or CAS number of GB "
                        "18218-2018 Table 1; give its hazard_category (Table 2: J1-J5, W1.1-W11) in the list form")
            for k in unknown])
    sums = inventory_sums(inventory, g).iloc[0]
    return resolved, sums



# ----- a project file (riskmap siting-check PROJECT.geojson) --------------------------------------------------------

GEOMETRY_TYPES = ("Point", "Polygon", "MultiPoint", "LineString", "MultiLineString", "MultiPolygon",
                  "GeometryCollection")
WGS84_NAMES = {"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "urn:ogc:def:crs:EPSG::4326",
               "EPSG:4326", "CRS84", "OGC:CRS84"}


@dataclass
class ProjectFile:
    """A project read from a GeoJSON file, and how the file names each request field (for error messages)."""

    geometry: Any
    chemicals: Any
    name: str | None
    fields: dict[str, str]  # request field ("geometry", "chemicals") -> where it is in the file

    def located(self, error: SitingInputError) -> SitingInputError:
        """``error`` with each field named as the file (or the command line) holds it."""
        renamed = []
        for field, message in error.errors:
            head, dot, tail = field.partition(".")
            where = self.fields.get(head, head)
            if where.startswith("--"):  # a command-line option: its text as a whole
                renamed.append((where, message))
            else:  # the file's own path to the field ("coordinates.0" of a bare geometry)
                renamed.append((where + dot + tail if where else tail or "geometry", message))
        return SitingInputError(renamed)


def read_project(path: Path, chemicals: str | None = None, name: str | None = None) -> ProjectFile:
    """The project of a GeoJSON file: a Feature (a Point or Polygon in WGS 84) whose properties hold ``chemicals``
    (a list of {"name", "tonnes"} or the text form "氯:10;氨:100") and optionally ``name``, a FeatureCollection of
    one such Feature, or a bare Point or Polygon.  ``chemicals`` and ``name``, when given, replace the file's.
    InputError names the file and what is wrong with it; the geometry and chemicals themselves are checked by
    ``check_siting``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: a directory, not a GeoJSON file") from None
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); GeoJSON is UTF-8 "
                         "(RFC 7946)") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a GeoJSON object (a Feature of the project), not a JSON "
                         f"{type(doc).__name__}")
    crs = doc.get("crs")
    crs_name = crs.get("properties", {}).get("name") if isinstance(crs, dict) and isinstance(crs.get("properties"),
                                                                                              dict) else crs
    if crs is not None and crs_name not in WGS84_NAMES:
        raise InputError(f"{path}: crs {crs_name!r}: the siting check takes WGS 84 longitude/latitude (RFC 7946); "
                         "convert the file first, e.g. ogr2ogr -t_srs EPSG:4326 out.geojson in.geojson")
    prefix = ""
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list) or len(features) != 1:
            count = len(features) if isinstance(features, list) else "no"
            raise InputError(f"{path}: the FeatureCollection holds {count} features; a project is one Feature "
                             "(its site, a Point or Polygon)")
        doc, prefix = features[0], "features.0."
        kind = doc.get("type") if isinstance(doc, dict) else None
    if kind in GEOMETRY_TYPES:  # a bare geometry: the chemicals come from --chemicals
        geometry, properties, geometry_field, props_field = doc, {}, prefix.rstrip("."), None
    elif kind == "Feature":
        geometry = doc.get("geometry")
        if geometry is None:
            raise InputError(f"{path}: {prefix}geometry: the Feature has no geometry; give the site as a Point or "
                             "Polygon")
        if not isinstance(geometry, dict):
            raise InputError(f"{path}: {prefix}geometry: expected a GeoJSON geometry object")
        properties = doc.get("properties") or {}
        if not isinstance(properties, dict):
            raise InputError(f"{path}: {prefix}properties: expected an object")
        geometry_field, props_field = f"{prefix}geometry", f"{prefix}properties"
    else:
        raise InputError(f"{path}: expected a GeoJSON Feature (or a FeatureCollection of one), not type {kind!r}")
    if name is None:
        name = properties.get("name")
        if name is not None and not isinstance(name, str):
            raise InputError(f"{path}: {props_field}.name: the project name must be text, not {name!r}")
    if name is not None and len(name) > MAX_NAME:
        raise InputError(f"{path}: the project name is longer than {MAX_NAME} characters")
    if chemicals is not None:
        chemicals_field = "--chemicals"
    else:
        chemicals = properties.get("chemicals")
        chemicals_field = f"{props_field}.chemicals" if props_field else "--chemicals"
        if chemicals is None:
            raise InputError(f"{path}: no chemicals: give them as the Feature's properties.chemicals (a list of "
                             '{"name": "氯", "tonnes": 10} or the text "氯:10;氨:100"), or with --chemicals')
    return ProjectFile(geometry, chemicals, name, {"geometry": geometry_field, "chemicals": chemicals_field})
