"""CQL2 text filters (OGC API - Features Part 3) as parameterised SQL conditions.

``where(text, queryables)`` parses a filter with pygeofilter's CQL2 text parser and translates its syntax tree,
node by node, into a ``psycopg2.sql`` condition.  Every value of the filter (strings, numbers, dates, geometries
as WKT) is a *named placeholder* ``%(cql2_<n>)s`` whose value is in the result's ``params`` dict; property names
become the SQL expressions their ``Queryable`` declares.  Nothing of the filter's text reaches the SQL text, so a
value holding quotes or SQL cannot change the query's shape.  Placeholders rather than ``sql.Literal``: a
literal's text goes into the query, and a ``%`` in it (every LIKE pattern) would then be read as a placeholder by
``cursor.execute(query, params)`` when the caller passes parameters of its own.  The caller merges the params::

    condition = where(text, queryables)
    cur.execute(sql.SQL("SELECT ... WHERE {}").format(condition), {**own_params, **condition.params})

Supported: ``= <> < <= > >=``, ``AND OR NOT``, ``[NOT] IN (...)``, ``[NOT] LIKE`` (CQL2's wildcards ``%`` and
``_``, escaped with a backslash: PostgreSQL's default LIKE escape, so patterns pass through unchanged; a pattern
ending in a lone backslash is refused), ``[NOT] BETWEEN``, ``IS [NOT] NULL``, ``CASEI(...)``, ``DATE('...')`` and
``TIMESTAMP('...')`` (a timestamp without an offset is taken as UTC; a date meets a timestamp in UTC, never in
the session's time zone; a "timestamp" queryable is a timestamptz column), and the spatial functions ``S_INTERSECTS``,
``S_DISJOINT``, ``S_CONTAINS``, ``S_WITHIN``, ``S_TOUCHES``, ``S_CROSSES``, ``S_OVERLAPS``, ``S_EQUALS`` with a
geometry property and ``BBOX(minx, miny, maxx, maxy)`` or a WKT geometry in WGS 84 (SRID 4326; an EWKT
``SRID=`` other than 4326 is refused).  Refused with ``FilterError`` (a 400 for the endpoint): malformed text, an
unknown property (the message lists the queryables), values of the wrong type for a property, temporal and array
operators, arithmetic and other functions.

pygeofilter 0.4's CQL2 text grammar departs from CQL2's BNF in three places.  Two are amended here, in the
grammar text before the parser is built (``_GRAMMAR_FIXES``; a pygeofilter whose grammar differs fails loudly):
- ``NOT (a AND b)``: it negates only a single predicate (``"NOT" "(" predicate ")"``), CQL2 any parenthesised
  condition (booleanFactor = ["NOT"] booleanPrimary), and GDAL sends ``NOT (<anything>)``;
- a quote inside a string is written ``''`` in CQL2; its string token ends at the first quote (and at a line break).
The third stays: a property name needs at least two characters (``[a-zA-Z][a-zA-Z_:0-9.]+``).

GDAL 3.6.2 (Debian's, the version the tests run) as a client, from its OAPIF driver source
(ogr/ogrsf_frmts/wfs/ogroapifdriver.cpp, ``GetQueryableAttributes`` / ``BuildFilterCQLText``) and the strings of
Debian's libgdal.so.32 (no "cql2" string at all; "&filter-lang=cql-text" and OGR_OAPIF_ALLOW_CQL_TEXT are there):
- It looks at no conformance class for filtering.  It pushes an ``-where`` down as CQL text only when the OpenAPI
  document (the landing page's ``service-desc``) has, under ``paths["/collections/<id>/items"]`` or else
  ``paths["/collections/{collectionId}/items"]``, ``get.parameters`` with a query parameter named ``filter-lang``
  whose ``schema.enum`` holds ``"cql-text"`` (the draft's name, not ``cql2-text``; a ``$ref`` to
  ``#/components/parameters/...`` is followed), or when the client sets ``OGR_OAPIF_ALLOW_CQL_TEXT=YES``.
  It then sends ``filter=<text>&filter-lang=cql-text``: the server must accept ``cql-text`` as ``cql2-text``.
- It pushes down only conditions on *queryable* fields: fields named by a query parameter of that OpenAPI
  operation, or listed in the document at the collection's link with ``rel: "queryables"`` (preferably
  ``type: application/json``) as a top-level array ``"queryables": [{"id": "<name>"}, ...]`` (the draft's shape;
  Part 3's JSON Schema ``properties`` are not read by 3.6.2, so the queryables document should carry both).
  The rest of a ``-where`` is evaluated on the client (CPL_DEBUG shows "Only part of the filter will be
  evaluated on server side"); an OR or NOT with a non-queryable side is not pushed down at all.
- The text it writes: ``(A) AND (B)``, ``(A) OR (B)``, ``NOT (A)``, ``(name IS NULL)``, and
  ``name <op> <constant>`` with ``= <> > >= < <= LIKE ILIKE``; strings quoted with ``''`` doubling, integers as
  such, reals with ``%.16g`` (so ``1e+20`` may appear), and a date or timestamp as a *string*: ``'2026-01-01T'``
  (a date, with a trailing T) or ``'2026-01-01T08:30:00Z'``.  ``BETWEEN`` becomes ``>= AND <=``; ``IN`` and
  spatial filters are not sent as CQL (``-spat`` goes to the ``bbox`` parameter).  ``id = '...'`` on a string id
  becomes a single-item request instead.  So this module accepts an ISO date or timestamp *string* compared with
  a date or timestamp property (with GDAL's trailing ``T``).  ``ILIKE`` is not CQL2 and pygeofilter does not parse
  it: GDAL's ``-where "name ILIKE '...'"`` gets a 400 (OGR SQL's ``LIKE`` is sent as ``LIKE``).  A boolean field is
  an integer to OGR: ``sprinklers = 0`` is sent as it is, so a 0 or 1 compared with a boolean property is read as
  FALSE or TRUE.
Seen with ogrinfo against a server showing just that (tests/api/test_cql2.py runs it): ``IS NOT NULL`` arrives as
``NOT ((employees IS NULL))`` and ``NOT (a OR b)`` as ``NOT ((a) OR (b))``, which pygeofilter's own grammar
refuses; a queryables document with JSON Schema ``properties`` only gives "Full filter will be evaluated on
client side"; a timestamp written with a space (``'2026-01-01 08:30:00'``) is sent as the date ``'2026-01-01T'``;
and a real such as ``1e+20`` is sent with its ``+`` unescaped, so the server reads ``1e 20`` and answers 400.
"""

