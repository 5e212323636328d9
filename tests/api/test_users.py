"""Users, roles and tokens (issue 15): `riskmap users add/list/revoke/rotate`, Bearer tokens over HTTP, what each
role may do, anonymous reads by configuration, and the admin key's strength checked at start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from api.settings import Settings
from geo import users

ADMIN_KEY = "k-users-admin-7f3a9c2e41d8"


@pytest.fixture(scope="module")
def invoke(demo_url):
    runner = CliRunner()

    def _invoke(*args: str):
        return runner.invoke(cli, list(args), env={"RISKMAP_DATABASE_URL": demo_url})

    return _invoke


@pytest.fixture(scope="module")
def tokens(invoke):
    """One user of each role, with every area, and their tokens (as `riskmap users add` printed them)."""
    made = {}
    for role in users.ROLES:
        result = invoke("users", "add", f"u-{role}", "--role", role)
        assert result.exit_code == 0, result.output
        made[role] = result.stdout.strip().splitlines()[-1]
    return made


@pytest.fixture(scope="module")
def closed(demo_url):
    """An app that allows no anonymous reads, with an admin key."""
    with TestClient(create_app(Settings(database_url=demo_url, api_keys=ADMIN_KEY))) as c:
        yield c


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_add_prints_a_token_once_and_keeps_only_its_scrypt_hash(invoke, tokens, conn):
    token = tokens["viewer"]
    assert users.split_token(token) is not None
    with conn.cursor() as cur:
        cur.execute("SELECT token_id, secret_hash FROM riskmap_user WHERE name = 'u-viewer'")
        token_id, stored = cur.fetchone()
    assert token.startswith(f"rm_{token_id}_")
    secret = users.split_token(token)[1]
    assert stored.startswith("scrypt$") and secret not in stored
    assert users.secret_matches(secret, stored) and not users.secret_matches(secret + "x", stored)
    listed = invoke("users", "list", "--format", "json")
    assert listed.exit_code == 0
    rows = {u["name"]: u for u in json.loads(listed.stdout)}
    assert rows["u-viewer"]["role"] == "viewer" and rows["u-viewer"]["revoked_at"] is None
    assert token not in listed.stdout and "secret" not in listed.stdout


def test_bad_users_are_refused_naming_what_is_wrong(invoke, tokens):
    result = invoke("users", "add", "u-viewer", "--role", "viewer")
    assert result.exit_code == 3 and "already exists" in result.output
    result = invoke("users", "add", "someone", "--role", "boss")
    assert result.exit_code == 3 and "boss" in result.output and "viewer, inspector, planner, admin" in result.output
    result = invoke("users", "add", "someone", "--role", "viewer", "--area", "999999")
    assert result.exit_code == 3 and "999999" in result.output
    result = invoke("users", "add", "bad name!", "--role", "viewer")
    assert result.exit_code == 3 and "not valid" in result.output
    assert invoke("users", "revoke", "nobody").exit_code == 6


def test_a_token_reads_where_no_credentials_may_not(closed, tokens):
    r = closed.get("/risk-list", params={"limit": 1})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert r.headers["content-type"] == "application/problem+json"
    assert closed.get("/risk-list", params={"limit": 1}, headers=bearer(tokens["viewer"])).status_code == 200
    # the token in X-API-Key works too (the field form sends it there)
    assert closed.get("/risk-list", params={"limit": 1}, headers={"X-API-Key": tokens["viewer"]}).status_code == 200
    # the admin key reads and writes
    assert closed.get("/risk-list", params={"limit": 1}, headers={"X-API-Key": ADMIN_KEY}).status_code == 200
    # the service's health and its description stay open (monitoring, clients)
    assert closed.get("/health").status_code == 200
    assert closed.get("/openapi.json").status_code == 200
    # a made-up token of the right shape, and a wrong secret for a real token_id: 401
    token_id = users.split_token(tokens["viewer"])[0]
    for fake in ("rm_0123456789ab_" + "A" * 43, f"rm_{token_id}_" + "B" * 43):
        r = closed.get("/risk-list", headers=bearer(fake))
        assert r.status_code == 401 and "not valid" in r.json()["detail"]


def test_each_role_may_do_what_it_is_for_and_no_more(closed, tokens, conn):
    """A viewer reads; an inspector also records hidden dangers; a planner also makes plans; an admin also edits
    features.  Refused: 403 naming the role needed, nothing written."""
    danger = {"site_kind": "enterprise", "site_id": 1, "description": "扶梯护栏缺失", "grade": "general",
              "found_on": "2026-11-20", "deadline": "2026-12-20"}
    r = closed.post("/hidden-dangers", json=danger, headers=bearer(tokens["viewer"]))
    assert r.status_code == 403 and "inspector" in r.json()["detail"] and "u-viewer" in r.json()["detail"]
    r = closed.post("/hidden-dangers", json=danger, headers=bearer(tokens["inspector"]))
    assert r.status_code == 201, r.text
    history = closed.get(r.json()["href"] + "/history", headers=bearer(tokens["viewer"])).json()
    assert history["changes"][0]["changed_by"] == "user:u-inspector"
    plan = {"teams": 1, "days": 1, "min_level": "red", "time_limit_s": 1}
    assert closed.post("/plans", json=plan, headers=bearer(tokens["inspector"])).status_code == 403
    r = closed.post("/plans", json=plan, headers=bearer(tokens["planner"]))
    assert r.status_code == 201, r.text
    with conn.cursor() as cur:
        cur.execute("SELECT created_by FROM inspection_plan WHERE id = %s", (r.json()["id"],))
        assert cur.fetchone()[0] == "user:u-planner"
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [118.2, 39.6]},
               "properties": {"source_id": "USERS-1", "name": "测试企业", "industry": "machinery"}}
    r = closed.post("/features/enterprise", json=feature, headers=bearer(tokens["planner"]))
    assert r.status_code == 403 and "admin" in r.json()["detail"]
    assert closed.post("/features/enterprise", json=feature, headers=bearer(tokens["admin"])).status_code == 201


def test_rotate_refuses_the_old_token_and_revoke_refuses_every_token(invoke, closed):
    made = invoke("users", "add", "u-rotating", "--role", "viewer")
    old = made.stdout.strip().splitlines()[-1]
    assert closed.get("/risk-list", headers=bearer(old)).status_code == 200  # checked once, then remembered
    rotated = invoke("users", "rotate", "u-rotating")
    assert rotated.exit_code == 0, rotated.output
    new = rotated.stdout.strip().splitlines()[-1]
    assert new != old
    assert closed.get("/risk-list", headers=bearer(old)).status_code == 401
    assert closed.get("/risk-list", headers=bearer(new)).status_code == 200
    assert invoke("users", "revoke", "u-rotating").exit_code == 0
    assert closed.get("/risk-list", headers=bearer(new)).status_code == 401
    assert invoke("users", "rotate", "u-rotating").exit_code == 6  # a revoked user gets no new token


@pytest.mark.parametrize("key", ["short-key", "changeme", "x" * 32, "password"])
def test_a_short_or_default_admin_key_is_refused_at_start_up(key, demo_url):
    with pytest.raises(ValidationError, match="RISKMAP_API_KEYS"):
        Settings(database_url=demo_url, api_keys=key)
    result = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--port", "1"], capture_output=True, text=True,
                            env=dict(os.environ, RISKMAP_DATABASE_URL=demo_url, RISKMAP_API_KEYS=key), timeout=60)
    assert result.returncode == 2 and "RISKMAP_API_KEYS" in result.stderr


def test_anonymous_reads_follow_the_setting_and_never_allow_writes(demo_url):
    with TestClient(create_app(Settings(database_url=demo_url, anonymous_reads=True))) as c:
        assert c.get("/risk-list", params={"limit": 1}).status_code == 200
        assert c.post("/hidden-dangers", json={}).status_code == 401


def test_a_remembered_signed_in_user_is_forgotten_the_moment_the_user_changes(invoke, closed, conn):
    """The server remembers who a token belongs to (no database round trip for the next requests), and forgets
    it when the user's row changes, even by hand: an inspector made a viewer by an UPDATE typed in psql is
    refused the very next write."""
    made = invoke("users", "add", "u-demoted", "--role", "inspector")
    token = made.stdout.strip().splitlines()[-1]
    assert closed.get("/risk-list", params={"limit": 1}, headers=bearer(token)).status_code == 200
    assert closed.get("/risk-list", params={"limit": 1}, headers=bearer(token)).status_code == 200  # remembered
    assert closed.app.state.signed_in.get(token) is not None
    with conn.cursor() as cur:
        cur.execute("UPDATE riskmap_user SET role = 'viewer' WHERE name = 'u-demoted'")
    r = closed.post("/hidden-dangers", json={}, headers=bearer(token))
    assert r.status_code == 403 and "u-demoted is viewer" in r.json()["detail"]
