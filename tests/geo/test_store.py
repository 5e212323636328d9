"""The feature store schema: migrations from an empty database, idempotence, and the database's own constraints."""

from __future__ import annotations

import re
from importlib import resources

import psycopg2
import psycopg2.errors
import pytest

from geo import store
from geo.kinds import KINDS
from tests.conftest import throwaway_database


def migration_files() -> list[str]:
    """The NNNN_name.sql files shipped in geo/sql/migrations."""
    folder = resources.files("geo").joinpath("sql/migrations")
    return sorted(e.name for e in folder.iterdir() if re.match(r"^\d{4}_[a-z0-9_]+\.sql$", e.name))


@pytest.fixture
def empty_db(cluster):
    """A connection to a brand-new database with nothing in it (not cloned from the migrated template)."""
    with throwaway_database(cluster[1], template="template0") as url:
        conn = store.connect(url)
        yield conn
        conn.close()


def query(conn, sql: str, params=()) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        out = cur.fetchall()
    conn.rollback()
    return out


def test_migrations_apply_from_empty_and_reapply_as_a_no_op(empty_db):
    """From empty: every migration file applies once and schema_version counts them; a second migrate applies none."""
    files = migration_files()
    assert files, "no migration files found"
    assert store.schema_version(empty_db) == 0
    applied = store.migrate(empty_db)
    assert [f"{m.version:04d}_{m.name}.sql" for m in applied] == files
    assert store.schema_version(empty_db) == len(files)
    assert store.migrate(empty_db) == []
    assert store.schema_version(empty_db) == len(files)
    assert query(empty_db, "SELECT count(*) FROM riskmap_schema_migrations") == [(len(files),)]


def test_every_kind_has_its_table_with_typed_columns_constraints_and_index(empty_db):
    """Each kind's table: a typed column per attribute, a unique source_id, SRID 4326 and a GiST index on geom."""
    store.migrate(empty_db)
    pg_type = {"text": "text", "integer": "integer", "double precision": "double precision",
               "boolean": "boolean", "date": "date", "jsonb": "jsonb"}
    for kind in KINDS.values():
        columns = dict(query(empty_db, "SELECT column_name, data_type FROM information_schema.columns "
                                       "WHERE table_schema = 'public' AND table_name = %s", (kind.table,)))
        assert columns, f"no table {kind.table}"
        for core in ("id", "source_id", "name", "props", "synthetic", "geom", "created_at", "updated_at"):
            assert core in columns, f"{kind.table}.{core} missing"
        for attr in kind.attributes:
            assert columns.get(attr.name) == pg_type[attr.sql_type], f"{kind.table}.{attr.name}"

        unique = query(empty_db, """
            SELECT a.attname FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
            WHERE c.conrelid = %s::regclass AND c.contype = 'u'""", (kind.table,))
        assert ("source_id",) in unique, f"{kind.table}: no unique constraint on source_id"

        gist = query(empty_db, """
            SELECT i.relname FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_am am ON am.oid = i.relam
            JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY (x.indkey)
            WHERE x.indrelid = %s::regclass AND am.amname = 'gist' AND a.attname = 'geom'""", (kind.table,))
        assert gist, f"{kind.table}: no GiST index on geom"

        assert query(empty_db, "SELECT srid FROM geometry_columns WHERE f_table_name = %s AND f_geometry_column = "
                               "'geom'", (kind.table,)) == [(4326,)]


# ----- the constraints themselves, bypassing the importer ----------------------------------------------------------


def insert_rejected(conn, sql: str, params=()) -> psycopg2.Error:
    """Run an INSERT that must fail with a CheckViolation; returns the error."""
    with pytest.raises(psycopg2.errors.CheckViolation) as exc:
        with conn.cursor() as cur:
            cur.execute(sql, params)
    conn.rollback()
    return exc.value


def test_database_rejects_an_invalid_geometry(db):
    """A self-intersecting (bow-tie) venue polygon inserted with plain SQL violates the validity constraint."""
    err = insert_rejected(db, "INSERT INTO venue (source_id, name, venue_type, geom) VALUES ('V1', 'v', 'mall', "
                              "ST_GeomFromText('POLYGON((118 39, 118.01 39.01, 118.01 39, 118 39.01, 118 39))', 4326))")
    assert err.diag.constraint_name == "venue_geom_valid"


def test_database_rejects_an_empty_geometry(db):
    """An empty point inserted with plain SQL violates the validity constraint."""
    err = insert_rejected(db, "INSERT INTO enterprise (source_id, name, industry, geom) VALUES "
                              "('E1', 'e', 'mining', ST_GeomFromText('POINT EMPTY', 4326))")
    assert err.diag.constraint_name == "enterprise_geom_valid"


def test_database_rejects_a_wrong_geometry_type(db):
    """A LineString enterprise inserted with plain SQL violates the geometry-type constraint."""
    err = insert_rejected(db, "INSERT INTO enterprise (source_id, name, industry, geom) VALUES "
                              "('E1', 'e', 'mining', ST_GeomFromText('LINESTRING(118 39, 118.1 39.1)', 4326))")
    assert err.diag.constraint_name == "enterprise_geom_type"


@pytest.mark.parametrize("table, column, value", [
    ("enterprise", "industry", "wobbly"),
    ("tailings_pond", "safety_state", "wobbly"),
    ("enterprise", "status", "Operating"),
])
def test_database_rejects_an_out_of_enum_value(db, table, column, value):
    """A value outside an enum column's canonical set, inserted with plain SQL, violates its CHECK."""
    extra = {"enterprise": ("industry", "mining")}.get(table)
    cols = ["source_id", "name", column, "geom"]
    vals = ["X1", "x", value]
    if extra and extra[0] != column:
        cols.insert(2, extra[0])
        vals.insert(2, extra[1])
    placeholders = ", ".join(["%s"] * len(vals)) + ", ST_SetSRID(ST_MakePoint(118, 39), 4326)"
    insert_rejected(db, f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({placeholders})", vals)


def test_database_rejects_a_negative_capacity_and_accepts_a_good_row(db):
    """capacity_10k_m3 = -5 violates its range CHECK, while the same row with 5 is accepted."""
    sql = ("INSERT INTO tailings_pond (source_id, name, capacity_10k_m3, geom) "
           "VALUES ('T1', 't', %s, ST_SetSRID(ST_MakePoint(118, 39), 4326))")
    insert_rejected(db, sql, (-5,))
    with db.cursor() as cur:
        cur.execute(sql, (5,))
    db.commit()
    assert query(db, "SELECT source_id, capacity_10k_m3 FROM tailings_pond") == [("T1", 5.0)]


def test_database_rejects_a_duplicate_source_id(db):
    """The unique constraint on source_id refuses a second row with the same id."""
    sql = ("INSERT INTO enterprise (source_id, name, industry, geom) "
           "VALUES ('E1', 'e', 'mining', ST_SetSRID(ST_MakePoint(118, 39), 4326))")
    with db.cursor() as cur:
        cur.execute(sql)
    db.commit()
    with pytest.raises(psycopg2.errors.UniqueViolation):
        with db.cursor() as cur:
            cur.execute(sql)
    db.rollback()
