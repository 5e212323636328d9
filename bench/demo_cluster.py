"""The benches' own embedded clusters holding the scored demo (bench/load, bench/rescore/few.py,
bench/plan/roadmatrix.py): their own, because some of them stop and start their cluster or load it hard."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def demo_env(here: Path, extra: dict | None = None) -> dict:
    """The environment of a riskmap command run on the cluster in ``here``/cluster with the code of this checkout."""
    env = {**os.environ, "RISKMAP_DATA_DIR": str(here / "cluster"), "CI": "true", "PYTHONPATH": str(ROOT)}
    env.pop("RISKMAP_DATABASE_URL", None)
    return {**env, **(extra or {})}


def demo_cluster(here: Path, rebuild: bool, ready: Callable | None = None) -> str:
    """The cluster in ``here``/cluster started (made again first with ``rebuild``), its schema brought up to date
    (then ``ready(conn)``, e.g. an extension the bench needs), holding the scored demo, built with `riskmap demo
    --no-serve` when it holds no scored enterprise; returns its URL."""
    from geo import store
    from geo.embedded import EmbeddedCluster

    here.mkdir(parents=True, exist_ok=True)
    os.chmod(here, 0o755)  # as root, the server runs as 'postgres' and must reach the cluster inside
    cluster = EmbeddedCluster(here / "cluster")
    if rebuild:
        cluster.destroy()
    url = cluster.start()
    conn = store.connect(url)
    store.migrate(conn)
    if ready is not None:
        ready(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT (SELECT count(*) FROM enterprise), (SELECT count(*) FROM feature_risk)")
        enterprises, scored = cur.fetchone()
    conn.close()
    if not enterprises or not scored:
        print("building the demo (riskmap demo --no-serve) ...", flush=True)
        subprocess.run([sys.executable, "-m", "api.cli", "demo", "--no-serve"], cwd=ROOT, env=demo_env(here),
                       check=True, capture_output=True, text=True)
    return url


def database_url(url: str | None) -> str:
    """``url`` (a bench's --url), else the embedded cluster of RISKMAP_DATA_DIR (or the default one), started."""
    if url is not None:
        return url
    from geo.embedded import EmbeddedCluster, default_data_dir

    return EmbeddedCluster(Path(os.environ.get("RISKMAP_DATA_DIR") or default_data_dir())).start()
