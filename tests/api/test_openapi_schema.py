"""The whole HTTP API against its own OpenAPI schema (schemathesis), with and without credentials.

Every operation is run twice: with a valid API key (valid and invalid inputs; the writes, the multipart uploads
among them, really write) and without one (every write is then refused with 401).  For every generated request
no response is a server error, and its status code, headers, content type and body are the documented ones
(schemathesis's ST103 among them: a status returned that the operation's OpenAPI document does not list).  The
requests the app really received are counted and there must be at least ``MIN_REQUESTS``: hypothesis stops
early for an operation whose inputs it has exhausted, so ``EXAMPLES`` alone does not say how many were made.

The writes run on a copy of this module's demo database (CREATE DATABASE ... TEMPLATE), so whatever they change
is dropped with the copy.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
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

KEY = "k-schema"
EXAMPLES = 12  # per operation and run
MIN_REQUESTS = 1000  # in both runs together
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
def api(cluster, demo_url):
    """The schema of an app over a copy of the demo database, and the counter of the requests it received."""
    with throwaway_database(cluster[1], template=demo_url.rsplit("/", 1)[1]) as url:
        counted = CountedRequests(create_app(Settings(database_url=url, api_keys=KEY, max_body_mb=1.0,
                                                      plan_max_time_s=1.0)))
        yield schemathesis.openapi.from_asgi("/openapi.json", counted), counted
        asgi.shutdown_lifespans()  # the app's pool closes before its database is dropped


def _has_inputs(operation) -> bool:
    return any(True for _ in operation.iter_parameters()) or bool(operation.body)


def _fuzz(schema, key: str | None) -> tuple[dict[str, Counter], list[str]]:
    """Run every operation with ``key`` in X-API-Key (none at all when None): the statuses answered per
    operation, and the failures of every operation (all operations run; their failures are reported together).
    With a key, inputs are valid and invalid (negative mode); without one, valid."""
    statuses: dict[str, Counter] = defaultdict(Counter)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        try:
            _fuzz_operation(operation, key, statuses[label])
        except (Exception, BaseExceptionGroup) as e:  # noqa: BLE001 - collected, reported below
            failures.append(f"{label}: {type(e).__name__}: {str(e)[:1500]}")
    return statuses, failures


def _fuzz_operation(operation, key: str | None, statuses: Counter) -> None:
    strategy = operation.as_strategy(GenerationMode.POSITIVE)
    if key is not None and _has_inputs(operation):
        strategy = st.one_of(strategy, operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case):
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "x-api-key"}
        case.headers = {**headers, "X-API-Key": key} if key is not None else headers
        response = case.call()
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    run()


def _writes(schema) -> set[str]:
    """The operations that need a key: those documenting a 401."""
    return {f"{op.method.upper()} {op.path}" for op in (r.ok() for r in schema.get_all_operations())
            if "401" in op.definition.raw.get("responses", {})}


def test_the_whole_api_with_and_without_credentials_conforms_to_its_schema(api):
    """Over 1,000 generated requests to every operation, with a valid key and without one, get no 5xx and only
    documented statuses, headers, content types and bodies; with the key no write is refused, and every upload
    is tried; without it every write answers 401."""
    schema, counted = api
    keyed, failures = _fuzz(schema, KEY)
    keyless, keyless_failures = _fuzz(schema, None)
    writes = _writes(schema)
    summary = "\n".join(f"{label}: with key {dict(keyed[label])}, without {dict(keyless[label])}"
                        for label in keyed)
    print(f"{counted.requests} requests\n{summary}")

    assert not failures + keyless_failures, "\n\n".join(failures + keyless_failures)
    assert len(keyed) >= 40 and len(writes) >= 10, summary
    assert {"POST /imports", "POST /hidden-dangers/{id}/photos"} <= writes, "the uploads need a key"
    refused = {w: keyed[w] for w in writes if keyed[w][401] or keyed[w][403]}
    assert not refused, f"writes refused with a valid key: {refused}"
    assert all(set(keyless[w]) == {401} for w in writes), summary
    assert counted.requests >= MIN_REQUESTS, f"only {counted.requests} requests\n{summary}"
