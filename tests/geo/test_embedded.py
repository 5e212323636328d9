"""The embedded PostgreSQL + PostGIS cluster on its own temporary directory: start, stop, restart, destroy."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from geo import store
from geo.embedded import EmbeddedCluster, find_binaries
from geo.errors import DatabaseUnavailable, MissingSystemDependency


@pytest.fixture
def cluster_root():
    """A fresh directory the 'postgres' account can enter (mode 0755), removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="riskmap-embedded-"))
    os.chmod(root, 0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_cluster_lifecycle_keeps_data_across_restarts(cluster_root):
    """start → running on 127.0.0.1 with PostGIS; stop → stopped; start again → data still there; destroy → gone."""
    c = EmbeddedCluster(cluster_root / "cluster")
    try:
        status = c.status()
        assert (status.initialised, status.running, status.port) == (False, False, None)
        assert "not initialised" in status.describe()

        url = c.start()
        status = c.status()
        assert status.initialised and status.running
        assert isinstance(status.port, int) and status.port > 0
        assert f"@127.0.0.1:{status.port}/" in url and status.url == url
        assert f"running on 127.0.0.1:{status.port}" in status.describe()

        conn = store.connect(url)
        try:
            with conn.cursor() as cur:
                cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
                cur.execute("SELECT PostGIS_Version()")
                assert cur.fetchone()[0].startswith("3.")
                cur.execute("CREATE TABLE survivor (id int, geom geometry(Point, 4326))")
                cur.execute("INSERT INTO survivor VALUES (1, ST_SetSRID(ST_MakePoint(118.18, 39.63), 4326))")
            conn.commit()
        finally:
            conn.close()

        assert c.stop() is True
        status = c.status()
        assert status.initialised and not status.running and status.port is None
        assert "stopped" in status.describe()
        assert c.stop() is False  # stopping a stopped cluster is a no-op
        with pytest.raises(DatabaseUnavailable):
            store.connect(url)

        url2 = c.start()
        assert c.status().running
        conn = store.connect(url2)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT id, ST_AsText(geom) FROM survivor")
                assert cur.fetchall() == [(1, "POINT(118.18 39.63)")]
        finally:
            conn.close()
    finally:
        c.destroy()
    assert not (cluster_root / "cluster").exists()
    assert not c.status().initialised


def test_data_directory_behind_a_closed_parent_is_refused(cluster_root):
    """As root, a data directory under a 0o700 parent gives DatabaseUnavailable naming both directories."""
    closed = cluster_root / "closed"
    closed.mkdir(mode=0o700)
    os.chmod(closed, 0o700)
    c = EmbeddedCluster(closed / "cluster")
    if os.geteuid() != 0:
        c._check_reachable()  # an ordinary user runs the server as itself: its own 0700 directories are fine
        return
    with pytest.raises(DatabaseUnavailable) as exc:
        c.start()
    msg = str(exc.value)
    assert str(closed / "cluster") in msg and str(closed) in msg and "0o700" in msg
    assert "RISKMAP_DATA_DIR" in msg
    assert not (closed / "cluster" / "pgdata").exists()
    assert not c.status().running


def test_missing_server_binaries_name_the_packages_to_install(monkeypatch, tmp_path):
    """With no PostgreSQL server binaries, the error names the Debian packages to install."""
    monkeypatch.setenv("RISKMAP_PG_BINDIR", str(tmp_path))  # an empty directory: no initdb, no pg_ctl
    with pytest.raises(MissingSystemDependency, match=r"apt-get install postgresql postgresql-15-postgis-3"):
        find_binaries()


def test_missing_postgis_names_the_postgis_package_for_that_server(monkeypatch, tmp_path):
    """Server binaries without a PostGIS extension: the error names postgresql-<version>-postgis-3."""
    real = find_binaries()
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for program in ("initdb", "pg_ctl"):
        (bindir / program).symlink_to(real.bindir / program)
    share = tmp_path / "share"
    (share / "extension").mkdir(parents=True)  # a share directory without postgis.control
    pg_config = bindir / "pg_config"
    pg_config.write_text(f"#!/bin/sh\necho {share}\n")
    pg_config.chmod(0o755)
    monkeypatch.setenv("RISKMAP_PG_BINDIR", str(bindir))
    with pytest.raises(MissingSystemDependency, match=rf"apt-get install postgresql-{real.version}-postgis-3"):
        find_binaries()
