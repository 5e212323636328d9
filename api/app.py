"""The HTTP API: ``create_app(settings)`` builds the FastAPI application (issue 4).

Settings are passed in, never read at import.  The lifespan opens one connection pool per app (kept on
``app.state.pool``), brings the schema up to date once and closes the pool at shutdown.  A database that is
down at startup does not stop the service: requests get a 503 with ``Retry-After`` until it is back, and the
pending migrations run on the first connection that succeeds.

Writes run in the app's writer processes (``app.state.writer``, api/writer.py), out of the way of the requests.
It also makes the app's ``Rescorer`` (``app.state.rescorer``, api/rescoring.py), which re-scores after writes in
a background process, and starts a run at once when changes are waiting to be scored (``riskmap import`` does
not score), so that a service started after an import converges without a write.  At shutdown a run in
progress is stopped; it rolls back, and its changes wait for the next run.
"""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager

import psycopg2
import psycopg2.extensions
import psycopg2.pool
from anyio import to_thread
from fastapi import FastAPI

from api import errors, lanes
from api.access import AccessGate, BodyLimit, TokenChecks
from api.campaigns import CampaignRunner
from api.database import database_url
from api.failed_auth import FailedAuth
from api.pool import POOL_MAX, Pool
from api.rescoring import Rescorer
from api.routes import (
    allocations,
    areas,
    audit,
    campaigns,
    exposure,
    features,
    health,
    hidden_dangers,
    history,
    inspection_form,
    level_changes,
    major_risks,
    near,
    ogc,
    pages,
    plans,
    qgis,
    record_summary,
    record_writes,
    records,
    risk_list,
    session,
    siting,
    supervision,
    tiles,
    writes,
)
from api.settings import Settings
from api.shared_pages import SharedPages
from api.signed_in import SignedIn
from api.writer import Writer
from geo import audit as audit_trail
from geo import store
from geo.risk.config import load_model
from geo.supervision.config import load_supervision

log = logging.getLogger("riskmap.api")

GC_THRESHOLDS = (10_000, 50, 100)  # the collector's generations (_settle_collector)


