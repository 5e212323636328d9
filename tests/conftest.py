"""Shared fixtures: a real PostgreSQL + PostGIS for every storage test.

The suite starts its own embedded cluster (geo/embedded.py, the same code `riskmap db start` runs) in a fresh
temporary directory, whether or not another server listens on 5432, migrates a template database once, and
gives each test that asks for ``db`` its own database cloned from that template.  The scored demo region, which
many modules start from, is built once too, as a second template (``demo_template``), and cloned for each of them.
Nothing is skipped: if the cluster cannot start, the tests that need it fail with the reason.

The cluster is a throwaway, so it does not sync to disk (``fsync``, ``full_page_writes`` and ``synchronous_commit``
off): creating and dropping a database per test then costs a fraction of what it costs on a durable server.  A
server crash is the only thing those settings give up, and no test crashes this cluster (the restart tests stop
clusters of their own, with a clean shutdown).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest

from geo import store
from geo.embedded import EmbeddedCluster, prepare

TEMPLATE = "riskmap_template"
DEMO_TEMPLATE = "riskmap_demo_template"
DEMO_AS_OF = dt.date(2026, 11, 29)  # the day the demo template is scored as of
# durability a throwaway cluster does without (reloadable settings: no restart)
THROWAWAY_SETTINGS = {"fsync": "off", "full_page_writes": "off", "synchronous_commit": "off"}
_counter = itertools.count()
_demo_templates: dict[str, str] = {}  # server URL -> the name of its scored demo template, once built
_demo_template_lock = threading.Lock()


@pytest.fixture(scope="session")
def cluster():
    """A throwaway embedded cluster for the whole test session."""
    root = Path(tempfile.mkdtemp(prefix="riskmap-test-"))
    os.chmod(root, 0o755)  # as root, the server runs as 'postgres' and must reach it
    c = EmbeddedCluster(root / "cluster")
    c.start()
    # the tests connect as the superuser (they create databases); the application's role (riskmap_app) owns
    # the data, as in a cluster riskmap runs, and c.app_url(database) connects as it
    url = c.admin_url()
    conn = store.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        for name, value in THROWAWAY_SETTINGS.items():
            cur.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        cur.execute("SELECT pg_reload_conf()")
        cur.execute(f"CREATE DATABASE {TEMPLATE}")
    conn.close()
    tconn = store.connect(url.rsplit("/", 1)[0] + "/" + TEMPLATE)
    prepare(tconn)  # the extensions, the migrations, the data handed to riskmap_app (geo/embedded.py)
    tconn.close()
    yield c, url
    c.destroy()
    shutil.rmtree(root, ignore_errors=True)


@contextmanager
def throwaway_database(server_url: str, template: str = TEMPLATE):
    """A new database cloned from ``template`` on the server of ``server_url``; yields its URL, drops it after."""
    name = f"riskmap_t{os.getpid()}_{next(_counter)}"
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def demo_template(server_url: str) -> str:
    """The name of a template database on the server of ``server_url`` holding the Tangshan demo region, loaded
    (data/loader.py ``load_demo``) and fully scored as of ``DEMO_AS_OF`` with the default model: built the first
    time it is asked for, then cloned by every test that starts from the scored demo (``CREATE DATABASE ...
    TEMPLATE``), which costs a fraction of loading and scoring it again."""
    from data.loader import load_demo
    from geo.risk.config import load_model
    from geo.risk.scoring import score

    with _demo_template_lock:
        if server_url not in _demo_templates:
            admin = psycopg2.connect(server_url)
            admin.autocommit = True
            try:
                with admin.cursor() as cur:
                    cur.execute(f"DROP DATABASE IF EXISTS {DEMO_TEMPLATE}")
                    cur.execute(f"CREATE DATABASE {DEMO_TEMPLATE} TEMPLATE {TEMPLATE}")
                conn = store.connect(server_url.rsplit("/", 1)[0] + "/" + DEMO_TEMPLATE)
                try:
                    load_demo(conn)
                    score(conn, load_model(), DEMO_AS_OF, full=True)
                finally:
                    conn.close()
                with admin.cursor() as cur:  # a template nobody connects to by mistake
                    cur.execute(f"ALTER DATABASE {DEMO_TEMPLATE} WITH ALLOW_CONNECTIONS false")
            finally:
                admin.close()
            _demo_templates[server_url] = DEMO_TEMPLATE
        return _demo_templates[server_url]


@pytest.fixture
def db_url(cluster):
    """URL of a fresh, migrated database for this test alone."""
    with throwaway_database(cluster[1]) as url:
        yield url


@pytest.fixture
def db(db_url):
    """A connection to this test's own migrated database."""
    conn = store.connect(db_url)
    yield conn
    conn.close()


@pytest.fixture
def demo_url(cluster):
    """A database of this test's own holding the Tangshan demo region, loaded and fully scored as of DEMO_AS_OF (a
    clone of the session's scored demo template).  (tests/api and tests/maps have their own, shared by a module or
    the package.)"""
    with throwaway_database(cluster[1], template=demo_template(cluster[1])) as url:
        yield url


@pytest.fixture
def demo_db(demo_url):
    """A connection to ``demo_url``."""
    conn = store.connect(demo_url)
    yield conn
    conn.close()


def count_rows(conn, table: str) -> int:
    with conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")
        n = cur.fetchone()[0]
    conn.rollback()
    return n


def pytest_sessionfinish(session, exitstatus):
    """In CI a skipped test is a failed run: PostGIS and browser tests must really run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if os.environ.get("CI") and skipped and exitstatus == 0:
        reporter.write_line(f"CI: {skipped} test(s) skipped; a skipped test fails the run", red=True)
        session.exitstatus = 1
