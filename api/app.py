"""The HTTP API: ``create_app(settings)`` builds the FastAPI application (issue 4).

Settings are passed in, never read at import.  The lifespan opens one connection pool per app (kept on
``app.state.pool``), brings the schema up to date once and closes the pool at shutdown.  A database that is
down at startup does not stop the service: requests get a 503 with ``Retry-After`` until it is back, and the
pending migrations run on the first connection that succeeds.

It also makes the app's ``Rescorer`` (``app.state.rescorer``, api/rescoring.py), which re-scores after writes in
a background process, and starts a run at once when changes are waiting to be scored (``riskmap import`` does
not score), so that a service started after an import converges without a write.  At shutdown a run in
progress is stopped; it rolls back, and its changes wait for the next run.
"""

from __future__ import annotations

import gc
import logging
import select
import threading
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
from api.rescoring import Rescorer
from api.routes import (
    PreparingConnection,
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
from geo import audit as audit_trail
from geo import store
from geo.risk.config import load_model
from geo.supervision.config import load_supervision

log = logging.getLogger("riskmap.api")

POOL_MAX = 16  # connections at most; a request waits POOL_WAIT_S for one, then gets a 503
POOL_WAIT_S = 5.0
GC_THRESHOLDS = (10_000, 50, 100)  # the collector's generations (_settle_collector)
CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_MS = 30_000  # a runaway query ends as a 504 (api/errors.py), not a hung worker


class Pool:
    """A thread-safe connection pool that connects lazily, keeps its connections open, waits briefly when all
    are in use and migrates the schema once.

    (psycopg2's own pools connect ``minconn`` connections in their constructor, fail at once when all are in
    use, and close every connection returned beyond ``minconn``: under load that is a new PostgreSQL backend,
    and a password exchange, for most requests.)  Up to ``maxconn`` connections are open at a time; a caller
    waits up to ``wait_s`` for one, then gets ``PoolError`` (a 503).
    """

    def __init__(self, url: str, maxconn: int = POOL_MAX, wait_s: float = POOL_WAIT_S):
        self.url = url
        self.maxconn, self.wait_s = maxconn, wait_s
        self._idle: list[psycopg2.extensions.connection] = []
        self._slots = threading.BoundedSemaphore(maxconn)
        self._lock = threading.Lock()
        self._closed = False
        self.migrated = False

    def _connect(self) -> psycopg2.extensions.connection:
        return psycopg2.connect(
            self.url, connect_timeout=CONNECT_TIMEOUT_S, application_name="riskmap-api",
            connection_factory=PreparingConnection,
            # JIT compiles for hundreds of milliseconds to save a few on these short, indexed queries; the
            # prepared statements (api.routes.execute_prepared) keep one plan (their plans do not depend on the
            # values: KNN index scans), which saves about 0.7 ms of a 5.5 ms near query
            # UTF-8 whatever the server's encoding: documents are passed on as bytes (JSON is UTF-8, RFC 8259)
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c jit=off -c plan_cache_mode=force_generic_plan "
                    "-c client_encoding=UTF8")

    def getconn(self) -> psycopg2.extensions.connection:
        if not self._slots.acquire(timeout=self.wait_s):
            raise psycopg2.pool.PoolError(f"connection pool exhausted: no connection free within {self.wait_s} s")
        try:
            conn = self._idle_connection()
            if conn is None:
                conn = self._connect()
            if not self.migrated:
                self._migrate(conn)
            if not conn.autocommit:
                # each read is its own transaction: no BEGIN before it and no ROLLBACK after it (one round
                # trip a request instead of two); code that writes opens its own transaction (imports, scoring)
                conn.autocommit = True
            return conn
        except BaseException:
            self._slots.release()
            raise

    def _idle_connection(self) -> psycopg2.extensions.connection | None:
        """The most recently used idle connection that is still open; the dead ones met on the way are closed.

        A connection the server ended while it sat idle (a database restart, an administrator's
        pg_terminate_backend, a server crash) is not marked closed until it is used, and using it fails the request
        with a 503 even though the server may be back: after a restart, every connection pooled before it would
        fail one request each.  The server ends a connection by sending its last message (FATAL 57P01) and closing
        it, so an idle connection whose socket has something to read is a dead one: checked with a poll that
        does not wait and does not talk to the server (unlike a "SELECT 1" before each use, which would cost a
        round trip on every request)."""
        dead = []
        conn = None
        with self._lock:
            while self._idle:
                candidate = self._idle.pop()
                if candidate.closed or _has_input(candidate):
                    dead.append(candidate)
                else:
                    conn = candidate
                    break
        for candidate in dead:
            candidate.close()
        return conn

    def putconn(self, conn: psycopg2.extensions.connection, broken: bool = False) -> None:
        try:
            if not broken and not conn.closed:
                try:
                    if conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
                        conn.rollback()  # a transaction left open: a pooled connection starts clean
                    conn.autocommit = True
                except psycopg2.Error:
                    broken = True
            with self._lock:
                keep = not (broken or conn.closed or self._closed)
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()
        finally:
            self._slots.release()

    def _migrate(self, conn) -> None:
        with self._lock:
            if not self.migrated:
                applied = store.migrate(conn)
                if applied:
                    log.info("applied migrations: %s", ", ".join(f"{m.version:04d}_{m.name}" for m in applied))
                self.migrated = True

    def migrate_now(self) -> None:
        """Migrate at startup when the database is reachable; log and carry on when it is not."""
        try:
            conn = self.getconn()
        except (psycopg2.OperationalError, psycopg2.pool.PoolError) as e:
            log.warning("database %s unavailable at startup (%s); serving 503 until it is back",
                        store.redact(self.url), str(e).strip())
            return
        self.putconn(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _has_input(conn: psycopg2.extensions.connection) -> bool:
    """Whether the server has sent something on an idle connection (it does so only when it ends it)."""
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


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
