"""The users of the API: who they are, what their role allows, which areas they may see (issue 15).

A user's token is ``rm_<token_id>_<secret>``: ``token_id`` (12 random hex digits) finds the user's row, and the
secret (32 random bytes, URL-safe base64) is stored only as a salted scrypt hash (``hashlib.scrypt``, OpenSSL's),
compared in constant time.  A token is shown once, when it is made (``add``, ``rotate``); a rotation replaces the
token_id as well, so the old token finds no row at all.  A revoked user keeps the row (the audit trail and the
records name them) and no longer signs in.

Roles are ordered: a viewer reads; an inspector also records inspections and hidden dangers; a planner also makes
plans; an admin also imports, edits features and manages users.  ``allows(role, needed)`` is the one rule.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from psycopg2.extras import RealDictCursor

from geo.errors import Conflict, InputError, NotFound

ROLES = ("viewer", "inspector", "planner", "admin")  # each allowed what the ones before it are, and more
NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
TOKEN = re.compile(r"^rm_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")

# scrypt's cost: 2**14 x 8 x 1 uses 16 MiB and about 50 ms a check on this class of machine (RFC 7914's
# interactive setting); the API checks a token once and then remembers it (api/access.py), so the cost is paid
# by the first request of a token, and by anyone guessing.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


class BadUser(InputError):
    """A user name, role or area that is not valid."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    areas: tuple[str, ...] = field(default_factory=tuple)
    created_at: object = None
    created_by: str = ""
    rotated_at: object = None
    revoked_at: object = None

    def as_json(self) -> dict:
        return {"id": self.id, "name": self.name, "role": self.role, "areas": list(self.areas),
                "created_at": _iso(self.created_at), "created_by": self.created_by,
                "rotated_at": _iso(self.rotated_at), "revoked_at": _iso(self.revoked_at)}


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def allows(role: str | None, needed: str) -> bool:
    """Whether ``role`` may do what needs ``needed`` (a role name); ``None`` (no one signed in) may nothing."""
    return role is not None and ROLES.index(role) >= ROLES.index(needed)


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) of ``secret``."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=64 * 1024 * 1024,
                            dklen=32)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)])


def secret_matches(secret: str, stored: str) -> bool:
    """Whether ``secret`` hashes to ``stored`` (constant-time comparison of the hashes)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(secret.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                                  maxmem=64 * 1024 * 1024, dklen=len(_unb64(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, _unb64(digest))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


def split_token(token: str) -> tuple[str, str] | None:
    """(token_id, secret) of a well-formed token, else None."""
    m = TOKEN.match(token)
    return (m.group(1), m.group(2)) if m else None


def _new_token() -> tuple[str, str, str]:
    """(token, token_id, secret)."""
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"rm_{token_id}_{secret}", token_id, secret


@cache
def _sql(name: str) -> str:
    return resources.files("geo").joinpath(f"sql/users_{name}.sql").read_text()


def _user(row: dict) -> User:
    return User(row["id"], row["name"], row["role"], tuple(row["areas"]), row["created_at"], row["created_by"],
                row["rotated_at"], row["revoked_at"])


def check_new(name: str, role: str, areas: list[str] | tuple[str, ...], known_areas: set[str]) -> None:
    """Raise ``BadUser`` naming what is wrong with a user to be made."""
    if not NAME.match(name or ""):
        raise BadUser(f"user name {name!r} is not valid: 1 to 64 letters, digits or _ . @ -")
    if role not in ROLES:
        raise BadUser(f"role {role!r} is not one of {', '.join(ROLES)}")
    unknown = [a for a in areas if a not in known_areas]
    if unknown:
        raise BadUser(f"unknown admin area code(s): {', '.join(unknown)} (see `riskmap areas import`; GET /areas "
                      "lists the codes)")


def add(conn, name: str, role: str, areas: list[str], created_by: str) -> tuple[User, str]:
    """Make a user; returns the user and their token (shown once: only its hash is kept)."""
    areas = sorted(set(areas))
    with conn.cursor() as cur:
        cur.execute("SELECT admin_code FROM area WHERE admin_code = ANY(%s)", (areas,))
        known = {r[0] for r in cur.fetchall()}
    check_new(name, role, areas, known)
    token, token_id, secret = _new_token()
    user = _write_one(conn, "add", {"name": name, "role": role, "areas": areas, "token_id": token_id,
                                    "secret_hash": hash_secret(secret), "created_by": created_by},
                      Conflict(f"a user named {name!r} already exists (`riskmap users rotate {name}` gives a new "
                               "token)"))
    return user, token


def _write_one(conn, query: str, params: dict, none: Exception) -> User:
    """Run the users_<query>.sql that writes one user and commit; raise ``none`` (rolled back) when it wrote none."""
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(_sql(query), params)
        row = cur.fetchone()
    if row is None:
        conn.rollback()
        raise none
    conn.commit()
    return _user(row)


def listed(conn, include_revoked: bool = True) -> list[User]:
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(_sql("list"), {"include_revoked": include_revoked})
        return [_user(r) for r in cur.fetchall()]


def revoke(conn, name: str) -> User:
    """Revoke a user: their token is refused from now on."""
    return _write_one(conn, "revoke", {"name": name}, NotFound(f"no user named {name!r} that is not revoked already"))


def rotate(conn, name: str) -> tuple[User, str]:
    """A new token for a user; the old one is refused from now on."""
    token, token_id, secret = _new_token()
    user = _write_one(conn, "rotate", {"name": name, "token_id": token_id, "secret_hash": hash_secret(secret)},
                      NotFound(f"no user named {name!r} that is not revoked"))
    return user, token


@dataclass(frozen=True)
class Credential:
    """What a token's row says: the user and the stored hash (to check the secret against)."""
    user: User
    secret_hash: str


def credential(cur, token_id: str) -> Credential | None:
    """The signed-in user of a token_id (not revoked), with their stored hash; None when there is none."""
    cur.execute(_sql("by_token"), {"token_id": token_id})
    row = cur.fetchone()
    if row is None:
        return None
    id_, name, role, areas, secret_hash = row
    return Credential(User(id_, name, role, tuple(areas)), secret_hash)
