"""The built wheel: it holds every module, SQL file, migration, table and static asset of the source tree, and
building it prints no setuptools warning (issue 13, item 5).

The wheel is built from a copy of the checkout's packages (so that no earlier build's leftovers get in, and the
checkout is not written to) with the test environment's own setuptools (no build isolation): no network needed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("api", "geo", "maps", "data")


def source_files() -> set[str]:
    """Every file under the four packages, as a wheel names it (caches and hidden files aside)."""
    out = set()
    for top in PACKAGES:
        for path in (ROOT / top).rglob("*"):
            rel = path.relative_to(ROOT)
            if path.is_file() and "__pycache__" not in rel.parts and not any(p.startswith(".") for p in rel.parts):
                out.add(rel.as_posix())
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> tuple[set[str], str]:
    """The names in a wheel built from a copy of the checkout, and what the build printed."""
    out = tmp_path_factory.mktemp("wheel")
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for top in PACKAGES:
        shutil.copytree(ROOT / top, src / top, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v",
                           "--wheel-dir", str(out), str(src)], capture_output=True, text=True, cwd=src,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(src), "PIP_NO_INDEX": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [path] = out.glob("riskmap-*.whl")
    with zipfile.ZipFile(path) as z:
        return set(z.namelist()), proc.stdout + proc.stderr


def test_wheel_holds_every_source_file(wheel):
    """Every .py, .sql (migrations too), table, model file and static asset under api/, geo/, maps/ and data/ is
    in the wheel."""
    names, _ = wheel
    expected = source_files()
    assert {n for n in expected if n.endswith(".sql")} >= {"geo/sql/migrations/0001_feature_store.sql",
                                                            "api/sql/risks_near.sql"}
    assert any(n.startswith("maps/static/vendor/leaflet.heat/") for n in expected)
    missing = sorted(expected - names)
    assert not missing, f"not in the wheel: {missing}"


def test_wheel_holds_no_caches_or_tests(wheel):
    """The wheel carries riskmap's packages and its metadata only: no tests, benchmarks or bytecode caches."""
    names, _ = wheel
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {*PACKAGES, "riskmap-0.1.0.dist-info"}, tops
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_build_prints_no_setuptools_warning(wheel):
    """Building prints none of setuptools' warnings (a data folder missing from `packages` was one block each)."""
    _, output = wheel
    assert "absent from the `packages` configuration" not in output
    assert "Warning" not in output.replace("WARNING: Location", ""), output
