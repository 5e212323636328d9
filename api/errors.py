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

The OpenAPI document says all of this (``document``): each operation lists every status it can answer, derived
from what its route takes and depends on (``route_errors``: a body, a path naming something, the role it needs,
a database connection) and this table, never from a list kept by hand per route, so that a new route is
documented as soon as it exists.
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

from api.access import PUBLIC_PATHS, BodyTooLarge, Forbidden, MissingCredentials, api_routes, needed_role
from api.campaigns import CampaignsBusy
from api.dependencies import Connection
from api.failed_auth import TooManyFailures
from api.writer import Write, WriterLost
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
    TooManyFailures: Status(429, "Too many refused credentials", retry=True),  # its own Retry-After
    PhotoTooLarge: Status(413, "Photo too large"),
    CampaignsBusy: Status(429, "Campaigns already running", retry=True),
    UnsupportedPhoto: Status(415, "Unsupported photo type"),
    # the writer process died under a write (api/writer.py): its transaction died with it, but whether it had
    # committed before is not known here, so the client is told to look before sending it again
    WriterLost: Status(500, "Write interrupted",
                       detail="the process making this write ended before it answered: the write may or may not "
                              "have been made; look it up before sending it again"),
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
    title = {400: "Bad request", 404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
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
    headers = {"Retry-After": str(getattr(exc, "retry_after_s", RETRY_AFTER_S))} if status.retry else None
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
FASTAPI_422 = "Validation Error"  # FastAPI's own description of the 422 it documents, replaced by ours
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before sending the request again.",
                                "schema": {"type": "integer"}}}
_LOCATION = {"Location": {"description": "Where to go: the sign-in page, with the page asked for in `next`.",
                          "schema": {"type": "string"}}}
_WWW_AUTHENTICATE = {"WWW-Authenticate": {"description": "How to authenticate: `Bearer realm=\"riskmap\"`.",
                                          "schema": {"type": "string"}}}


class RequestNotParsed(Exception):
    """The request body could not be parsed: not JSON, not UTF-8, or a malformed multipart form (FastAPI
    answers 400 before a route runs)."""


class SentToSignIn(Exception):
    """A browser asking for a page (Accept: text/html) without credentials while anonymous reads are off is sent
    to the sign-in page (api/access.py)."""


# What each part of a route may raise.  The OpenAPI document of every operation is derived from these and the
# table above, so that a status an operation can answer is documented wherever the route table says it can
# happen, and a new route is documented by what it depends on, never by a list of its own.
# Any input (parameter or body): a value that does not fit is a 422 naming the field.
_INPUT: tuple[type[Exception], ...] = (RequestValidationError,)
# A request body: unparseable (400), over the server's limit (413, api/access.py's BodyLimit).
_BODY: tuple[type[Exception], ...] = (RequestNotParsed, BodyTooLarge)
# A path naming a resource (``/plans/{id}``): that it does not exist is a 404.
_PATH: tuple[type[Exception], ...] = (NotFound,)
# Every route behind api/access.py's gate (all but its public paths): no credentials while anonymous reads are
# off, or credentials that are not valid (401, with WWW-Authenticate; a browser's GET is sent to /sign-in
# instead, 303); an address whose credentials were refused too often lately (429 with Retry-After,
# api/failed_auth.py); the gate reads a user's token from the database (503, 504 when it cannot).
_GATED: tuple[type[Exception], ...] = (MissingCredentials, TooManyFailures)
_GATED_READ: tuple[type[Exception], ...] = (SentToSignIn,)
# A write (a route needing a role above viewer): the role does not allow it, or it would reach outside the user's
# areas (403), or a concurrent write was in the way (409 with Retry-After; nothing written).
_WRITE: tuple[type[Exception], ...] = (
    Forbidden, psycopg2.errors.InsufficientPrivilege, psycopg2.errors.TransactionRollbackError,
    psycopg2.errors.LockNotAvailable, psycopg2.errors.UniqueViolation)
# The database (a route depending on api/dependencies.py's connection): down or busy (503 with Retry-After), a
# statement over the time limit (504).
_DATABASE: tuple[type[Exception], ...] = (
    DatabaseUnavailable, psycopg2.OperationalError, psycopg2.InterfaceError, psycopg2.pool.PoolError,
    psycopg2.errors.QueryCanceled)
# Documentation of what is answered outside the table (FastAPI's validation and parsing errors).
_OUTSIDE_TABLE = {
    RequestValidationError: Status(422, "Invalid request", detail="each bad field is named in `errors`"),
    RequestNotParsed: Status(400, "Bad request"),
    SentToSignIn: Status(303, "See other"),
}
# The codes every entry of the table answering them tells to retry: Retry-After is documented with them, on a
# route's own description too.
_RETRY_CODES = {str(s.code) for s in STATUS.values() if s.retry} - {str(s.code) for s in STATUS.values() if not s.retry}


