"""The whole HTTP API against its own OpenAPI schema (schemathesis), with and without credentials.

Every operation is run twice: with a valid API key (valid and invalid inputs; the writes, the multipart uploads
among them, really write) and without one (every write is then refused with 401).  A generated file is never one
an upload accepts (an import needs a file of a known type, a photo an image), so each upload is also sent
generated requests carrying a real file: a zipped Shapefile of enterprises, a JPEG, PNG or WebP photo of a stored
hidden danger.  For every request no response is a server error, and its status code, headers, content type and
body are the documented ones (schemathesis's ST103 among them: a status returned that the operation's OpenAPI
document does not list).  The requests the app really received are counted and there must be at least
``MIN_REQUESTS``: hypothesis stops early for an operation whose inputs it has exhausted, so ``EXAMPLES`` alone
does not say how many were made.

The writes run on a copy of this module's demo database (CREATE DATABASE ... TEMPLATE), so whatever they change
is dropped with the copy.
"""

from __future__ import annotations

import io
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

import geopandas as gpd
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.file_samples import FILE_SAMPLES
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.settings import Settings
from tests.conftest import throwaway_database

KEY = "k-schema-a1b2c3d4e5f6"
EXAMPLES = 15  # per operation and run
WITH_A_FILE = 4  # more per upload with the key, carrying a file it accepts
MIN_REQUESTS = 1000  # in both runs together
NOT_WRITES = {"POST /siting-check", "POST /sign-in", "POST /sign-out"}  # not GETs, and change no data
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


class CountedRequests:
    """ASGI middleware counting the HTTP requests that reach the app (what was really sent, not what was
    generated)."""

    def __init__(self, app):
        self.app = app
        self.requests = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] != "/openapi.json":
            self.requests += 1
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def api(cluster, demo_url, tmp_path_factory):
    """The schema of an app over a copy of the demo database, the counter of the requests it received, and the
    strategies of the uploads' files."""
    with throwaway_database(cluster[1], template=demo_url.rsplit("/", 1)[1]) as url:
        # writes answer without waiting for their re-scoring (which follows in the background), so that each
        # request takes its own time; reads are open to anyone, so that the run without credentials reads too; no
        # limit on refused credentials (the run refuses hundreds on purpose, the sign-in form's among them; the
        # limit has its own tests)
        settings = Settings(database_url=url, api_keys=KEY, max_body_mb=1.0, plan_max_time_s=1.0,
                            rescore_wait_s=0, anonymous_reads=True, auth_fail_limit=0)
        dangers = _hidden_dangers(settings, 3)
        shapefile = _zipped_shapefile(tmp_path_factory.mktemp("upload"))
        # what replaces generated form fields and path parameters, by operation
        with_a_file = {
            "POST /imports": st.just(({"file": shapefile, "kind": "enterprise", "crs": None, "layer": None,
                                       "encoding": None}, {})),
            "POST /hidden-dangers/{id}/photos": st.builds(
                lambda image, danger: ({"file": image}, {"id": danger}),
                st.sampled_from([FILE_SAMPLES[k] for k in ("jpg", "png", "webp")]), st.sampled_from(dangers)),
        }
        counted = CountedRequests(create_app(settings))
        yield schemathesis.openapi.from_asgi("/openapi.json", counted), counted, with_a_file
        asgi.shutdown_lifespans()  # the app's pool closes before its database is dropped


def _hidden_dangers(settings: Settings, n: int) -> list[int]:
    """The ids of ``n`` hidden dangers posted at a demo enterprise (the demo has none to add photos to)."""
    with TestClient(create_app(settings)) as c:
        site = c.get("/features", params={"kind": "enterprise", "limit": 1}).json()["features"][0]
        ids = []
        for i in range(n):
            r = c.post("/hidden-dangers", headers={"X-API-Key": KEY}, json={
                "source_id": f"SCHEMA-HD-{i}", "site_kind": "enterprise",
                "site_source_id": site["properties"]["source_id"], "description": "储罐区可燃气体报警器失效",
                "grade": "major", "found_on": "2026-03-01", "deadline": "2026-03-31"})
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    return ids


