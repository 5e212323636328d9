"""Who may do what: the principal of a request, the role each route needs, and how much a request may send.

A request is made by a **principal** (``Principal``):
- a user of ``riskmap users`` (geo/users.py), who sends their token as ``Authorization: Bearer rm_…`` (or in
  ``X-API-Key``, where the field form and older scripts put it): their role and their areas;
- an administrator's key from the settings (``RISKMAP_API_KEYS``, for automation), sent in ``X-API-Key`` (or as a
  Bearer token): role admin, every area;
- nobody (no credentials): may read when the settings allow anonymous reads (``RISKMAP_ANONYMOUS_READS``; the demo
  on 127.0.0.1 does), nothing else.

Every route declares the role it needs with one of ``Needs.viewer`` / ``inspector`` / ``planner`` / ``admin``
(in its router's or its own ``dependencies``); a route that declares none is refused to everyone but an admin
(and tests/api/test_authorization.py fails on it).  ``AccessGate``, an ASGI middleware, decides before a byte of
the body is read (FastAPI reads and parses a body before it runs a route's dependencies, so an unauthenticated
client could otherwise make the server hold any body it sends): 401 without valid credentials, 403 when the role
does not allow it.  It keeps the principal in the request's state (``request.state.principal``), and
``WriteActor`` gives a write its author as the records' history and the audit keep it (``user:<name>``, or
``api:<key fingerprint>`` for a key: the start of its SHA-256, never the key itself).  A refused credential is
recorded in the audit trail, and an address refused too often is answered 429 (api/failed_auth.py).

A token's secret is checked with a slow hash (scrypt) once; a check that passed is remembered by the token's
SHA-256 together with the stored hash it matched.  The principal of a token seen lately is remembered too
(api/signed_in.py), until any user changes: the database tells every server when one does, so a revoked or
rotated token is refused by the next request, and a request of a signed-in user costs no round trip.

Every request body is capped: an upload (multipart/form-data, streamed to disk) at ``max_body_mb``, any other
body (JSON, read whole into memory before it is parsed) at ``max_json_mb``.  A declared Content-Length above the
limit is refused at once, and a body that turns out longer while it streams is cut off.  Every refusal here ends
as problem+json through the one error table of api/errors.py (the app passes its ``answer`` in).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match, get_route_path

from geo import users
from geo.errors import RiskmapError


class MissingCredentials(RiskmapError):
    """A request that needs a signed-in principal sent no credentials, or ones that are not valid."""


class Forbidden(RiskmapError):
    """A signed-in principal whose role does not allow the request."""


class BodyTooLarge(RiskmapError):
    """A request body over the configured limit."""


def key_fingerprint(key: str) -> str:
    """A short, stable name of a secret that does not reveal it: the first 12 hex digits of its SHA-256."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Principal:
    """Who makes a request: ``role`` None for no one signed in; ``areas`` the admin codes they are limited to
    (empty: every area)."""
    actor: str  # user:<name>, api:<key fingerprint> or anonymous
    role: str | None
    areas: tuple[str, ...] = ()

    @property
    def scoped(self) -> bool:
        return bool(self.areas)


ANONYMOUS = Principal("anonymous", None)

# The paths anyone may read, whatever the settings: the API's description and the service's health (for
# monitoring); the static files are mounts, which the gate leaves alone too.
PUBLIC_PATHS = frozenset({"/openapi.json", "/docs", "/health", "/sign-in", "/sign-out"})
# The cookie a browser signs in with (api/routes/session.py); taken for reads only (GET, HEAD).
SESSION_COOKIE = "riskmap_session"
SAFE_METHODS = frozenset({"GET", "HEAD"})


class TokenChecks:
    """The token checks that passed, remembered (least recently used first out) so that a token pays for its
    slow hash once: SHA-256 of the token -> the stored hash it matched.

    A token's slow checks take turns (one lock per stripe of tokens): a client that opens many connections at
    once with a fresh token (a browser, a script) would otherwise check the same hash once per request, all at
    the same time (bench/load: 50 scrypt checks of 16 MiB each, 6.7 s before the first answer on two busy cores);
    the ones waiting find the first one's result remembered."""

    STRIPES = 64

    def __init__(self, size: int = 4096):
        self.size = size
        self._passed: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self._checking = [threading.Lock() for _ in range(self.STRIPES)]

    def _remembered(self, digest: str, stored: str) -> bool:
        with self._lock:
            known = self._passed.get(digest)
            if known is not None:
                self._passed.move_to_end(digest)
        return known is not None and hmac.compare_digest(known, stored)

    def matches(self, token: str, secret: str, stored: str) -> bool:
        digest = hashlib.sha256(token.encode()).hexdigest()
        if self._remembered(digest, stored):
            return True
        with self._checking[int(digest[:8], 16) % self.STRIPES]:
            if self._remembered(digest, stored):  # checked by the request this one waited for
                return True
            if not users.secret_matches(secret, stored):
                return False
            with self._lock:
                self._passed[digest] = stored
                while len(self._passed) > self.size:
                    self._passed.popitem(last=False)
        return True


