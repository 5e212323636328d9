"""Signing in with a browser: GET /sign-in (a form), POST /sign-in (sets the session cookie), POST /sign-out.

A browser cannot send a Bearer header when it opens a page, so a person signs in once with their token and the
token is kept in a cookie: HttpOnly (the pages' scripts cannot read it), SameSite=Strict (another site cannot make
the browser send it) and Secure when the page came over HTTPS.  api/access.py takes the cookie for reads only
(GET and HEAD): writes still send the token in a header, as the field form does, so a forged form on another site
can never write.  These routes are public (the gate lets them through); the token is checked here, with the same
rule as the gate's.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from api.access import SESSION_COOKIE, MissingCredentials, authenticate, claimed_by
from maps.sign_in_page import sign_in_page

router = APIRouter(tags=["maps"])

Lang = Literal["zh", "en"]


def _local(path: str) -> str:
    """Where to go after signing in: a path of this site only (never another site's address)."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


@router.get("/sign-in", response_class=HTMLResponse, summary="The sign-in page")
def sign_in_form(next: Annotated[str, Query(max_length=2000, description="The page to open afterwards.")] = "/",
                 lang: Annotated[Lang, Query(description="Labels: Chinese (default) or English.")] = "zh",
                 message: Annotated[Literal["bad", "out"] | None, Query(include_in_schema=False)] = None):
    return HTMLResponse(sign_in_page(lang, _local(next), message))


# (response_class: a redirect has no body, so the document gives the 303 no content)
@router.post("/sign-in", summary="Sign in with a token (sets the session cookie)", response_class=RedirectResponse,
             responses={303: {"description": "Signed in: on to the page asked for (or back to the form)."},
                        # the token is checked against the database here, not by the gate (a public path)
                        503: {"description": "The database is unavailable or busy: the token cannot be checked."},
                        429: {"description": "Too many refused credentials from this address lately; retry after "
                                             "the Retry-After seconds."}},
             status_code=303)
async def sign_in(request: Request, token: Annotated[str, Form(max_length=200)],
                  next: Annotated[str, Form(max_length=2000)] = "/", lang: Annotated[Lang, Form()] = "zh"):
    # a token refused here counts against the address as one refused by the gate (api/failed_auth.py): the form
    # is no faster way to guess
    failures = request.app.state.failed_auth
    client = request.client.host if request.client else None
    if (slow_down := failures.refusal(client)) is not None:
        raise slow_down
    try:
        principal = await run_in_threadpool(authenticate, request.app.state, token.strip())
    except MissingCredentials as e:
        await failures.failed(request.app.state.pool, client, claimed_by(token.strip()), "POST /sign-in", str(e))
        principal = None
    if principal is None or principal.role is None:
        return RedirectResponse(f"/sign-in?message=bad&lang={lang}", status_code=303)
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token.strip(), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


@router.post("/sign-out", summary="Sign out (clears the session cookie)", status_code=303,
             response_class=RedirectResponse,
             responses={303: {"description": "Signed out: on to the sign-in page."}})
def sign_out(lang: Annotated[Lang, Query()] = "zh"):
    response = RedirectResponse(f"/sign-in?message=out&lang={lang}", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
