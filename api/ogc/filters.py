"""CQL2 filters on the items of a collection (OGC API – Features Part 3): each layer's queryables, as the SQL
expressions the page queries (api/sql/ogc_*_items.sql) can read, and the ``filter`` / ``filter-lang`` /
``filter-crs`` parameters checked into a condition for those queries (api/cql2.py translates the text).

A queryable reads what the feature shows: ``score`` is the score rounded to two decimals as in the properties,
``name`` of a segment its pipeline's name.  Aliases, per family: a site's row ``f``, a segment ``s``, an area ``r``
(area_risk), a hidden danger ``h`` with its site's geometry ``s.geom``, a plan route ``pr`` (the view plan_route);
``r`` is the feature_risk row of a site, segment or danger's site.  ``top_factors`` (a list made for reading) is
not queryable.
"""

from __future__ import annotations

from psycopg2 import sql

from api.cql2 import Queryable, Where
from api.ogc.layers import Layer, Prop

# filter-crs: the filter's geometries are WGS 84 longitude, latitude (CRS84 or EPSG:4326, the same axes for WKT)
FILTER_CRS = ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", "http://www.opengis.net/def/crs/EPSG/0/4326")
NOT_QUERYABLE = frozenset({"top_factors"})

_RISK = {"score": "round(r.score::numeric, 2)", "level": "r.level", "direct_red": "r.direct_red"}
_COUNT = "(SELECT coalesce(sum((c.v ->> '{0}')::integer), 0) FROM jsonb_each(r.counts) AS c(k, v))"
# Properties that are not a column of the family's row alias (SQL text of this module, no input in it)
_EXPRESSIONS = {
    "site": _RISK,
    "segment": _RISK | {"name": "(SELECT p.name FROM pipeline p WHERE p.id = s.pipeline_id)",
                        "length_m": "round(s.length_m::numeric, 1)"},
    "danger": _RISK,
    "plan": {},
    "area": {"score": "round(r.score::numeric, 2)",
             "name": "(SELECT a.name FROM area a WHERE r.area_type = 'admin' AND a.admin_code = r.area_id)",
             "red": _COUNT.format("red"), "orange": _COUNT.format("orange"),
             "population_exposed": "round(r.population_exposed::numeric)"},
}
_ALIAS = {"site": "f", "segment": "s", "danger": "h", "plan": "pr", "area": "r"}
_GEOMETRY = {"site": ("f", "geom"), "segment": ("s", "geom"), "danger": ("s", "geom"), "plan": ("pr", "geom"),
             "area": ("r", "geom")}


def _type(prop: Prop) -> str:
    return {"date": "date", "date-time": "timestamp"}.get(prop.format or "", prop.type)


def queryables(layer: Layer) -> dict[str, Queryable]:
    """The layer's queryables: its properties (but top_factors) and its ``geometry``."""
    # (a layer of points on surface is filtered on the points it serves)
    geometry = sql.SQL(layer.geometry_sql) if layer.point else sql.Identifier(*_GEOMETRY[layer.family])
    out = {"geometry": Queryable(geometry, "geometry", "The feature's geometry.")}
    expressions = _EXPRESSIONS[layer.family]
    for prop in layer.props:
        if prop.name in NOT_QUERYABLE:
            continue
        column = (sql.SQL(expressions[prop.name]) if prop.name in expressions
                  else sql.Identifier(_ALIAS[layer.family], prop.name))
        out[prop.name] = Queryable(column, _type(prop), prop.description)
    return out


def condition(filter_: Where | None) -> sql.Composable:
    """The SQL condition a page query ANDs in: the filter, or TRUE."""
    return sql.SQL("TRUE") if filter_ is None else sql.SQL("({})").format(filter_)
