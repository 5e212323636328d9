"""Fixtures of the API tests: a database of its own per test module, holding the scored Tangshan demo."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from data.loader import load_demo
from geo import store
from geo.risk.config import load_model
from geo.risk.scoring import score
from tests.conftest import throwaway_database

AS_OF = dt.date(2026, 11, 29)


@contextmanager
def demo_database(cluster):
    """A database of its own holding the demo region, scored; yields its URL and drops it afterwards."""
    with throwaway_database(cluster[1]) as url:
        conn = store.connect(url)
        try:
            load_demo(conn)
            score(conn, load_model(), AS_OF, full=True)
        finally:
            conn.close()
        yield url


@pytest.fixture(scope="module")
def demo_url(cluster):
    """The scored demo in a database of this test module's own."""
    with demo_database(cluster) as url:
        yield url


@pytest.fixture(scope="module")
def client(demo_url):
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=demo_url))) as c:
        yield c


@pytest.fixture(scope="module")
def conn(demo_url):
    c = store.connect(demo_url)
    c.autocommit = True
    yield c
    c.close()
