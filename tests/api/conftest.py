"""Fixtures of the API tests: a database of its own per test module, holding the scored Tangshan demo."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from geo import store
from tests.conftest import DEMO_AS_OF, demo_template, throwaway_database

AS_OF = DEMO_AS_OF  # 2026-11-29


@contextmanager
def demo_database(cluster):
    """A database of its own holding the demo region, scored as of ``AS_OF``; yields its URL and drops it
    afterwards.  A clone of the session's scored demo template (tests/conftest.py), which is built the same way."""
    with throwaway_database(cluster[1], template=demo_template(cluster[1])) as url:
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