from __future__ import annotations

import functools
import math
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

import shapely.geometry
import shapely.validation
from psycopg2 import sql
from pygeofilter import ast, values

PropertyType = Literal["string", "number", "integer", "boolean", "date", "timestamp", "geometry"]

# The families whose members compare with each other.
_FAMILY = {"string": "string", "number": "number", "integer": "number", "boolean": "boolean",
           "date": "time", "timestamp": "time", "geometry": "geometry"}

_COMPARISON = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=",
               ast.GreaterThan: ">", ast.GreaterEqual: ">="}
_SPATIAL = {ast.GeometryIntersects: ("S_INTERSECTS", "ST_Intersects"),
            ast.GeometryDisjoint: ("S_DISJOINT", "ST_Disjoint"),
            ast.GeometryContains: ("S_CONTAINS", "ST_Contains"), ast.GeometryWithin: ("S_WITHIN", "ST_Within"),
            ast.GeometryTouches: ("S_TOUCHES", "ST_Touches"), ast.GeometryCrosses: ("S_CROSSES", "ST_Crosses"),
            ast.GeometryOverlaps: ("S_OVERLAPS", "ST_Overlaps"), ast.GeometryEquals: ("S_EQUALS", "ST_Equals")}
_ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mul: "*", ast.Div: "/"}
_WGS84_NAMES = {"urn:ogc:def:crs:EPSG::4326", "EPSG:4326", "http://www.opengis.net/def/crs/EPSG/0/4326",
                "urn:ogc:def:crs:OGC:1.3:CRS84", "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
# GDAL 3.6 writes a date as '2026-01-01T' (see the module docstring).
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T?")
PARAM_PREFIX = "cql2_"
# The filter-lang values the items endpoint should accept as CQL2 text: GDAL 3.6 sends the draft's "cql-text".
FILTER_LANGS = ("cql2-text", "cql-text")
# Conditions nested deeper than this are refused: rendering the SQL (psycopg2's Composed) recurses as deep.
MAX_DEPTH = 100


@dataclass(frozen=True)
class Queryable:
    """One filterable property of a collection."""

    column: sql.Composable  # the SQL expression it reads (e.g. sql.Identifier("r", "score"))
    type: PropertyType
    description: str = ""


class FilterError(ValueError):
    """A filter that cannot be run; the message names what is wrong (the property, the operator, the value)."""


class Where(sql.Composed):
    """A filter's SQL condition, holding named placeholders ``%(cql2_<n>)s``; ``params`` holds their values."""

    def __init__(self, seq, params: dict[str, object]):
        super().__init__(seq)
        self.params = params


def where(text: str, queryables: dict[str, Queryable]) -> Where:
    """A CQL2-text filter as a WHERE condition whose values are all bound as named parameters (``.params``)."""
    if not isinstance(text, str) or not text.strip():
        raise FilterError("the filter is empty")
    if "\x00" in text:
        raise FilterError("the filter holds a NUL character")
    tree = _parse(text)
    translation = _Translation(queryables)
    try:
        condition = translation.condition(tree)
    except RecursionError:
        raise FilterError("the filter is nested too deeply") from None
    return Where([condition], translation.params)


# pygeofilter 0.4's grammar, amended in two places (the module docstring says why): (rule text, CQL2's).
_GRAMMAR_FIXES = [
    ('"NOT"i "(" predicate ")"', '"NOT"i "(" condition ")"'),
    ("SINGLE_QUOTED: \"'\" /.*?/ \"'\"", "SINGLE_QUOTED: /'(?:[^']|'')*'/"),
]


@functools.cache
def _parser():
    """pygeofilter's CQL2 text parser with its grammar amended (built once, a fraction of a second)."""
    from lark import Lark, v_args
    from pygeofilter.parsers.cql2_text import parser as cql2_text

    path = os.path.join(os.path.dirname(cql2_text.__file__), "grammar.lark")
    with open(path, encoding="utf-8") as f:
        grammar = f.read()
    for rule, amended in _GRAMMAR_FIXES:
        if grammar.count(rule) != 1:  # another pygeofilter: look at its grammar again
            raise RuntimeError(f"pygeofilter's CQL2 grammar has no rule {rule!r} to amend")
        grammar = grammar.replace(rule, amended)

    @v_args(meta=False, inline=True)
    class Transformer(cql2_text.CQLTransformer):
        def SINGLE_QUOTED(self, token):  # noqa: N802 (lark names terminal callbacks after the terminal)
            return token[1:-1].replace("''", "'")

        # pygeofilter's own two callbacks print their input to stdout (debugging left in): the same without
        def wkt__geometry_with_srid(self, srid, geometry):
            return {**geometry, "crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{srid}"}}}

        def wkt__multipoint_2(self, *coordinates):
            return {"type": "MultiPoint", "coordinates": coordinates}

    return Lark(grammar, parser="lalr", maybe_placeholders=False, transformer=Transformer(), source_path=path,
                import_paths=[os.path.dirname(os.path.dirname(path))])


