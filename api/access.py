"""Who may write, and how much a request may send.

Writes (uploads, feature edits, records) need an API key from the settings (``RISKMAP_API_KEYS``), sent in the
``X-API-Key`` header; full roles come later.  A write is done as ``api:`` + the key's fingerprint (the start of
its SHA-256, never the key itself): the records' history keeps it as who made each change.

Every request body is capped at ``max_body_mb``: a declared Content-Length above it is refused at once, and a
body that turns out longer while it streams is cut off.  Both end as problem+json through the one error table
of api/errors.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Annotated

from fastapi import Depends, Header, Request

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


def _write_access(request: Request,
                  x_api_key: Annotated[str | None, Header(description="An API key allowed to write.")] = None) -> str:
    """The writer, ``api:<key fingerprint>``, once the key is checked."""
    keys: frozenset[str] = request.app.state.settings.write_keys()
    if not keys:
        raise Forbidden("writes are disabled on this server: no API key is configured (RISKMAP_API_KEYS)")
    if not x_api_key:
        raise MissingCredentials("this request changes data: send an API key in the X-API-Key header")
    if not any(hmac.compare_digest(x_api_key.encode(), k.encode()) for k in keys):
        raise Forbidden("the API key is not valid")
    return f"api:{key_fingerprint(x_api_key)}"


WriteAccess = Depends(_write_access)
# The writer of a write route (FastAPI runs the check once per request, whether the router or the route asks).
WriteActor = Annotated[str, Depends(_write_access)]


class BodyLimit:
    """ASGI middleware refusing request bodies over ``max_bytes`` with 413."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send, int(declared))
        seen = 0
        too_large = False
        started = False

        async def limited():
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_large = True
                    raise BodyTooLarge(self._detail(seen))
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
            await self._refuse(send, seen)

    def _detail(self, size: int) -> str:
        return (f"the request body ({size:,} bytes or more) is over this server's limit of {self.max_bytes:,} "
                f"bytes (RISKMAP_MAX_BODY_MB)")

    async def _refuse(self, send, size: int) -> None:
        body = json.dumps({"type": "about:blank", "title": "Request body too large", "status": 413,
                           "detail": self._detail(size)}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
