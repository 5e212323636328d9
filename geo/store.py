"""The PostGIS feature store: connecting and versioned migrations.

The caller passes a connection URL (or a connection) in; this module owns no pool and reads no settings.
Migrations are the numbered ``sql/migrations/NNNN_name.sql`` files shipped with the package; each one is applied
once, in its own transaction, under an advisory lock so that two processes starting together do not race.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from geo.errors import DatabaseUnavailable, MissingSystemDependency

_MIGRATION_LOCK = 7_301_190  # arbitrary advisory-lock key owned by riskmap migrations
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The migrations shipped with riskmap, in order."""
    found = []
    for entry in resources.files("geo").joinpath("sql/migrations").iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions: {versions}")
    return found


def connect(url: str, **kwargs) -> psycopg2.extensions.connection:
    """Open a connection, turning connection failures into DatabaseUnavailable with the server named."""
    try:
        return psycopg2.connect(url, connect_timeout=10, **kwargs)
    except psycopg2.OperationalError as e:
        raise DatabaseUnavailable(f"cannot connect to the database at {redact(url)}: {str(e).strip()}") from e


def redact(url: str) -> str:
    """The URL with any password replaced, for messages and logs."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def schema_version(conn) -> int:
    """The highest applied migration, 0 for an empty database."""
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('riskmap_schema_migrations') IS NOT NULL")
        if not cur.fetchone()[0]:
            return 0
        cur.execute("SELECT coalesce(max(version), 0) FROM riskmap_schema_migrations")
        return int(cur.fetchone()[0])


def migrate(conn) -> list[Migration]:
    """Apply the migrations not yet applied; returns those applied (empty when already up to date)."""
    _require_postgis(conn)
    applied: list[Migration] = []
    old_autocommit = conn.autocommit
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            cur.execute(
                """CREATE TABLE IF NOT EXISTS riskmap_schema_migrations (
                       version integer PRIMARY KEY,
                       name text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            cur.execute("SELECT version FROM riskmap_schema_migrations")
            done = {r[0] for r in cur.fetchall()}
            for m in migrations():
                if m.version in done:
                    continue
                cur.execute(m.sql)
                cur.execute(
                    "INSERT INTO riskmap_schema_migrations (version, name) VALUES (%s, %s)", (m.version, m.name)
                )
                applied.append(m)
        conn.commit()
    except Exception:
        conn.rollback()
        raise
    finally:
        conn.autocommit = old_autocommit
    return applied


def _require_postgis(conn) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
        if cur.fetchone() is None:
            cur.execute("SHOW server_version_num")
            major = int(cur.fetchone()[0]) // 10000
            conn.rollback()
            raise MissingSystemDependency(
                "the PostGIS extension is not installed on the database server; on Debian/Ubuntu install it with "
                f"`apt-get install postgresql-{major}-postgis-3`"
            )
    conn.rollback()


def hand_over(conn, role: str, shadow_schema: str = "riskmap_import") -> None:
    """Make ``role`` (a login role that is not a superuser) the owner of riskmap's data in ``conn``'s database, so
    that the application can connect as it and the audit trail (migration 0017) binds it: the database itself
    (and so the public schema, where later migrations create their tables), the import's shadow schema, and every
    table, view, free-standing sequence and function of riskmap that ``conn``'s role owns; it may read the audit
    trail.  Run by a superuser after the migrations; a no-op when done before.  Extensions are not handed over:
    creating them stays the superuser's job."""
    with conn.cursor() as cur:
        cur.execute("SELECT current_schema()")
        schemas = [cur.fetchone()[0], shadow_schema]
        cur.execute(_OWNED_OBJECTS, {"schemas": schemas})
        owned = cur.fetchall()
        target = sql.Identifier(role)
        cur.execute("SELECT current_database()")
        cur.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(cur.fetchone()[0]), target))
        cur.execute("SELECT nspname FROM pg_namespace WHERE nspname = %s AND nspowner = current_user::regrole",
                    (shadow_schema,))
        if cur.fetchone():
            cur.execute(sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(sql.Identifier(shadow_schema), target))
        for kind, name in owned:
            # (names as regclass / regprocedure print them: quoted where needed, qualified where not on the path)
            cur.execute(sql.SQL("ALTER {} {} OWNER TO {}").format(sql.SQL(kind), sql.SQL(name), target))
        cur.execute("SELECT to_regclass('audit_event') IS NOT NULL")
        if cur.fetchone()[0]:
            # read only, for every role but the trail's own, whatever a broad grant gave (GRANT ... ON ALL
            # TABLES, or default privileges, in a later migration): the application's role inherits what the roles
            # it belongs to may do
            cur.execute("SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END "
                        "FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
                        "WHERE c.oid = 'audit_event'::regclass AND a.grantee <> c.relowner "
                        "AND a.privilege_type <> 'SELECT'")
            for (grantee,) in cur.fetchall():
                cur.execute(sql.SQL("REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_event "
                                    "FROM {}").format(sql.SQL("PUBLIC") if grantee == "PUBLIC"
                                                      else sql.SQL(grantee)))
            cur.execute(sql.SQL("GRANT SELECT ON audit_event TO {}").format(target))
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = 'riskmap_scoped'")
        if cur.fetchone():  # requests of users limited to areas act as it (migration 0019)
            cur.execute(sql.SQL("GRANT riskmap_scoped TO {}").format(target))
    conn.commit()


_OWNED_OBJECTS = resources.files("geo").joinpath("sql/owned_objects.sql").read_text(encoding="utf-8")
