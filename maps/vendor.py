"""Refresh the browser libraries the map pages use, vendored in maps/static/vendor/ (issue 5, item 3).

    python -m maps.vendor

folium's pages load Leaflet and its plugins from public CDNs, so on a closed network (common in government
offices, and in CI) the map would not appear at all.  riskmap serves every script, stylesheet and image itself,
taken unchanged from the packages' npm releases with their licences.  This script fetches those releases with
`npm pack` (npm reads the registry it is configured for), copies the files listed below and writes the
provenance into maps/static/vendor/README.md.  The result is committed, so neither installing nor running
riskmap needs npm or a network.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parent / "static" / "vendor"

# package, version, licence (SPDX), {file in the package: path under its vendor folder}
PACKAGES: list[tuple[str, str, str, dict[str, str]]] = [
    ("leaflet", "1.9.4", "BSD-2-Clause", {
        "dist/leaflet.js": "leaflet.js",
        "dist/leaflet.css": "leaflet.css",
        "dist/images/layers.png": "images/layers.png",
        "dist/images/layers-2x.png": "images/layers-2x.png",
        "dist/images/marker-icon.png": "images/marker-icon.png",
        "dist/images/marker-icon-2x.png": "images/marker-icon-2x.png",
        "dist/images/marker-shadow.png": "images/marker-shadow.png",
        "LICENSE": "LICENSE",
    }),
    ("leaflet.markercluster", "1.5.3", "MIT", {
        "dist/leaflet.markercluster.js": "leaflet.markercluster.js",
        "dist/MarkerCluster.css": "MarkerCluster.css",
        "dist/MarkerCluster.Default.css": "MarkerCluster.Default.css",
        "MIT-LICENCE.txt": "LICENSE",
    }),
    ("leaflet.heat", "0.2.0", "BSD-2-Clause", {
        "dist/leaflet-heat.js": "leaflet-heat.js",
        "LICENSE": "LICENSE",
    }),
]


def fetch(name: str, version: str, into: Path) -> Path:
    """The npm release ``name@version`` as a tarball in ``into``."""
    out = subprocess.run(["npm", "pack", f"{name}@{version}", "--silent"], cwd=into, capture_output=True,
                         text=True, check=True).stdout.strip().splitlines()[-1]
    return into / out


def vendor() -> None:
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed to refresh the vendored libraries (Debian package npm)")
    lines = ["# Browser libraries (vendored)", "",
             "The map pages load these files from riskmap itself, never from a CDN, so that they work on a closed",
             "network. They are copied unchanged from each package's npm release by `python -m maps.vendor`.", "",
             "| package | version | licence | files |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, version, licence, files in PACKAGES:
            tarball = fetch(name, version, Path(tmp))
            target = VENDOR / name
            if target.exists():
                shutil.rmtree(target)
            with tarfile.open(tarball) as tar:
                for member, dest in files.items():
                    data = tar.extractfile(f"package/{member}")
                    if data is None:
                        raise SystemExit(f"{name}@{version} has no file {member}")
                    path = target / dest
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data.read())
            lines.append(f"| {name} | {version} | {licence} (`{name}/LICENSE`) | "
                         f"{', '.join(f'`{d}`' for d in files.values() if d != 'LICENSE')} |")
            print(f"vendored {name}@{version}: {len(files)} files")
    (VENDOR / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    vendor()
