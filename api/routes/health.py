"""GET /health: is the service usable (database reachable, schema current, which risk model)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.dependencies import Connection, RiskModel
from api.routes import sql_text
from geo import store

router = APIRouter(tags=["service"])


class Health(BaseModel):
    status: str  # "ok", or "migrations pending" when the schema is older than this code expects
    database: str
    schema_version: int
    expected_schema_version: int
    model_version: str  # the configured risk model
    scores_model_version: str | None  # the model the stored scores were computed with (None: nothing scored)
    scored_features: int


@router.get("/health", response_model=Health, summary="Service health",
            responses={503: {"description": "The database is unreachable (problem+json, with Retry-After)."}})
def health(conn: Connection, model: RiskModel) -> Health:
    """Database reachable, schema version and model version; a 503 problem when the database is down."""
    version = store.schema_version(conn)
    expected = store.migrations()[-1].version
    with conn.cursor() as cur:
        cur.execute(sql_text("scores_status"))
        scores_version, scored = cur.fetchone()
    return Health(status="ok" if version >= expected else "migrations pending", database="reachable",
                  schema_version=version, expected_schema_version=expected, model_version=model["version"],
                  scores_model_version=scores_version, scored_features=scored)
