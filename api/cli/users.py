"""`riskmap users`: the users of the API, their roles and areas, and their tokens (geo/users.py; issue 15)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from api.cli.common import _reported, _settings, cli_actor, err, out

users_app = typer.Typer(help="Users of the API: roles (viewer, inspector, planner, admin), the areas they may see, "
                             "their tokens.", no_args_is_help=True)


def _show_token(user, token: str, what: str) -> None:
    out.print(f"{what} {user.name} ({user.role}; areas: {', '.join(user.areas) or 'all'}).")
    err.print("The token is shown this once (only its hash is kept). Send it as 'Authorization: Bearer <token>':")
    out.print(token, highlight=False, soft_wrap=True)


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The user's name (letters, digits, _ . @ -).")],
    role: Annotated[str, typer.Option(help="viewer, inspector, planner or admin.")] = "viewer",
    area: Annotated[list[str] | None, typer.Option(
        "--area", help="An admin area code the user is limited to (repeat for several); none: every area.")] = None,
) -> None:
    """Make a user and print their token (once)."""
    from api.database import open_database
    from geo import users

    with _reported():
        conn = open_database(_settings())
        try:
            user, token = users.add(conn, name, role, list(area or []), cli_actor())
        finally:
            conn.close()
        _show_token(user, token, "Added")


@users_app.command("list")
def list_(
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Every user: name, role, areas, when made, rotated and revoked (never a token)."""
    from api.database import open_database
    from geo import users

    with _reported():
        conn = open_database(_settings())
        try:
            found = users.listed(conn)
        finally:
            conn.close()
        if fmt == "json":
            out.print_json(json.dumps([u.as_json() for u in found], ensure_ascii=False))
            return
        if fmt != "table":
            raise typer.BadParameter(f"unknown format {fmt!r}; expected table or json", param_hint="--format")
        for u in found:
            state = f"revoked {u.revoked_at:%Y-%m-%d %H:%M}" if u.revoked_at else "active"
            out.print(f"{u.name:24s} {u.role:10s} {','.join(u.areas) or 'all':20s} {state}", highlight=False)
        if not found:
            out.print("no users (add one: riskmap users add NAME --role ROLE [--area CODE])")


@users_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="The user to revoke.")]) -> None:
    """Refuse a user's token from now on (the user stays listed, as revoked)."""
    from api.database import open_database
    from geo import users

    with _reported():
        conn = open_database(_settings())
        try:
            user = users.revoke(conn, name)
        finally:
            conn.close()
        out.print(f"Revoked {user.name}: their token is refused from now on.")


@users_app.command("rotate")
def rotate(name: Annotated[str, typer.Argument(help="The user who gets a new token.")]) -> None:
    """Give a user a new token and refuse the old one from now on."""
    from api.database import open_database
    from geo import users

    with _reported():
        conn = open_database(_settings())
        try:
            user, token = users.rotate(conn, name)
        finally:
            conn.close()
        _show_token(user, token, "New token for")
