"""HTTP errors: one JSON shape (RFC 9457 ``application/problem+json``) and one table from exceptions to statuses.

Every error a client sees is ``{type, title, status, detail, errors?: [{field, message}]}``.  The domain raises
its own exceptions (geo/errors.py, no HTTP there); ``STATUS`` below is the only place that gives them a status.
Bad input is always a 4xx: request validation names each field; anything unexpected is a 500 with a generic
message, and the detail goes to the log, not to the client.

The database's own errors say different things to a client, so they get different statuses: only a database
that cannot be reached (or a pool with no free connection) is a 503.  A conflict with another transaction (a
deadlock, a serialisation failure, a lock not granted within the write's lock timeout, an id another writer
stored first) is a 409 with ``Retry-After``: the request did nothing, and the same request may well succeed in
a moment (the write routes retry deadlocks themselves before answering so).  A statement the server cancelled
because it ran past its time limit is a 504: the server is there and answered, but not within the limit, and
the request's transaction was rolled back.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import psycopg2
import psycopg2.errors
import psycopg2.pool
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.access import BodyTooLarge, Forbidden, MissingCredentials
from geo.errors import (
    Conflict,
    DatabaseUnavailable,
    FieldError,
    ImportRejected,
    InputError,
    InvalidCRS,
    NotFound,
    PhotoTooLarge,
    PlanningError,
    TransitionRefused,
    UnknownKind,
    UnsupportedPhoto,
)

log = logging.getLogger("riskmap.api")

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_S = 5  # a database that is down or saturated usually recovers (restart, burst) within seconds


@dataclass(frozen=True)
class Status:
    code: int
    title: str
    retry: bool = False  # tell the client when to try again (Retry-After)
    detail: str | None = None  # a fixed message instead of the exception's (the server's text is for the log)


# The one table.  Looked up along the exception's class hierarchy, so subclasses inherit their parent's status.
STATUS: dict[type[Exception], Status] = {
    UnknownKind: Status(422, "Unknown feature kind"),
    InvalidCRS: Status(422, "Invalid coordinate reference system"),
    InputError: Status(422, "Invalid input"),
    ImportRejected: Status(422, "Import rejected"),
    PlanningError: Status(422, "Plan not possible as asked"),
    NotFound: Status(404, "Not found"),
    Conflict: Status(409, "Conflict"),
    MissingCredentials: Status(401, "Authentication required"),
    Forbidden: Status(403, "Forbidden"),
    BodyTooLarge: Status(413, "Request body too large"),
    PhotoTooLarge: Status(413, "Photo too large"),
    UnsupportedPhoto: Status(415, "Unsupported photo type"),
    # Subclasses of OperationalError first in meaning: the lookup walks the class hierarchy, so these win over
    # the 503 of their parent.  Deadlocks and serialisation failures (40P01, 40001) and lock timeouts (55P03):
    # another transaction was in the way; nothing was written.
    psycopg2.errors.TransactionRollbackError: Status(
        409, "Conflict with a concurrent write", retry=True,
        detail="another transaction changed the same data at the same time (a deadlock or serialisation "
               "conflict); nothing was written by this request: send it again"),
    psycopg2.errors.LockNotAvailable: Status(
        409, "Conflict with a concurrent write", retry=True,
        detail="the data is locked by another write still in progress (the lock was not granted within the "
               "time limit); nothing was written by this request: send it again"),
    psycopg2.errors.UniqueViolation: Status(
        409, "Conflict with a concurrent write", retry=True,
        detail="another write stored the same id at the same time; nothing was written by this request"),
    # 57014: statement_timeout (or an administrator's cancel).  The server is reachable, so not a 503.
    psycopg2.errors.QueryCanceled: Status(
        504, "Database timeout",
        detail="a database statement of this request ran past the server's time limit and was cancelled; "
               "its transaction was rolled back"),
    # 42501: row-level security refused a row (migration 0019): a user limited to areas wrote outside them
    psycopg2.errors.InsufficientPrivilege: Status(
        403, "Outside your areas",
        detail="this change would reach outside the areas you may change; nothing was written"),
    DatabaseUnavailable: Status(503, "Database unavailable", retry=True),
    psycopg2.OperationalError: Status(503, "Database unavailable", retry=True),  # down, restarting
    psycopg2.InterfaceError: Status(503, "Database unavailable", retry=True),  # connection closed under us
    psycopg2.pool.PoolError: Status(503, "Service busy", retry=True),  # every pooled connection in use
}


def problem(status: int, title: str, detail: str, errors: list[dict] | None = None, *,
            headers: dict[str, str] | None = None, **extra) -> JSONResponse:
    """A problem+json response."""
    body: dict = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def field_error(field: str, message: str) -> RequestValidationError:
    """A validation error of one request parameter, reported exactly like FastAPI's own (422, field named)."""
    return RequestValidationError([{"type": "value_error", "loc": ("query", field), "msg": message}])


def body_error(field: str, message: str) -> RequestValidationError:
    """A validation error of one field of the request body (a form field, a JSON member), reported as 422."""
    return RequestValidationError([{"type": "value_error", "loc": ("body", field), "msg": message}])