def _is_admin_key(keys: frozenset[str], credential: str) -> bool:
    # every key compared, in constant time
    found = False
    for k in keys:
        found |= hmac.compare_digest(credential.encode(), k.encode())
    return found


def authenticate(app_state, credential: str | None) -> Principal:
    """The principal of a request sending ``credential`` (a token or an admin key; None: none sent).  Raises
    ``MissingCredentials`` when the credential is not valid.  Reads the database for a user's token (call it off
    the event loop)."""
    if not credential:
        return ANONYMOUS
    if _is_admin_key(app_state.settings.admin_keys(), credential):
        return Principal(f"api:{key_fingerprint(credential)}", "admin")
    parts = users.split_token(credential)
    if parts is None:
        raise MissingCredentials("the credentials are not valid: send a user's token (rm_…) or an administrator's "
                                 "API key")
    token_id, secret = parts
    cache = getattr(app_state, "signed_in", None)
    generation = cache.generation if cache is not None else 0
    pool = app_state.pool
    conn = pool.getconn()
    try:
        with conn.cursor() as cur:
            found = users.credential(cur, token_id)
    finally:
        pool.putconn(conn)
    if found is None or not app_state.token_checks.matches(credential, secret, found.secret_hash):
        raise MissingCredentials("the token is not valid (unknown, rotated or revoked)")
    principal = Principal(f"user:{found.user.name}", found.user.role, found.user.areas)
    if cache is not None:
        cache.put(credential, principal, generation)
    return principal


async def remembered(app_state, credential: str) -> Principal | None:
    """The principal of a token seen lately (api/signed_in.py), without reading the user's row; None: ask
    ``authenticate``."""
    cache = getattr(app_state, "signed_in", None)
    return await cache.aget(credential) if cache is not None else None


def _credential(scope) -> tuple[str | None, bool]:
    """The credential a request sends, and whether it came in the session cookie (a header wins)."""
    auth = _header(scope, b"authorization")
    if auth is not None:
        scheme, _, value = auth.decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip(), False
    key = _header(scope, b"x-api-key")
    if key:
        return key.decode("latin-1").strip(), False
    if scope["method"] in SAFE_METHODS:
        cookies = _header(scope, b"cookie")
        if cookies:
            from http.cookies import CookieError, SimpleCookie

            try:
                jar = SimpleCookie(cookies.decode("latin-1"))
            except CookieError:
                return None, False
            if SESSION_COOKIE in jar:
                return jar[SESSION_COOKIE].value, True
    return None, False


def decide(principal: Principal, needed: str, anonymous_reads: bool, what: str) -> None:
    """Raise when ``principal`` may not make a request needing the role ``needed`` (``what`` names it)."""
    if principal.role is None:
        if needed == "viewer" and anonymous_reads:
            return
        raise MissingCredentials(f"{what} needs a signed-in user: send a token in the Authorization header "
                                 "(Bearer) or an API key in X-API-Key")
    if not users.allows(principal.role, needed):
        raise Forbidden(f"{what} needs the role {needed} or above; {principal.actor} is {principal.role}")
    if needed == "admin" and principal.scoped:
        # imports, feature edits and accidents reach any area: an admin limited to areas may not make them
        raise Forbidden(f"{what} needs an admin of every area; {principal.actor} is limited to "
                        f"{', '.join(principal.areas)}")


class Needs:
    """The role a route needs, as a dependency: ``dependencies=[Needs.inspector]``."""


def _needing(role: str):
    async def needs(request: Request) -> Principal:
        # the gate has decided already; the principal it found
        return request.state.principal

    needs.riskmap_role = role
    needs.__name__ = f"needs_{role}"
    return Depends(needs)


for _role in users.ROLES:
    setattr(Needs, _role, _needing(_role))


async def _actor(request: Request) -> str:
    return request.state.principal.actor


# The author of a write, as the history and the audit keep it.
WriteActor = Annotated[str, Depends(_actor)]


def _header(scope, name: bytes) -> bytes | None:
    """The first value of a request header (as Starlette's ``Headers.get`` reads it)."""
    return next((v for k, v in scope.get("headers") or [] if k == name), None)


def needed_role(dependant) -> str | None:
    """The role a route's dependencies declare (the highest, should there be several); None: none declared."""
    found = []

    def walk(d):
        role = getattr(d.call, "riskmap_role", None)
        if role is not None:
            found.append(role)
        for sub in d.dependencies:
            walk(sub)

    walk(dependant)
    return max(found, key=users.ROLES.index) if found else None