def prepare() -> None:
    """Build the parser now (about half a second, once per process; an app's lifespan may call this so that the
    first filtered request does not wait for it)."""
    _parser()


# Each property type as JSON Schema, for the queryables document (Part 3, "Queryables").
_SCHEMA = {"string": {"type": "string"}, "number": {"type": "number"}, "integer": {"type": "integer"},
           "boolean": {"type": "boolean"}, "date": {"type": "string", "format": "date"},
           "timestamp": {"type": "string", "format": "date-time"},
           "geometry": {"format": "geometry-any", "x-ogc-role": "primary-geometry"}}


def queryables_document(queryables: dict[str, Queryable], url: str, title: str) -> dict:
    """The queryables document of a collection (``/collections/{id}/queryables``, served as
    ``application/schema+json``): Part 3's JSON Schema of the properties a filter may name, plus the draft's
    ``"queryables": [{"id": ...}]`` list, which is what GDAL 3.6 reads before it pushes a filter down."""
    properties = {}
    for name, queryable in queryables.items():
        schema = {"title": name, **_SCHEMA[queryable.type]}
        if queryable.description:
            schema["description"] = queryable.description
        properties[name] = schema
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": url, "type": "object",
            "title": title, "properties": properties, "additionalProperties": False,
            "queryables": [{"id": name, "type": queryable.type} for name, queryable in queryables.items()]}


