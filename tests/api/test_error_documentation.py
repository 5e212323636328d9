"""The error statuses in the OpenAPI document are derived from the route table (api/errors.py ``route_errors``):
what a route takes and depends on decides what its operation documents, with no list per route; and the statuses
answered outside the error table (a body that cannot be parsed) are the documented problem+json."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, FastAPI
from fastapi.testclient import TestClient

from api import errors
from api.access import PUBLIC_PATHS, Needs, WriteActor
from api.app import create_app
from api.dependencies import Connection
from api.settings import Settings

KEY = "k-documentation-9f8e7d6c"
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _spec() -> dict:
    """The document of the real app (building it needs no database)."""
    return create_app(Settings(database_url="postgresql://nobody@127.0.0.1:1/none", api_keys=KEY)).openapi()


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_every_operation_behind_the_gate_documents_its_refusals_and_every_write_its_conflicts():
    """Every operation but the public ones documents 401 with WWW-Authenticate (and a GET the 303 to the sign-in
    page); every write (an operation needing more than a viewer: the uploads among them) documents 403 and 409
    with Retry-After; a read (the siting check too) documents no 403."""
    spec = _spec()
    writes = {(m, p) for m, p, op in _operations(spec) if "403" in op["responses"]}
    assert {("POST", "/imports"), ("POST", "/hidden-dangers/{id}/photos"), ("POST", "/plans"),
            ("DELETE", "/features/{kind}/{id}"), ("PATCH", "/hidden-dangers/{id}")} <= writes
    for method, path, operation in _operations(spec):
        responses = operation["responses"]
        if path in PUBLIC_PATHS:
            assert not {"401", "403"} & set(responses), (method, path)
            continue
        assert "WWW-Authenticate" in responses["401"]["headers"], (method, path)
        assert ("303" in responses) == (method == "GET"), (method, path)
        if (method, path) in writes:
            assert "Retry-After" in responses["409"]["headers"], (method, path)
        else:
            assert method == "GET" or path == "/siting-check", (method, path)


def test_every_operation_documents_what_its_inputs_and_the_database_may_answer():
    """A body brings 400 (unparseable) and 413 (over the limit), any input 422, a path naming something 404, the
    database 503 with Retry-After and 504 (every operation but the sign-in page's); every error is problem+json
    and FastAPI's own 422 shape is gone."""
    spec = _spec()
    for method, path, operation in _operations(spec):
        responses = operation["responses"]
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= set(responses), (method, path)
        if operation.get("parameters"):
            assert "422" in responses, (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        if path not in ("/sign-in", "/sign-out"):
            assert "Retry-After" in responses["503"]["headers"], (method, path)
            assert "504" in responses or (method, path) == ("POST", "/sign-in"), (method, path)
        for code, response in responses.items():
            if code[0] in "45":
                assert response["content"] == PROBLEM and response["description"] != errors.FASTAPI_422
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_a_new_route_is_documented_by_what_it_depends_on():
    """A route nobody listed anywhere, taking a body, needing an inspector and a connection, has 400, 401, 403,
    409, 413, 422, 503 and 504 documented; a read needing a viewer 303, 401, 503 and 504; a route of its own
    description keeps it."""
    app = FastAPI()

    @app.post("/things/{id}", dependencies=[Needs.inspector],
              responses={409: {"description": "This thing exists."}})
    def add_thing(id: int, actor: WriteActor, conn: Connection, name: Annotated[str, Body(embed=True)]) -> dict:
        return {}

    @app.get("/ping", dependencies=[Needs.viewer])
    def ping() -> dict:
        return {}

    errors.document(app)
    paths = app.openapi()["paths"]
    added = paths["/things/{id}"]["post"]["responses"]
    assert set(added) == {"200", "400", "401", "403", "404", "409", "413", "422", "429", "503", "504"}
    assert added["409"]["description"] == "This thing exists." and "Retry-After" in added["409"]["headers"]
    assert added["401"]["description"].startswith("Authentication required")
    assert set(paths["/ping"]["get"]["responses"]) == {"200", "303", "401", "429", "503", "504"}


def test_a_body_that_cannot_be_parsed_is_the_documented_400(demo_url):
    """A JSON body that is not UTF-8 answers 400 problem+json "Bad request", as every operation with a body
    documents (schemathesis found it undocumented): a read (the siting check) and a write, with a valid key."""
    with TestClient(create_app(Settings(database_url=demo_url, api_keys=KEY))) as c:
        spec = c.get("/openapi.json").json()
        for method, path in (("POST", "/siting-check"), ("PATCH", "/features/enterprise/1")):
            r = c.request(method, path, content=b'{"name": "\xff\xfe"}',
                          headers={"Content-Type": "application/json", "X-API-Key": KEY})
            assert r.status_code == 400, (path, r.status_code, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["title"] == "Bad request" and r.json()["status"] == 400
            assert "400" in spec["paths"][path.replace("enterprise/1", "{kind}/{id}")][method.lower()]["responses"]
