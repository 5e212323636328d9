"""GET /health: is the service usable (database reachable, schema current, which risk model), and are the scores
up to date.

The scores' state is read from the database, not from this process, so that it is true whichever process
answers (``riskmap serve --workers N``) and whoever scores (a write's background run, ``riskmap score``): the
change records not yet taken by a committed run, the scoring transaction in progress (its lock on
feature_risk) and the last run's row in score_run.  All of it is cheap at any size (api/sql/scores_status.sql).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.dependencies import Connection, RiskModel
from api.routes import sql_text
from geo import store

router = APIRouter(tags=["service"])

SCORE_RUN_SCHEMA = 11  # the migration that records scoring runs (score_run, risk_removed)
RECORD_CHANGES_SCHEMA = 14  # the migration that records the sites whose records changed (risk_record_changed)


class LastRun(BaseModel):
    """The last scoring run that committed."""

    finished_at: dt.datetime
    full: bool = Field(description="Whether it recomputed everything (otherwise what changed and around it).")
    changes: int = Field(description="The change records it took.")
    scored: dict[str, int] = Field(description="Features re-scored, per class.")
    areas: int = Field(description="Area rows recomputed.")
    seconds: float
    model_version: str


class Scores(BaseModel):
    """Whether the stored scores include every committed change."""

    state: Literal["current", "pending", "updating"] = Field(
        description="current: no change waits to be scored; pending: changes wait (a write's background run "
                    "or `riskmap score` takes them); updating: a scoring run is in progress.")
    pending_changes: int = Field(description="Change records (edited areas, deleted features, sites whose "
                                             "inspection records changed) not yet taken by a committed scoring "
                                             "run; a run in progress counts until it commits.")
    updating_since: dt.datetime | None = Field(
        description="When the transaction of the scoring run in progress began, its wait for the previous run's "
                    "end included (null when none is in progress, or the server does not say).")
    last_run: LastRun | None = Field(description="null until a run is recorded (runs are, from schema 11 on).")


class Health(BaseModel):
    status: str  # "ok", or "migrations pending" when the schema is older than this code expects
    database: str
    schema_version: int
    expected_schema_version: int
    model_version: str  # the configured risk model
    scores_model_version: str | None  # the model the stored scores were computed with (None: nothing scored)
    scores: Scores | None = Field(description="The scores' state (null while the schema predates it, and for a "
                                              "request that may not read every area: its counts are the whole "
                                              "region's).")


@router.get("/health", response_model=Health, summary="Service health",
            responses={503: {"description": "The database is unreachable (problem+json, with Retry-After)."}})
def health(request: Request, conn: Connection, model: RiskModel) -> Health:
    """Database reachable, schema version, model version and the scores' state; a 503 problem when the database
    is down.  Anyone may ask (monitoring); the scores' state, whose counts are the whole region's, only a request
    that may read every area."""
    version = store.schema_version(conn)
    expected = store.migrations()[-1].version
    scores_version, scores = None, None
    principal = request.state.principal
    everywhere = not principal.scoped and (principal.role is not None or request.app.state.settings.anonymous_reads)
    if version >= SCORE_RUN_SCHEMA and everywhere:
        with conn.cursor() as cur:
            cur.execute(sql_text("scores_status"))
            (scores_version, pending, updating, since,
             finished_at, full, changes, scored, areas, seconds, run_version) = cur.fetchone()
            if version >= RECORD_CHANGES_SCHEMA:
                cur.execute("SELECT count(*) FROM risk_record_changed")
                pending += cur.fetchone()[0]
        last = None if finished_at is None else LastRun(
            finished_at=finished_at, full=full, changes=changes, scored=scored, areas=areas, seconds=round(seconds, 3),
            model_version=run_version)
        state = "updating" if updating else "pending" if pending else "current"
        scores = Scores(state=state, pending_changes=pending, updating_since=since, last_run=last)
    return Health(status="ok" if version >= expected else "migrations pending", database="reachable",
                  schema_version=version, expected_schema_version=expected, model_version=model["version"],
                  scores_model_version=scores_version, scores=scores)