def create_app(settings: Settings) -> FastAPI:
    """The riskmap API for these settings (the database, the risk model)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Request threads (for the routes that block on the database) no more than pooled connections: a thread
        # beyond them would only wait for a connection while taking turns at the interpreter with those that
        # work (anyio's default is 40; under 50 clients, 16 answered about 10 % more requests a second,
        # docs/benchmarks.md bench/load).  The map's reads have a lane of their own (api/lanes.py); the other
        # routes share the rest.  Waiting for a re-scoring does not hold a thread (writes.py).
        to_thread.current_default_thread_limiter().total_tokens = POOL_MAX - lanes.MAP_READ_THREADS
        app.state.settings = settings
        app.state.model = load_model(settings.risk_model)
        app.state.supervision = load_supervision(settings.supervision)
        app.state.pool = Pool(database_url(settings))
        app.state.token_checks = TokenChecks()
        app.state.signed_in = SignedIn(app.state.pool.url)
        app.state.main_pages = pages.MainPages()
        app.state.shared_pages = SharedPages()
        app.state.rescorer = Rescorer(app.state.pool.url, app.state.model)
        app.state.rescorer.warm()
        app.state.writer = Writer(app.state.pool.url)
        app.state.writer.warm()
        app.state.campaigns = CampaignRunner(app.state.pool.url, settings.campaign_max_running)
        app.state.pool.migrate_now()
        app.state.campaigns.settle_gone_owners()
        _warn_if_superuser(app.state.pool)
        _rescore_waiting_changes(app.state.pool, app.state.rescorer)
        _settle_collector()
        try:
            yield
        finally:
            app.state.campaigns.close()
            app.state.writer.close()
            app.state.rescorer.close()
            app.state.signed_in.close()
            app.state.pool.close()

    app = FastAPI(
        title="riskmap",
        summary="Geospatial risk mapping for production-safety supervision.",
        description="Risk scores, levels and their explanations for enterprises, tailings ponds, pipelines and "
                    "crowded venues, as JSON and GeoJSON (RFC 7946). Errors are `application/problem+json`.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served below from riskmap's own copy of Swagger UI, not from a CDN
        redoc_url=None,
    )
    _serve_docs(app)
    errors.install(app)
    app.include_router(health.router)
    app.include_router(session.router)
    app.include_router(near.router)
    app.include_router(features.router)
    app.include_router(areas.router)
    app.include_router(history.router)
    app.include_router(level_changes.router)
    app.include_router(risk_list.router)
    # (before the record routes: /hidden-dangers/summary must not be read as /hidden-dangers/{id})
    app.include_router(hidden_dangers.router)
    app.include_router(major_risks.router)
    app.include_router(siting.router)
    app.include_router(writes.router)
    app.include_router(record_summary.router)
    app.include_router(records.router)
    app.include_router(record_writes.router)
    app.include_router(exposure.router)
    app.include_router(qgis.router)
    app.include_router(plans.router)
    app.include_router(campaigns.router)
    app.include_router(allocations.router)
    app.include_router(supervision.router)
    app.include_router(pages.router)
    app.include_router(inspection_form.router)
    app.include_router(audit.router)
    app.include_router(ogc.router)
    ogc.install(app)
    app.include_router(tiles.router)
    mount_map_assets(app)
    # (the last added runs first: a request its principal may not make is answered before its body's size matters)
    app.add_middleware(BodyLimit, max_upload=int(settings.max_body_mb * 1024 * 1024),
                       max_json=int(settings.max_json_mb * 1024 * 1024), answer=errors.answer)
    # refused credentials, counted per address: by the gate and by the sign-in form alike
    app.state.failed_auth = FailedAuth(settings.auth_fail_limit, settings.auth_fail_window_s)
    app.add_middleware(AccessGate, answer=errors.answer,
                       failures=app.state.failed_auth)
    errors.document(app)
    return app


def _settle_collector() -> None:
    """Keep the cyclic garbage collector's pauses out of the requests' way.

    Start-up leaves about 165,000 long-lived objects that the collector tracks (the modules of pandas, shapely,
    folium and FastAPI, the risk model, compiled templates): every full collection walked them all, 80 ms here,
    a pause that every request waiting at that moment shared.  They are frozen (``gc.freeze``: kept out of every
    collection, as they live as long as the process), and the youngest generation is collected every 10,000 new
    containers instead of 700 (most of a request's objects are freed by reference counting; the collector is
    only for cycles).  Under 50 clients the p99 of bench/load fell from 210-228 ms to 163-200 ms (20 s runs)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _warn_if_superuser(pool: Pool) -> None:
    """Log a warning when the application's database role is a superuser: no trigger or privilege binds one, so
    the audit trail (geo/audit.py) cannot be kept append-only against it."""
    try:
        conn = pool.getconn()
    except (psycopg2.OperationalError, psycopg2.pool.PoolError):
        return
    try:
        superuser = audit_trail.is_superuser(conn)
    except psycopg2.Error:
        superuser = False
    finally:
        pool.putconn(conn)
    if superuser:
        log.warning("the database role of %s is a superuser: the audit trail cannot be protected from it (it may "
                    "change or delete the trail's rows); connect as a role that is not one", store.redact(pool.url))


def _rescore_waiting_changes(pool: Pool, rescorer: Rescorer) -> None:
    """Ask for a background run if changes are recorded and not yet scored (a database that is down now is left
    alone: the next write asks)."""
    try:
        conn = pool.getconn()
    except (psycopg2.OperationalError, psycopg2.pool.PoolError):
        return
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT EXISTS (SELECT FROM risk_dirty) OR EXISTS (SELECT FROM risk_removed) "
                        "OR EXISTS (SELECT FROM risk_record_changed)")
            waiting = cur.fetchone()[0]
    except psycopg2.Error as e:
        log.warning("could not look for changes waiting to be scored: %s", str(e).strip())
        waiting = False
    finally:
        pool.putconn(conn)
    if waiting:
        log.info("changes are waiting to be scored: re-scoring them in the background")
        rescorer.request()


def mount_map_assets(app: FastAPI) -> None:
    """/static/maps: the map pages' scripts, stylesheets and vendored libraries (maps/static; no CDN)."""
    from fastapi.staticfiles import StaticFiles

    from maps import assets

    app.mount(assets.STATIC_URL, StaticFiles(directory=assets.static_dir()), name="map-assets")


def _serve_docs(app: FastAPI) -> None:
    """/docs: Swagger UI from the files vendored in api/static/swagger-ui (a closed network has no CDN)."""
    from importlib import resources

    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    static = resources.files("api").joinpath("static/swagger-ui")
    app.mount("/static/swagger-ui", StaticFiles(directory=str(static)), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(openapi_url=app.openapi_url, title="riskmap API",
                                   swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
                                   swagger_css_url="/static/swagger-ui/swagger-ui.css",
                                   swagger_favicon_url="/static/swagger-ui/favicon-32x32.png")


def from_environment() -> FastAPI:
    """The app for the settings in the environment (RISKMAP_*): what each ``riskmap serve --workers N``
    process runs."""
    return create_app(Settings())
