"""Which source column of an imported file feeds which riskmap field (part of validating an import, see
geo/validate.py): a mapping file first, then the field's own name and its aliases, case-insensitive; columns that
feed nothing are kept in the feature's ``props``."""

from __future__ import annotations

from dataclasses import dataclass, field

from geo.errors import InputError
from geo.kinds import FeatureKind

ID_NAMES = ("source_id", "id", "编号", "代码", "uid")
NAME_NAMES = ("name", "名称", "title")
LON_NAMES = ("lon", "lng", "longitude", "long", "x", "经度")
LAT_NAMES = ("lat", "latitude", "y", "纬度")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom")
SYNTHETIC_NAMES = ("synthetic",)


@dataclass
class ColumnPlan:
    source_id: str
    name: str | None  # None for records, which have no name
    attributes: dict[str, str]  # riskmap attribute -> source column
    synthetic: str | None = None
    lon: str | None = None
    lat: str | None = None
    wkt: str | None = None
    extras: list[str] = field(default_factory=list)
    geometry: bool = True  # False for records without a geometry of their own

    def sources(self) -> dict[str, str]:
        """Each field -> the source column that feeds it (to name the file's own column in a report)."""
        named = {"source_id": self.source_id, "name": self.name, "synthetic": self.synthetic, "lon": self.lon,
                 "lat": self.lat, "wkt": self.wkt, **self.attributes}
        return {f: c for f, c in named.items() if c is not None}

    @property
    def target_columns(self) -> list[str]:
        """Columns written; ``props`` only when the file has extra columns (the table's default is {})."""
        cols = ["row_no", "source_id", *(["name"] if self.name is not None else []), *self.attributes]
        if self.extras:
            cols.append("props")
        if self.synthetic:
            cols.append("synthetic")
        return [*cols, "geom"] if self.geometry else cols


def plan_columns(kind: FeatureKind, columns: list[str], mapping: dict[str, str] | None, *, is_csv: bool,
                 has_geometry: bool, file: str) -> ColumnPlan:
    """Match source columns to riskmap fields; InputError when a needed column is missing."""
    mapping = dict(mapping or {})
    valid_targets = {"source_id", *(["name"] if kind.named else []), "synthetic", *kind.attribute_names,
                     *(["lon", "lat", "wkt"] if kind.geometry_types else [])}
    for src, dst in mapping.items():
        if dst not in valid_targets:
            raise InputError(f"mapping: {src!r} maps to unknown field {dst!r}; fields of {kind.name} are: "
                             f"{', '.join(sorted(valid_targets))}")
        if src not in columns:
            raise InputError(f"mapping: column {src!r} is not in {file}; its columns are: {', '.join(columns)}")
    taken: dict[str, str] = {dst: src for src, dst in mapping.items()}
    lowered = {c.lower().strip(): c for c in columns}

    def find(target: str, names: tuple[str, ...]) -> str | None:
        if target in taken:
            return taken[target]
        for n in (target, *names):
            c = lowered.get(n.lower())
            if c is not None and c not in mapping:
                return c
        return None

    id_names = (*ID_NAMES, *getattr(kind, "id_names", ()))
    sid = find("source_id", id_names)
    if sid is None:
        raise InputError(f"{file}: no id column (looked for {', '.join(id_names)}); name it in a mapping file, "
                         f"e.g. {{\"企业编号\": \"source_id\"}}")
    nm = None
    if kind.named:
        nm = find("name", NAME_NAMES)
        if nm is None:
            raise InputError(f"{file}: no name column (looked for {', '.join(NAME_NAMES)}); name it in a mapping "
                             "file")
    attrs: dict[str, str] = {}
    for a in kind.attributes:
        c = find(a.name, a.aliases)
        if c is not None:
            attrs[a.name] = c
    for alternatives in kind.required:
        if not any(a in attrs for a in alternatives):
            article = "an" if kind.name[0] in "aeiou" else "a"
            raise InputError(
                f"{file}: {article} {kind.name} file needs a {' or '.join(repr(a) for a in alternatives)} column "
                f"({kind.attribute(alternatives[0]).doc}); none found among: {', '.join(columns)}")
    plan = ColumnPlan(source_id=sid, name=nm, attributes=attrs, synthetic=find("synthetic", SYNTHETIC_NAMES),
                      geometry=bool(kind.geometry_types))
    if not plan.geometry:
        pass  # located by its site: coordinate columns, if any, are kept in props
    elif is_csv and not has_geometry:
        plan.wkt = find("wkt", WKT_NAMES)
        if plan.wkt is None:
            plan.lon, plan.lat = find("lon", LON_NAMES), find("lat", LAT_NAMES)
            if plan.lon is None or plan.lat is None:
                raise InputError(f"{file}: no coordinates: a CSV needs longitude and latitude columns (looked for "
                                 f"{'/'.join(LON_NAMES)} and {'/'.join(LAT_NAMES)}) or a WKT column")
    elif not has_geometry:
        raise InputError(f"{file}: the layer has no geometry")
    used = {plan.source_id, plan.name, plan.synthetic, plan.lon, plan.lat, plan.wkt, *attrs.values()}
    if is_csv and plan.geometry:  # coordinate columns beside a WKT geometry (as riskmap's own CSV export writes them)
        used |= {c for c in columns if c.lower().strip() in (*LON_NAMES, *LAT_NAMES)}
        if has_geometry:  # GDAL made the geometry from the WKT column and keeps it as text too
            used |= {c for c in columns if c.lower().strip() == "wkt"}
    plan.extras = [c for c in columns if c not in used and c != "wkb"]
    return plan
