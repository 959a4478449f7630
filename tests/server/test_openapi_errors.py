"""The OpenAPI document lists every error answer each route gives, with the error body model."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from memoryd.server.openapi_errors import COMMON_ERRORS

_ERROR_REF = "#/components/schemas/ErrorResponse"
_METHODS = {"get", "post", "put", "patch", "delete"}
#: Writes that can conflict (an existing id, a vector of the wrong size, a finished episode).
_CONFLICTS = {
    ("post", "/v1/memories"),
    ("post", "/v1/memories/batch"),
    ("patch", "/v1/memories/{id}"),
    ("post", "/v1/memories/{id}/supersede"),
    ("post", "/v1/sessions/{session_id}/messages"),
    ("post", "/v1/episodes/{id}/steps"),
    ("post", "/v1/episodes/{id}/complete"),
    ("post", "/v1/episodes/{id}/checkpoint"),
    ("post", "/v1/episodes/{id}/resume"),
    ("put", "/v1/kv/{key}"),
    ("put", "/v1/sessions/{session_id}/state/{key}"),
}


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in _METHODS
    ]


def _ref(response: dict[str, Any]) -> str | None:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref: str | None = schema.get("$ref")
    return ref


def test_every_route_documents_the_common_error_answers(http: TestClient) -> None:
    doc = http.get("/openapi.json").json()
    schema = doc["components"]["schemas"]["ErrorResponse"]
    assert schema["required"] == ["error"]
    operations = _operations(doc)
    assert len(operations) >= 40
    for method, path, op in operations:
        responses = op["responses"]
        for status in COMMON_ERRORS:
            if path == "/readyz" and status == 503:
                continue  # readiness answers 503 with its own status body
            assert str(status) in responses, f"{method.upper()} {path} lacks {status}"
            assert _ref(responses[str(status)]) == _ERROR_REF, (method, path, status)
        assert "HTTPValidationError" not in str(responses), (method, path)


def test_routes_document_404_and_409_where_they_give_them(http: TestClient) -> None:
    doc = http.get("/openapi.json").json()
    for method, path, op in _operations(doc):
        responses = op["responses"]
        # a path parameter names a record, and one Starlette cannot route answers 404 too
        if "{" in path:
            assert _ref(responses.get("404", {})) == _ERROR_REF, f"{method.upper()} {path}: 404"
        if (method, path) in _CONFLICTS:
            assert _ref(responses.get("409", {})) == _ERROR_REF, f"{method.upper()} {path}: 409"


def test_documented_bounds_match_the_models(http: TestClient) -> None:
    doc = http.get("/openapi.json").json()
    params = doc["paths"]["/v1/sessions/{session_id}/messages"]["get"]["parameters"]
    last = next(p for p in params if p["name"] == "last")
    bounds = last["schema"]["anyOf"][0]
    assert bounds["minimum"] == 1 and bounds["maximum"] == 10_000
    step = doc["components"]["schemas"]["StepInput"]["properties"]["tokens"]
    assert step["maximum"] == 1_000_000_000 and step["minimum"] == 0