def _field(loc: tuple) -> str:
    # ("query", "lat") -> "lat"; ("body", "items", 0, "x") -> "items.0.x"
    parts = [str(p) for p in loc[1:]] if len(loc) > 1 and loc[0] in ("query", "path", "body", "header") else \
        [str(p) for p in loc]
    return ".".join(parts) or "request"


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"field": _field(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid value")}
              for e in exc.errors()]
    fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
    return problem(422, "Invalid request", f"invalid value for: {fields}", errors)


async def _http(request: Request, exc: HTTPException) -> JSONResponse:
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
    return problem(exc.status_code, title, str(exc.detail), headers=getattr(exc, "headers", None))


def _status_of(exc: Exception) -> Status | None:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return None


class _EverySecond:
    """Lets one event a second through and counts the ones held back: a database that is down answers every
    request with a 503, and a warning for each (bench/load: about 300 a second during a restart, three lines each)
    would bury the log and, written to a slow stderr, hold up the event loop."""

    def __init__(self, interval_s: float = 1.0):
        self.interval_s = interval_s
        self._next = 0.0
        self._held = 0

    def passes(self) -> int | None:
        """The number held back since the last one let through, or None when this one is held back too."""
        now = time.monotonic()
        if now < self._next:
            self._held += 1
            return None
        held, self._held, self._next = self._held, 0, now + self.interval_s
        return held


def _unavailable_warnings(request: Request) -> _EverySecond:
    """The app's own (handlers run on its event loop: no lock needed)."""
    state = request.app.state
    if not hasattr(state, "unavailable_warnings"):
        state.unavailable_warnings = _EverySecond()
    return state.unavailable_warnings


async def _mapped(request: Request, exc: Exception) -> JSONResponse:
    status = _status_of(exc)
    if status is None:  # registered for a class of the table, so this does not happen; stay safe anyway
        return await _unexpected(request, exc)
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status.retry else None
    if status.code == 401:  # RFC 9110: a 401 says how to authenticate
        headers = {"WWW-Authenticate": 'Bearer realm="riskmap"'}
    if status.code >= 500 or status.detail:
        # Database details (host, port, server message, the other transaction's pid) are for the log, not for
        # clients.
        held = _unavailable_warnings(request).passes() if status.code == 503 else 0
        if held is not None:
            log.warning("%s %s: %s: %s%s", request.method, request.url.path, type(exc).__name__, str(exc).strip(),
                        f" ({held} more such errors in the last second not logged)" if held else "")
        return problem(status.code, status.title,
                       status.detail or "the database is unavailable or busy; try again shortly", headers=headers)
    extra: dict = {}
    errors = None
    if isinstance(exc, ImportRejected):
        extra["report"] = exc.report.as_dict()
    if isinstance(exc, UnknownKind):
        errors = [{"field": "kind", "message": str(exc)}]
    if isinstance(exc, FieldError):
        errors = [{"field": exc.field, "message": str(exc)}]
    if isinstance(exc, TransitionRefused):
        extra["allowed"] = exc.allowed
    return problem(status.code, status.title, str(exc), errors, headers=headers, **extra)


async def answer(scope, receive, send, exc: Exception) -> None:
    """Send the answer of the table for ``exc`` from outside the app's handlers: an ASGI middleware that refuses a
    request before it reaches a route (api/access.py: a write without a key, a body over the limit)."""
    response = await _mapped(Request(scope), exc)
    await response(scope, receive, send)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "Internal server error", "an unexpected error occurred; it has been logged")


PROBLEM_SCHEMA = {
    "type": "object",
    "title": "Problem",
    "description": "An error (RFC 9457 problem details).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "description": "One entry per bad field.",
                   "items": {"type": "object", "required": ["field", "message"],
                             "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
        "report": {"type": "object", "description": "An import's report: each bad row, field and reason."},
        "allowed": {"type": "array", "items": {"type": "string"},
                    "description": "A refused status change of a hidden danger: the statuses it may move to."},
    },
}
_PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
_COMMON = {"422": "Invalid request: each bad field is named.",
           "503": "The database is unavailable or busy; retry after the Retry-After seconds.",
           "504": "A database statement ran past the server's time limit and was cancelled (nothing written)."}


def document(app: FastAPI) -> None:
    """Make the OpenAPI document say what the API really answers on errors: every error response (the 422 of
    every operation with inputs, the 503 of every operation using the database, and the 4xx an operation
    declares) is application/problem+json with the Problem schema, instead of FastAPI's default 422 shape."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        spec = build()
        spec.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        for schema_name in ("HTTPValidationError", "ValidationError"):
            spec["components"]["schemas"].pop(schema_name, None)
        for path, item in spec.get("paths", {}).items():
            for op in item.values():
                responses = op.setdefault("responses", {})
                if path != "/openapi.json":
                    for code, text in _COMMON.items():
                        responses.setdefault(code, {"description": text})
                for code, response in responses.items():
                    if code[0] in "45":
                        response["content"] = dict(_PROBLEM_CONTENT)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi


def install(app: FastAPI) -> None:
    """Register the handlers: the table, validation, HTTP errors, and the catch-all 500."""
    for cls in STATUS:
        app.add_exception_handler(cls, _mapped)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
