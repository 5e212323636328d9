"""`riskmap db start | stop | status | url | migrate | cluster`: the embedded database, the schema, and the feature
tables' storage order."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.common import _reported, _settings, err, open_for_writing, out

# geo.province_order.TABLES (not imported here: the command line imports what a command needs when it runs)
CLUSTERED_TABLES = "enterprise, tailings_pond, venue, settlement, pipeline, pipeline_segment"

db_app = typer.Typer(help="The embedded local PostGIS database (used when RISKMAP_DATABASE_URL is unset).",
                     no_args_is_help=True)


@db_app.command("start")
def db_start() -> None:
    """Start the embedded database (initialising it the first time) and bring its schema up to date."""
    from geo import store
    from geo.embedded import EmbeddedCluster

    with _reported():
        settings = _settings()
        if settings.database_url:
            err.print("RISKMAP_DATABASE_URL is set: riskmap uses that server, not the embedded one")
        cluster = EmbeddedCluster(settings.data_dir)
        url = cluster.start()
        conn = store.connect(url)
        applied = store.migrate(conn)
        conn.close()
        out.print(cluster.status().describe())
        if applied:
            out.print(f"applied migrations: {', '.join(f'{m.version:04d}_{m.name}' for m in applied)}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded database cleanly."""
    from geo.embedded import EmbeddedCluster

    with _reported():
        cluster = EmbeddedCluster(_settings().data_dir)
        out.print("stopped" if cluster.stop() else "the embedded database was not running")


@db_app.command("status")
def db_status() -> None:
    """Say where the data lives and whether the embedded database runs (exit 0 when usable)."""
    from geo import store
    from geo.embedded import EmbeddedCluster

    with _reported():
        settings = _settings()
        if settings.database_url:
            conn = store.connect(settings.database_url)
            out.print(f"external database {store.redact(settings.database_url)}: reachable, schema version "
                      f"{store.schema_version(conn)}")
            conn.close()
            return
        status = EmbeddedCluster(settings.data_dir).status()
        out.print(status.describe())
        if not status.running:
            raise typer.Exit(3)


@db_app.command("url")
def db_url() -> None:
    """Print the connection URL (starting the embedded database if needed), e.g. for psql or ogr2ogr."""
    from api.database import database_url

    with _reported():
        out.print(database_url(_settings()), highlight=False, soft_wrap=True)


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending schema migrations (a no-op when up to date)."""
    from api.database import database_url
    from geo import store

    with _reported():
        conn = store.connect(database_url(_settings()))
        applied = store.migrate(conn)
        out.print(f"schema version {store.schema_version(conn)}; "
                  f"{len(applied)} migration(s) applied" if applied else
                  f"schema version {store.schema_version(conn)}; already up to date")
        conn.close()


@db_app.command("cluster")
def db_cluster(
    table: Annotated[list[str] | None, typer.Option(
        "--table", help=f"A table to rewrite (repeatable; default all: {CLUSTERED_TABLES}).")] = None,
) -> None:
    """Store the feature tables province by province, then by place within a province (docs/scaling.md).

    Each table is rewritten in its own transaction, as a bulk import writes: imports, edits and scoring runs that
    write it wait until it is done, readers go on meanwhile and wait only for the moment the new table is swapped
    in.  It costs about what an import of the table costs, and needs room for a second copy of the table until it
    commits.  Run it after a large import and its scoring run: rows added since are stored at the table's end.
    """
    from geo.province_order import check_tables, rewrite_by_province

    with _reported():
        tables = check_tables(table)  # (a wrong name is refused before the database is opened)
        conn = open_for_writing(_settings(), "riskmap db cluster" + "".join(f" --table {t}" for t in table or ()))
        try:
            rewrite_by_province(conn, tables, progress=lambda r: out.print(r.describe(), highlight=False))
        finally:
            conn.close()