def _documented(exc: type[Exception]) -> Status:
    status = _OUTSIDE_TABLE.get(exc)
    if status is None:
        status = next(STATUS[cls] for cls in exc.__mro__ if cls in STATUS)
    return status


def _description(found: list[tuple[type[Exception], Status]]) -> str:
    """A status in words: the title of each entry answering it, with what our own exception's docstring says
    (a database error's docstring is psycopg2's and says nothing to a client; the fixed detail of its entry does)
    when one thing is said under that title."""
    said: dict[str, dict[str, None]] = {}
    for exc, status in found:
        doc = (exc.__doc__ or "").split("\n\n")[0] if exc.__module__.split(".")[0] in ("api", "geo") else ""
        more = " ".join(doc.split()).rstrip(".") or status.detail or ""
        said.setdefault(status.title, {})[more[:1].lower() + more[1:]] = None
    texts = [f"{title}: {next(iter(more))}" if len(more) == 1 and "" not in more else title
             for title, more in said.items()]
    retry = " (send it again after Retry-After seconds)" if any(status.retry for _, status in found) else ""
    return "; or ".join(texts) + retry + "."


def _depends_on(dependant, call) -> bool:
    return dependant.call is call or any(_depends_on(d, call) for d in dependant.dependencies)


def route_errors(route) -> list[type[Exception]]:
    """The exceptions a request to this API route may end with, from what the route takes (parameters, a body,
    a path naming something) and what it depends on (the role it needs, a database connection)."""
    dependant = route.dependant
    raised: list[type[Exception]] = []
    has_body = route.body_field is not None
    if has_body or dependant.query_params or dependant.path_params or dependant.header_params \
            or dependant.cookie_params:
        raised += _INPUT
    if has_body:
        raised += _BODY
    if dependant.path_params:
        raised += _PATH
    gated = route.path_format not in PUBLIC_PATHS
    if gated:
        raised += _GATED
        if "GET" in (route.methods or ()):
            raised += _GATED_READ
        if (needed_role(dependant) or "admin") != "viewer":  # a route declaring no role is an admin's
            raised += _WRITE
    writes = _depends_on(dependant, Write.__metadata__[0].dependency)
    if gated or writes or _depends_on(dependant, Connection.__metadata__[0].dependency):
        raised += _DATABASE
    if writes:
        raised.append(WriterLost)
    return raised


def _api_routes(app: FastAPI) -> dict[tuple[str, str], object]:
    """Every route of the OpenAPI document by (path, method), included routers flattened."""
    return {(route.path_format, method.lower()): route for route in api_routes(app.routes)
            if getattr(route, "include_in_schema", False) for method in route.methods or ()}


def document_errors(operation: dict, errors: list[type[Exception]]) -> None:
    """Add the statuses of ``errors`` to an OpenAPI operation's responses (a description the route gives itself
    is kept); every error response is problem+json, with Retry-After where the table says to retry."""
    responses = operation.setdefault("responses", {})
    by_code: dict[str, list[tuple[type[Exception], Status]]] = {}
    for exc in errors:
        status = _documented(exc)
        by_code.setdefault(str(status.code), []).append((exc, status))
    for code, found in sorted(by_code.items()):
        if code not in responses or responses[code].get("description") == FASTAPI_422:
            responses[code] = {"description": _description(found)}
        if any(status.retry for _, status in found):
            responses[code].setdefault("headers", {}).update(_RETRY_AFTER)
        if code == "401":
            responses[code].setdefault("headers", {}).update(_WWW_AUTHENTICATE)
        if code == "303":
            responses[code].setdefault("headers", {}).update(_LOCATION)
    for code, response in responses.items():
        if code in _RETRY_CODES:
            response.setdefault("headers", {}).update(_RETRY_AFTER)
        if code[0] in "45":
            response["content"] = dict(_PROBLEM_CONTENT)
    operation["responses"] = dict(sorted(responses.items()))


def document(app: FastAPI) -> None:
    """Make the OpenAPI document say what the API really answers on errors: every status an operation can answer
    (from ``route_errors``: the route table and what each route depends on, with the statuses of the table
    above) is documented, as application/problem+json with the Problem schema instead of FastAPI's default 422
    shape, and with Retry-After where the client should try again."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        spec = build()
        spec.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        for schema_name in ("HTTPValidationError", "ValidationError"):
            spec["components"]["schemas"].pop(schema_name, None)
        routes = _api_routes(app)
        for path, item in spec.get("paths", {}).items():
            for method, operation in item.items():
                route = routes.get((path, method))
                document_errors(operation, route_errors(route) if route is not None else [])
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
