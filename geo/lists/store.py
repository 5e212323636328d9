"""The queries of the lists (geo/lists/sql/*.sql, shipped as package data) and how they are run."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def sql_text(name: str) -> str:
    """The text of ``geo/lists/sql/<name>.sql``."""
    return resources.files("geo.lists").joinpath(f"sql/{name}.sql").read_text(encoding="utf-8")


def query_rows(conn, query: str, params: dict) -> list[dict]:
    """The rows of a query as dicts by column name."""
    with conn.cursor() as cur:
        cur.execute(query, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
