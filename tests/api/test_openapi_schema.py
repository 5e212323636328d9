"""The whole HTTP API against its own OpenAPI schema (schemathesis): for generated requests, valid and invalid,
no response is a server error and every response matches the schema (status code, content type, body).  The
number of examples per operation is bounded so the run stays short; writes are exercised with a valid key."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.settings import Settings

KEY = "k-schema-a1b2c3d4e5f6"
EXAMPLES = 12  # per operation


def test_every_operation_conforms_to_the_schema_and_never_fails(demo_url):
    """Generated requests to every operation get no 5xx, and their status codes, content types and bodies are
    the documented ones.  All operations run; the failures of all of them are reported together."""
    app = create_app(Settings(anonymous_reads=True, database_url=demo_url, api_keys=KEY, max_body_mb=1.0,
                              plan_max_time_s=1.0))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures, tested = [], []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            case.headers = {**(case.headers or {}), "X-API-Key": KEY}
            case.call_and_validate(checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                           response_schema_conformance])

        tested.append(f"{operation.method.upper()} {operation.path}")
        try:
            run()
        except Exception as e:  # noqa: BLE001 - collected, reported below
            failures.append(f"{tested[-1]}: {type(e).__name__}: {str(e)[:1500]}")
    assert len(tested) >= 10, tested
    assert not failures, "\n\n".join(failures)
