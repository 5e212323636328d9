"""Fixtures of the API tests: a database of its own per test module, holding the scored Tangshan demo."""

from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager

import psycopg2
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from data.loader import load_demo
from geo import store
from geo.risk.config import load_model
from geo.risk.scoring import score
from tests.conftest import TEMPLATE

AS_OF = dt.date(2026, 11, 29)


@contextmanager
def demo_database(cluster, label: str):
    """A database of its own holding the demo region, scored; yields its URL and drops it afterwards."""
    _, url = cluster
    name = f"riskmap_{label}_{os.getpid()}"
    admin = psycopg2.connect(url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    test_url = url.rsplit("/", 1)[0] + "/" + name
    conn = store.connect(test_url)
    try:
        load_demo(conn)
        score(conn, load_model(), AS_OF, full=True)
    finally:
        conn.close()
    try:
        yield test_url
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@pytest.fixture(scope="module")
def demo_url(cluster, request):
    """The scored demo in a database named after the test module."""
    with demo_database(cluster, request.module.__name__.rsplit(".", 1)[-1]) as url:
        yield url


@pytest.fixture(scope="module")
def client(demo_url):
    with TestClient(create_app(Settings(database_url=demo_url))) as c:
        yield c


@pytest.fixture(scope="module")
def conn(demo_url):
    c = store.connect(demo_url)
    c.autocommit = True
    yield c
    c.close()