def _zipped_shapefile(directory: Path) -> bytes:
    """Two enterprises in Tangshan as a zipped Shapefile (a file schemathesis names ``file.zip``, by its
    bytes)."""
    sites = gpd.GeoDataFrame({"id": ["SCHEMA-1", "SCHEMA-2"], "name": ["模式检查一", "模式检查二"],
                              "industry": ["hazardous_chemicals", "metallurgy"]},
                             geometry=gpd.points_from_xy([118.19, 118.21], [39.64, 39.66]), crs="EPSG:4326")
    sites.to_file(directory / "sites.shp", engine="pyogrio", encoding="utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for part in sorted(directory.glob("sites.*")):
            z.write(part, part.name)
    return buffer.getvalue()


def _has_inputs(operation) -> bool:
    return any(True for _ in operation.iter_parameters()) or bool(operation.body)


def _fuzz(schema, key: str | None, with_a_file: dict | None = None) -> tuple[dict[str, Counter], list[str]]:
    """Run every operation with ``key`` in X-API-Key (none at all when None): the statuses answered per
    operation, and the failures of every operation (all operations run; their failures are reported together).
    With a key, inputs are valid and invalid (negative mode), and the operations of ``with_a_file`` are sent
    ``WITH_A_FILE`` requests more with a file they accept; without one, inputs are valid."""
    statuses: dict[str, Counter] = defaultdict(Counter)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        strategy = operation.as_strategy(GenerationMode.POSITIVE)
        runs = [(strategy, EXAMPLES)]
        if key is not None and _has_inputs(operation):
            runs = [(st.one_of(strategy, operation.as_strategy(GenerationMode.NEGATIVE)), EXAMPLES)]
        if key is not None and label in (with_a_file or {}):
            runs.append((st.tuples(strategy, with_a_file[label]).map(_with), WITH_A_FILE))
        try:
            for cases, examples in runs:
                _fuzz_operation(cases, examples, key, statuses[label])
        except (Exception, BaseExceptionGroup) as e:  # noqa: BLE001 - collected, reported below
            failures.append(f"{label}: {type(e).__name__}: {str(e)[:1500]}")
    return statuses, failures


def _with(drawn):
    """A generated case with some of its form fields and path parameters replaced (a field replaced by None is
    left out)."""
    case, (fields, path) = drawn
    body = {**(case.body if isinstance(case.body, dict) else {}), **fields}
    case.body = {name: value for name, value in body.items() if value is not None}
    case.path_parameters = {**(case.path_parameters or {}), **path}
    return case


def _fuzz_operation(cases, examples: int, key: str | None, statuses: Counter) -> None:
    @given(case=cases)
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case):
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "x-api-key"}
        case.headers = {**headers, "X-API-Key": key} if key is not None else headers
        response = case.call()
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    run()


def _writes(schema) -> set[str]:
    """The operations that change data and need more than a viewer: those documenting a 403 but reads (GET
    /audit needs an admin too)."""
    return {f"{op.method.upper()} {op.path}" for op in (r.ok() for r in schema.get_all_operations())
            if "403" in op.definition.raw.get("responses", {}) and op.method.upper() != "GET"}


def test_the_whole_api_with_and_without_credentials_conforms_to_its_schema(api):
    """Over 1,000 generated requests to every operation, with a valid key and without one, get no 5xx and only
    documented statuses, headers, content types and bodies; with the key no write is refused, and each upload
    stores a file; without it every write answers 401."""
    schema, counted, with_a_file = api
    keyed, failures = _fuzz(schema, KEY, with_a_file)
    keyless, keyless_failures = _fuzz(schema, None)
    writes = _writes(schema)
    summary = "\n".join(f"{label}: with key {dict(keyed[label])}, without {dict(keyless[label])}"
                        for label in keyed)
    print(f"{counted.requests} requests\n{summary}")

    assert not failures + keyless_failures, "\n\n".join(failures + keyless_failures)
    assert len(keyed) >= 40 and len(writes) >= 10, summary
    assert writes == {label for label in keyed if not label.startswith("GET ")} - NOT_WRITES, \
        "every operation that changes data needs a key"
    assert set(with_a_file) <= writes, "the uploads need a key"
    assert all(keyed[upload][200] + keyed[upload][201] for upload in with_a_file), summary
    refused = {w: keyed[w] for w in writes if keyed[w][401] or keyed[w][403]}
    assert not refused, f"writes refused with a valid key: {refused}"
    assert all(set(keyless[w]) == {401} for w in writes), summary
    assert counted.requests >= MIN_REQUESTS, f"only {counted.requests} requests\n{summary}"