def api_routes(routes):
    """Every route of the app with a dependant (included routers flattened)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # a FastAPI whose routers keep a flat list of APIRoutes
        contexts = routes
    else:
        contexts = iter_route_contexts(routes)
    return [r for r in contexts if getattr(r, "dependant", None) is not None]


async def _to_sign_in(scope, receive, send) -> None:
    from urllib.parse import quote

    from starlette.responses import RedirectResponse

    target = get_route_path(scope) + (f"?{scope['query_string'].decode('latin-1')}" if scope.get("query_string")
                                      else "")
    lang = "&lang=en" if b"lang=en" in (scope.get("query_string") or b"") else ""  # the form in the page's language
    await RedirectResponse(f"/sign-in?next={quote(target, safe='')}{lang}", status_code=303)(scope, receive, send)


def claimed_by(credential: str | None) -> str | None:
    """Who a refused credential claimed to be, for the audit trail, never the secret: a token's id
    (``token:<id>``), or another credential's fingerprint (``api:<fingerprint>``)."""
    if not credential:
        return None
    parts = users.split_token(credential)
    return f"token:{parts[0]}" if parts else f"api:{key_fingerprint(credential)}"


class AccessGate:
    """ASGI middleware deciding who may make each request, before its body is read (module docstring).
    ``answer(scope, receive, send, exc)`` sends a refusal (api/errors.py)."""

    def __init__(self, app, answer, failures=None):
        self.app = app
        self.answer = answer
        self.failures = failures  # api/failed_auth.py: refusals recorded, and a client failing often slowed down
        self._rules: list[tuple[object, str]] | None = None  # (route, role needed), read from the app's routes once

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        needed = self._needed(scope)
        state = scope.setdefault("state", {})
        app_state = scope["app"].state
        credential, from_cookie = _credential(scope)
        if needed is None:  # a public path, a static file or no route at all (a 404 follows): whoever it is, if
            # the credentials say so (the health check tells more to who may read everything), else no one
            try:
                state["principal"] = ANONYMOUS if not credential else (
                    await remembered(app_state, credential)
                    or await run_in_threadpool(authenticate, app_state, credential))
            except Exception:  # noqa: BLE001 - a public path answers anyway, as to no one
                state["principal"] = ANONYMOUS
            return await self.app(scope, receive, send)
        client = (scope.get("client") or (None,))[0]
        what = f"{scope['method']} {get_route_path(scope)}"
        if credential and self.failures is not None and (slow_down := self.failures.refusal(client)) is not None:
            return await self.answer(scope, receive, send, slow_down)  # the credential is not even looked at
        try:
            try:
                principal = ANONYMOUS if not credential else (
                    authenticate(app_state, credential) if not users.split_token(credential)
                    else await remembered(app_state, credential)
                    or await run_in_threadpool(authenticate, app_state, credential))
            except MissingCredentials as e:
                if not from_cookie:
                    raise
                # a session cookie whose token was revoked or rotated since: recorded like any refused credential,
                # and the browser is served as no one (anonymous reads, where open; else the sign-in form)
                if self.failures is not None:
                    await self.failures.failed(app_state.pool, client, claimed_by(credential), what, str(e))
                principal, credential = ANONYMOUS, None
            decide(principal, needed, app_state.settings.anonymous_reads, what)
        except MissingCredentials as e:
            if self.failures is not None and (credential or scope["method"] not in SAFE_METHODS):
                # a credential refused, or a write tried without one: recorded (a read without one, as a browser
                # opening a page before signing in, is not an attempt)
                await self.failures.failed(app_state.pool, client, claimed_by(credential), what, str(e))
            if scope["method"] in SAFE_METHODS and b"text/html" in (_header(scope, b"accept") or b""):
                return await _to_sign_in(scope, receive, send)  # a person opening a page: the sign-in form
            return await self.answer(scope, receive, send, e)
        except Exception as e:  # noqa: BLE001 - every other refusal (and a database that is down) through the table
            return await self.answer(scope, receive, send, e)
        state["principal"] = principal
        if scope["method"] not in SAFE_METHODS and principal.role is not None:
            # the request's writes are recorded under its name (request.state.writer: api/dependencies.py tags the
            # request's connection with it)
            state["writer"] = principal.actor
        await self.app(scope, receive, send)

    def _needed(self, scope) -> str | None:
        path = get_route_path(scope)
        if path in PUBLIC_PATHS:
            return None
        if self._rules is None:
            self._rules = [(r, needed_role(r.dependant) or "admin") for r in api_routes(scope["app"].routes)]
        partial = None
        for route, role in self._rules:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return role
            if match is Match.PARTIAL and partial is None:
                partial = role  # the path of a route, another method: the 405 only for those who may see it
        return partial


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
