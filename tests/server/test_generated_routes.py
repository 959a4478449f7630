"""The routes built from the registry (``server/routes/generated.py``).

The OpenAPI snapshot (``clients/typescript/openapi.json``) holds their wire
shape and the contract tests their behaviour on every face; these tests hold
the builder's own rules: which operations it builds, that a declaration it
cannot serve is refused at import, and how a body becomes library arguments.
"""

from __future__ import annotations

import inspect

import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.testclient import TestClient

from memoryd.operations import OPERATIONS, Effect, Face, Operation, Rest, operation
from memoryd.operations.bodies import KvInput
from memoryd.operations.learning_bodies import ResumeBody
from memoryd.server.routes import generated
from memoryd.server.routes.deps import endpoint, tag_of
from memoryd.types import MemoryEntry


def _declared(name: str, rest: Rest) -> Operation:
    """Operation ``name`` (a real ``Memory`` method) declared with another route."""
    return Operation(
        name,
        Effect.READ,
        MemoryEntry,
        rest=rest,
        omitted={Face.MCP: "a test declaration", Face.CLI: "a test declaration"},
    )


def test_every_route_not_written_by_hand_is_built_and_runs_in_a_worker_thread() -> None:
    built = {route.name: route for route in generated.router.routes if isinstance(route, APIRoute)}
    expected = {
        generated.ROUTE_NAMES.get(op.name, op.name)
        for op in OPERATIONS
        if op.rest is not None and op.rest.via is None and not op.rest.hand_route
    }
    assert set(built) == expected
    for route in built.values():
        assert not inspect.iscoroutinefunction(route.endpoint), route.name  # threadpool
    assert set(generated.ROUTE_NAMES) <= {op.name for op in OPERATIONS}
    assert set(generated.ROUTE_DOCS) <= {op.name for op in OPERATIONS}


def test_a_hand_written_route_must_be_declared_hand_route() -> None:
    with pytest.raises(ValueError, match="built from the registry"):
        endpoint(APIRouter(), "get")
    with pytest.raises(ValueError, match="no route to build"):
        generated.handler(operation("search"))
    with pytest.raises(ValueError, match="no route to build"):
        generated.handler(operation("last_messages"))


def test_a_route_naming_what_memory_lacks_is_refused() -> None:
    with pytest.raises(ValueError, match="'nope' is no parameter of Memory.get"):
        generated.handler(_declared("get", Rest("GET", "/v1/memories/{nope}")))
    with pytest.raises(ValueError, match="'limit' is no parameter of Memory.get"):
        generated.handler(_declared("get", Rest("GET", "/v1/memories/{id}", query=("limit",))))
    with pytest.raises(ValueError, match="body field 'agent_id' is no parameter of Memory.kv_get"):
        generated.handler(_declared("kv_get", Rest("POST", "/v1/kv/{key}", body=ResumeBody)))
    with pytest.raises(ValueError, match="names a field of no Rest.response"):
        generated.handler(_declared("kv_get", Rest("GET", "/v1/kv/{key}", unwrap="value")))
    generated.handler(_declared("kv_set", Rest("PUT", "/v1/kv/{key}", body=KvInput)))


def test_tags_are_the_resource_of_the_path() -> None:
    assert tag_of("/v1/kv/{key:path}") == "kv"
    assert tag_of("/v1/sessions/{session_id}/state/{key:path}") == "state"
    assert tag_of("/v1/episodes/{id}/steps") == "episodes"
    assert tag_of("/v1/storage/verify") == "system"
    assert tag_of("/v1/imports") == "imports"


def test_body_fields_for_extra_keywords_are_passed_only_when_set(http: TestClient) -> None:
    """``append``'s body: named parameters always, ``**fields`` only the ones sent."""
    plain = http.post("/v1/sessions/s1/messages", json={"content": "hello there"})
    assert plain.status_code == 201, plain.text
    assert (plain.json()["metadata"], plain.json()["tags"]) == ({"role": "user"}, [])
    tagged = http.post(
        "/v1/sessions/s1/messages?namespace=n2",
        json={"content": "hi again", "role": "assistant", "tags": ["t"], "importance": 0.9},
    )
    assert tagged.status_code == 201, tagged.text
    entry = tagged.json()
    assert (entry["namespace"], entry["metadata"]["role"], entry["tags"]) == (
        "n2",
        "assistant",
        ["t"],
    )
    assert entry["importance"] == 0.9


def test_a_body_the_library_takes_whole_and_wrapped_results(http: TestClient) -> None:
    created = http.post("/v1/memories", json={"content": "the sky is green", "tags": ["a"]})
    assert created.status_code == 201, created.text
    id = created.json()["id"]
    changed = http.patch(f"/v1/memories/{id}", json={"tags": ["b"]})
    assert (changed.status_code, changed.json()["tags"]) == (200, ["b"])
    assert changed.json()["content"] == "the sky is green"
    assert http.put("/v1/kv/a/b", json={"value": [1, 2], "ttl_seconds": 60}).status_code == 200
    assert http.get("/v1/kv/a/b").json() == {"value": [1, 2]}
    assert http.delete("/v1/kv/a/b").json() == {"deleted": True}
    gone = http.delete(f"/v1/memories/{id}")
    assert (gone.status_code, gone.content) == (204, b"")


def test_a_filter_tree_in_the_query_is_json_text(http: TestClient) -> None:
    """``list``'s ``filter``: parsed by ``filter_from_json``, refused when not a JSON object."""
    for content, color in (("red apples", "red"), ("blue cars", "blue")):
        created = http.post("/v1/memories", json={"content": content, "metadata": {"color": color}})
        assert created.status_code == 201, created.text
    tree = '{"field": "color", "value": "blue"}'
    page = http.get("/v1/memories", params={"filter": tree})
    assert page.status_code == 200, page.text
    assert [item["content"] for item in page.json()["items"]] == ["blue cars"]
    for bad in ("{not json", "[1, 2]"):
        refused = http.get("/v1/memories", params={"filter": bad})
        assert (refused.status_code, refused.json()["error"]["code"]) == (422, "validation_error")


def test_supersede_inherits_what_the_body_does_not_set(http: TestClient) -> None:
    """The body goes whole to ``Memory.supersede``: only its set fields replace the old ones."""
    old = http.post(
        "/v1/memories?namespace=n3",
        json={"content": "v1", "namespace": "n3", "tags": ["t"], "importance": 0.8},
    ).json()
    new = http.post(
        f"/v1/memories/{old['id']}/supersede?namespace=n3",
        json={"content": "v2", "namespace": "other"},
    )
    assert new.status_code == 201, new.text
    entry = new.json()
    assert (entry["content"], entry["namespace"], entry["tags"]) == ("v2", "n3", ["t"])
    assert (entry["importance"], entry["supersedes"]) == (0.8, old["id"])
