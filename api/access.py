"""Who may write, and how much a request may send.

Writes (uploads, feature edits, records) need an API key from the settings (``RISKMAP_API_KEYS``), sent in the
``X-API-Key`` header; full roles come later.  A write is done as ``api:`` + the key's fingerprint (the start of
its SHA-256, never the key itself): the records' history keeps it as who made each change.

The key is checked twice: by ``WriteGate``, before a byte of the body is read (FastAPI reads and parses a body
before it runs a route's dependencies, so an unauthenticated client could otherwise make the server hold any
body it sends), and by the route's dependency, which names the writer.  The gate knows a write route by that
dependency, so the route table is the one list of what needs a key.

Every request body is capped: an upload (multipart/form-data, streamed to disk) at ``max_body_mb``, any other
body (JSON, read whole into memory before it is parsed) at ``max_json_mb``.  A declared Content-Length above the
limit is refused at once, and a body that turns out longer while it streams is cut off.  Every refusal here ends
as problem+json through the one error table of api/errors.py (the app passes its ``answer`` in).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.routing import get_route_path

from api.dependencies import tag_writer
from geo.errors import RiskmapError


class MissingCredentials(RiskmapError):
    """A write without an API key."""


class Forbidden(RiskmapError):
    """A write with a key that is not valid, or while writes are disabled."""


class BodyTooLarge(RiskmapError):
    """A request body over the configured limit."""


def key_fingerprint(key: str) -> str:
    """A short, stable name of an API key that does not reveal it: the first 12 hex digits of its SHA-256."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def writer_of(keys: frozenset[str], x_api_key: str | None) -> str:
    """The writer, ``api:<key fingerprint>``, of a request sending ``x_api_key``; raises when it may not write.
    Keys are compared in constant time."""
    if not keys:
        raise Forbidden("writes are disabled on this server: no API key is configured (RISKMAP_API_KEYS)")
    if not x_api_key:
        raise MissingCredentials("this request changes data: send an API key in the X-API-Key header")
    if not any(hmac.compare_digest(x_api_key.encode(), k.encode()) for k in keys):
        raise Forbidden("the API key is not valid")
    return f"api:{key_fingerprint(x_api_key)}"


def _write_access(request: Request,
                  x_api_key: Annotated[str | None, Header(description="An API key allowed to write.")] = None) -> str:
    """The writer, ``api:<key fingerprint>``, once the key is checked; the request's writes are recorded under it."""
    writer = writer_of(request.app.state.settings.write_keys(), x_api_key)
    tag_writer(request, writer)
    return writer


WriteAccess = Depends(_write_access)
# The writer of a write route (FastAPI runs the check once per request, whether the router or the route asks).
WriteActor = Annotated[str, Depends(_write_access)]


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _header(scope, name: bytes) -> bytes | None:
    """The first value of a request header (as Starlette's ``Headers.get`` reads it)."""
    return next((v for k, v in scope.get("headers") or [] if k == name), None)


def _needs_key(dependant) -> bool:
    return dependant.call is _write_access or any(_needs_key(d) for d in dependant.dependencies)


def _write_routes(routes) -> list[tuple[re.Pattern, frozenset[str]]]:
    """The path pattern and methods of every route that depends on ``_write_access``, included routers flattened."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # a FastAPI whose routers keep a flat list of APIRoutes
        contexts = routes
    else:
        contexts = iter_route_contexts(routes)
    found = []
    for route in contexts:
        dependant = getattr(route, "dependant", None)
        if dependant is not None and _needs_key(dependant):
            found.append((route.path_regex, frozenset(route.methods or ())))
    return found


class WriteGate:
    """ASGI middleware answering a write without a valid API key (401 without one, 403 with a wrong one, or when
    writes are disabled) before the body is read.

    A write is a request to a route that depends on ``_write_access`` (``WriteAccess`` or ``WriteActor``: the
    POST, PUT, PATCH and DELETE routes, and GET /audit, which needs a key too); other requests, and writes with a
    valid key, pass untouched.  ``answer(scope, receive, send, exc)`` sends the error (api/errors.py).  With
    ``failures`` (api/failed_auth.py), each refusal is recorded in the audit trail, and an address refused too
    often is answered 429 before its key is looked at.
    """

    def __init__(self, app, answer, failures=None):
        self.app = app
        self.answer = answer
        self.failures = failures  # api/failed_auth.py: refusals recorded, and a client failing often slowed down
        self._writes: list[tuple[re.Pattern, frozenset[str]]] | None = None  # read from the app's routes once

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and self._is_write(scope):
            client = (scope.get("client") or (None,))[0]
            if self.failures is not None and (slow_down := self.failures.refusal(client)) is not None:
                return await self.answer(scope, receive, send, slow_down)  # the key is not even looked at
            key = _header(scope, b"x-api-key")
            text = key.decode("latin-1") if key else None
            try:
                writer_of(scope["app"].state.settings.write_keys(), text)
            except (MissingCredentials, Forbidden) as e:
                if self.failures is not None:
                    await self.failures.failed(scope["app"].state.pool, client,
                                               f"api:{key_fingerprint(text)}" if text else None,
                                               f"{scope['method']} {get_route_path(scope)}", str(e))
                return await self.answer(scope, receive, send, e)
        await self.app(scope, receive, send)

    def _is_write(self, scope) -> bool:
        if self._writes is None:
            self._writes = _write_routes(scope["app"].routes)
        path, method = get_route_path(scope), scope["method"]
        return any(method in methods and pattern.match(path) for pattern, methods in self._writes)


class BodyLimit:
    """ASGI middleware refusing request bodies over their limit with 413: ``max_upload`` bytes for a
    multipart/form-data body, ``max_json`` bytes for any other.  ``answer(scope, receive, send, exc)`` sends the
    error (api/errors.py)."""

    def __init__(self, app, max_upload: int, max_json: int, answer):
        self.app = app
        self.max_upload, self.max_json = max_upload, max_json
        self.answer = answer

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        content_type = (_header(scope, b"content-type") or b"").split(b";")[0].strip().lower()
        upload = content_type == b"multipart/form-data"
        max_bytes = self.max_upload if upload else self.max_json
        setting = "RISKMAP_MAX_BODY_MB" if upload else "RISKMAP_MAX_JSON_MB"
        what = "an upload (multipart/form-data)" if upload else "a body that is not an upload"

        def detail(size: int) -> str:
            return (f"the request body ({size:,} bytes or more) is over this server's limit of "
                    f"{max_bytes / (1024 * 1024):g} MB ({max_bytes:,} bytes) for {what} ({setting})")

        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            return await self.answer(scope, receive, send, BodyTooLarge(detail(int(declared))))
        seen = 0
        too_large = False
        started = False

        async def limited():
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    too_large = True
                    raise BodyTooLarge(detail(seen))
            return message

        async def guarded(message):
            # once the body is too large, whatever the app answers (a parser may turn the error into a 400) is
            # dropped: the 413 below goes out instead
            nonlocal started
            if too_large:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, guarded)
        except Exception:
            if not too_large:
                raise
        if too_large and not started:
            await self.answer(scope, receive, send, BodyTooLarge(detail(seen)))
