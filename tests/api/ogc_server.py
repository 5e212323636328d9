"""A real `riskmap serve` on a database of its own, and Debian's GDAL (ogrinfo, ogr2ogr) as its client, for the
OGC API – Features tests (issue 16)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(db_url: str, log: Path):
    """`python -m api.cli serve` on a free local port (anonymous reads off); yields its base URL."""
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                env=dict(os.environ, RISKMAP_DATABASE_URL=db_url), stdout=out,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(log.read_text(errors="replace")[-3000:]) from None
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def get(url: str, token: str | None, accept: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a GET, errors included."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if accept:
        headers["Accept"] = accept
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(url: str, token: str | None) -> dict:
    status, _, body = get(url, token)
    assert status == 200, (url, status, body[:500])
    return json.loads(body)


def gdal(args: list[str], token: str, workdir: Path, debug: bool = False) -> subprocess.CompletedProcess:
    """Run a GDAL command sending the bearer token (a header file: GDAL_HTTP_HEADER_FILE)."""
    header_file = workdir / "gdal-headers.txt"
    header_file.write_text(f"Authorization: Bearer {token}\n")
    env = dict(os.environ, GDAL_HTTP_HEADER_FILE=str(header_file), CPL_DEBUG="ON" if debug else "OFF",
               GDAL_HTTP_TIMEOUT="60")
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