def _parse(text: str):
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

    try:
        return _parser().parse(text)
    except UnexpectedEOF:
        raise FilterError("malformed CQL2 text: it ends too early") from None
    except UnexpectedCharacters as e:
        raise FilterError(f"malformed CQL2 text at column {e.column}: unexpected {e.char!r}") from None
    except UnexpectedToken as e:
        if e.token.type == "$END":
            raise FilterError("malformed CQL2 text: it ends too early") from None
        raise FilterError(f"malformed CQL2 text at column {e.column}: unexpected {str(e.token)!r}") from None
    except UnexpectedInput as e:
        raise FilterError(f"malformed CQL2 text at column {getattr(e, 'column', '?')}") from None
    except RecursionError:
        raise FilterError("the filter is nested too deeply") from None
    except Exception as e:  # a value the parser's transformers reject (a date, a geometry): still the text's fault
        cause = getattr(e, "orig_exc", e)
        raise FilterError(f"malformed CQL2 text: {cause}") from None


@dataclass
class _Operand:
    sql: sql.Composable
    type: str  # a PropertyType
    label: str  # for messages: the property's name or the value as written
    literal: object = None  # the Python value, when the operand is a literal
    is_literal: bool = False


class _Translation:
    def __init__(self, queryables: dict[str, Queryable]):
        self.queryables = queryables
        self.params: dict[str, object] = {}
        self.count = 0

    def param(self, value) -> sql.Placeholder:
        name = f"{PARAM_PREFIX}{self.count}"
        self.count += 1
        self.params[name] = value
        return sql.Placeholder(name)

    def replace(self, operand: _Operand, value, type_: str) -> _Operand:
        """The literal ``operand`` holding ``value`` of ``type_`` instead, under the same placeholder."""
        self.params[operand.sql.name] = value
        return _Operand(operand.sql, type_, operand.label, value, True)

    # -- conditions

    def condition(self, node, depth: int = 0) -> sql.Composable:
        if depth > MAX_DEPTH:
            raise FilterError(f"the filter is nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(node, ast.And | ast.Or):
            # a chain of ANDs (or ORs) is a left-deep tree: walked with a stack, so that a long one does not
            # recurse as deep as it is long
            combination, parts, pending = type(node), [], [node]
            while pending:
                part = pending.pop()
                if type(part) is combination:
                    pending += [part.rhs, part.lhs]
                else:
                    parts.append(self.condition(part, depth + 1))
            word = sql.SQL(" AND " if combination is ast.And else " OR ")
            return sql.SQL("({})").format(word.join(parts))
        if isinstance(node, ast.Not):
            return sql.SQL("(NOT {})").format(self.condition(node.sub_node, depth + 1))
        if isinstance(node, ast.Include):
            return sql.SQL("FALSE" if node.not_ else "TRUE")
        op = _COMPARISON.get(type(node))
        if op is not None:
            lhs, rhs = self.comparable(self.operand(node.lhs), self.operand(node.rhs), op)
            return sql.SQL("({} {} {})").format(lhs.sql, sql.SQL(op), rhs.sql)
        if isinstance(node, ast.Between):
            word = "NOT BETWEEN" if node.not_ else "BETWEEN"
            operand = self.operand(node.lhs)
            lhs, low = self.comparable(operand, self.operand(node.low), word)
            _, high = self.comparable(operand, self.operand(node.high), word)
            return sql.SQL("({} {} {} AND {})").format(lhs.sql, sql.SQL(word), low.sql, high.sql)
        if isinstance(node, ast.In):
            word = "NOT IN" if node.not_ else "IN"
            operand = self.operand(node.lhs)
            items = [self.comparable(operand, self.operand(item), word) for item in node.sub_nodes]
            return sql.SQL("({} {} ({}))").format(items[0][0].sql, sql.SQL(word),
                                                  sql.SQL(", ").join(rhs.sql for _, rhs in items))
        if isinstance(node, ast.Like):
            return self.like(node)
        if isinstance(node, ast.IsNull):
            operand = self.operand(node.lhs)
            if operand.is_literal:
                raise FilterError(f"IS NULL applies to a property, not to the value {operand.label}")
            return sql.SQL("({} IS NOT NULL)" if node.not_ else "({} IS NULL)").format(operand.sql)
        spatial = _SPATIAL.get(type(node))
        if spatial is not None:
            return self.spatial(spatial, node.lhs, node.rhs)
        if isinstance(node, ast.BBox):  # CQL1's BBOX(property, ...) predicate, which pygeofilter also reads
            if node.crs is not None and node.crs not in _WGS84_NAMES:
                raise FilterError(f"BBOX in {node.crs} is not supported: coordinates are WGS 84 (EPSG:4326)")
            box = ast.Function("bbox", [node.minx, node.miny, node.maxx, node.maxy])
            return self.spatial(_SPATIAL[ast.GeometryIntersects], node.lhs, box)
        raise FilterError(f"unsupported operator {_operator_name(node)}")

    def comparable(self, lhs: _Operand, rhs: _Operand, op: str) -> tuple[_Operand, _Operand]:
        lhs, rhs = self.as_time(lhs, rhs), self.as_time(rhs, lhs)
        lhs, rhs = self.as_boolean(lhs, rhs), self.as_boolean(rhs, lhs)
        for side in (lhs, rhs):
            if side.type == "geometry":
                raise FilterError(f"{side.label} is a geometry: compare geometries with a spatial function "
                                  f"such as S_INTERSECTS, not with {op}")
        if _FAMILY[lhs.type] != _FAMILY[rhs.type]:
            raise FilterError(f"type mismatch: {lhs.label} ({lhs.type}) {op} {rhs.label} ({rhs.type})")
        return self.in_utc(lhs, rhs), self.in_utc(rhs, lhs)

    def in_utc(self, operand: _Operand, other: _Operand) -> _Operand:
        """A date literal against a timestamp, or a timestamp literal against a date, as values that PostgreSQL
        compares without the session's time zone: a date is the start of its day in UTC, and a timestamp meets a
        date as a UTC timestamp without zone (PostgreSQL would otherwise turn the date into a timestamptz at
        midnight of the session's zone, eight hours off on a server set to Asia/Shanghai)."""
        if not operand.is_literal or {operand.type, other.type} != {"date", "timestamp"}:
            return operand
        if operand.type == "date":
            start = datetime(operand.literal.year, operand.literal.month, operand.literal.day, tzinfo=UTC)
            return self.replace(operand, start, "timestamp")
        return self.replace(operand, operand.literal.replace(tzinfo=None), "timestamp")

    def as_time(self, operand: _Operand, other: _Operand) -> _Operand:
        """A string literal compared with a date or timestamp property, read as an ISO 8601 date or timestamp
        (GDAL 3.6 sends dates so; see the module docstring); any other operand as it is."""
        if not (operand.is_literal and operand.type == "string" and _FAMILY[other.type] == "time"):
            return operand
        text = operand.literal
        try:
            if _ISO_DATE.fullmatch(text):
                return self.replace(operand, date.fromisoformat(text.rstrip("T")), "date")
            value = _utc(datetime.fromisoformat(text))
        except ValueError:
            return operand  # not a date: the type check names the mismatch
        return self.replace(operand, value, "timestamp")

    def as_boolean(self, operand: _Operand, other: _Operand) -> _Operand:
        """The number literal 0 or 1 compared with a boolean property, read as FALSE or TRUE (GDAL 3.6 sends an
        OGR boolean field, an integer of subtype boolean, so); any other operand as it is."""
        if not (operand.is_literal and operand.type == "number" and other.type == "boolean"
                and not isinstance(operand.literal, bool) and operand.literal in (0, 1)):
            return operand
        return self.replace(operand, bool(operand.literal), "boolean")

    def like(self, node: ast.Like) -> sql.Composable:
        word = "NOT LIKE" if node.not_ else "LIKE"
        lhs, pattern = self.operand(node.lhs), self.operand(node.pattern)
        for side in (lhs, pattern):
            if side.type != "string":
                raise FilterError(f"{word} compares strings: {side.label} is a {side.type}")
        if pattern.is_literal:
            trailing = len(pattern.literal) - len(pattern.literal.rstrip("\\"))
            if trailing % 2:
                raise FilterError(f"the {word} pattern {pattern.label} ends with a lone escape character (\\)")
        # CQL2's LIKE escape is the backslash, PostgreSQL's default: no ESCAPE clause needed.
        return sql.SQL("({} {} {})").format(lhs.sql, sql.SQL(word), pattern.sql)

    def spatial(self, names: tuple[str, str], left, right) -> sql.Composable:
        cql_name, function = names
        operands = [self.operand(left), self.operand(right)]
        for side in operands:
            if side.type != "geometry":
                raise FilterError(f"{cql_name} takes geometries: {side.label} is a {side.type}")
        return sql.SQL("{}({}, {})").format(sql.SQL(function), operands[0].sql, operands[1].sql)

    # -- operands

    def operand(self, node) -> _Operand:
        if isinstance(node, ast.Attribute):
            queryable = self.queryables.get(node.name)
            if queryable is None:
                known = ", ".join(sorted(self.queryables)) or "none"
                raise FilterError(f"unknown property {node.name!r}; the queryables are: {known}")
            return _Operand(queryable.column, queryable.type, node.name)
        if isinstance(node, ast.Function):
            return self.function(node)
        if isinstance(node, bool):
            return _Operand(self.param(node), "boolean", "TRUE" if node else "FALSE", node, True)
        if isinstance(node, int | float):
            if not math.isfinite(node):
                raise FilterError(f"the number {node} is out of range")
            return _Operand(self.param(node), "number", repr(node), node, True)
        if isinstance(node, str):
            return _Operand(self.param(node), "string", _quoted(node), node, True)
        if isinstance(node, datetime):
            value = _utc(node)
            return _Operand(self.param(value), "timestamp", f"TIMESTAMP('{value.isoformat()}')", value, True)
        if isinstance(node, date):
            return _Operand(self.param(node), "date", f"DATE('{node.isoformat()}')", node, True)
        if isinstance(node, values.Geometry):
            return self.geometry(node)
        if isinstance(node, values.Envelope):
            raise FilterError("ENVELOPE is not CQL2: write BBOX(minx, miny, maxx, maxy)")
        raise FilterError(f"unsupported operator {_operator_name(node)}")

    def function(self, node: ast.Function) -> _Operand:
        name = node.name.lower()
        if name == "lower":  # pygeofilter's name for CASEI
            if len(node.arguments) != 1:
                raise FilterError("CASEI takes one argument")
            inner = self.operand(node.arguments[0])
            if inner.type != "string":
                raise FilterError(f"CASEI takes a string: {inner.label} is a {inner.type}")
            return _Operand(sql.SQL("lower({})").format(inner.sql), "string", f"CASEI({inner.label})",
                            inner.literal.lower() if inner.is_literal else None, inner.is_literal)
        if name == "bbox":
            return self.bbox(node.arguments)
        raise FilterError(f"unsupported function {node.name.upper()}; the functions are CASEI and BBOX")

    def bbox(self, arguments) -> _Operand:
        numbers = [a for a in arguments if isinstance(a, int | float) and not isinstance(a, bool)]
        if len(numbers) != len(arguments) or len(numbers) not in (4, 6):
            raise FilterError("BBOX takes 4 numbers (minx, miny, maxx, maxy) or 6 (with minz and maxz)")
        minx, miny, maxx, maxy = numbers if len(numbers) == 4 else (numbers[0], numbers[1], numbers[3], numbers[4])
        label = f"BBOX({', '.join(repr(a) for a in arguments)})"
        if not all(math.isfinite(v) for v in numbers):
            raise FilterError(f"{label} has a coordinate out of range")
        if minx > maxx or miny > maxy:
            raise FilterError(f"{label}: the minimum exceeds the maximum (a box across the antimeridian is not "
                              "supported)")
        corners = [self.param(float(v)) for v in (minx, miny, maxx, maxy)]
        return _Operand(sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, 4326)").format(*corners), "geometry", label)

    def geometry(self, node: values.Geometry) -> _Operand:
        crs = (node.geometry.get("crs") or {}).get("properties", {}).get("name")
        if crs is not None and crs not in _WGS84_NAMES:
            raise FilterError(f"a geometry in {crs} is not supported: geometries are WGS 84 (SRID=4326)")
        geojson = {k: v for k, v in node.geometry.items() if k != "crs"}
        try:
            shape = shapely.geometry.shape(geojson)
        except Exception as e:  # shapely's own errors for a malformed coordinate list
            raise FilterError(f"invalid geometry {geojson.get('type')}: {e}") from None
        label = shape.wkt if len(shape.wkt) <= 80 else shape.wkt[:77] + "..."
        if shape.is_empty:
            raise FilterError(f"the geometry {label} is empty")
        if not shape.is_valid:
            raise FilterError(f"invalid geometry {label}: {shapely.validation.explain_validity(shape)}")
        return _Operand(sql.SQL("ST_GeomFromText({}, 4326)").format(self.param(shape.wkt)), "geometry", label)


def _utc(value: datetime) -> datetime:
    """A timestamp in UTC; one without an offset is taken as UTC (CQL2 timestamps end in Z)."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _quoted(value: str) -> str:
    shown = value if len(value) <= 60 else value[:57] + "..."
    return "'" + shown.replace("'", "''") + "'"


def _operator_name(node) -> str:
    if isinstance(node, ast.TemporalPredicate):
        return f"T_{node.op.name}"
    if isinstance(node, ast.ArrayPredicate):
        return f"A_{node.op.name[1:]}" if node.op.name.startswith("A") else node.op.name
    if type(node) in _ARITHMETIC:
        return f"{_ARITHMETIC[type(node)]} (arithmetic)"
    if isinstance(node, values.Interval):
        return "INTERVAL"
    return type(node).__name__
