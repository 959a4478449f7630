"""S5 size limits and bad input: 4xx with a stable code, fast, and the store unchanged."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

import waits
from memoryd import Memory
from memoryd.server.limits import json_depth_exceeds
from memoryd.store.maintenance import consistency_report

MIB = 1 << 20


def _timed(call: Any) -> tuple[httpx.Response, float]:
    start = time.perf_counter()
    response = call()
    return response, time.perf_counter() - start


def test_large_body_with_length_is_413(live: httpx.Client) -> None:
    body = json.dumps({"content": "x" * (2 * MIB)}).encode()
    response, took = _timed(
        lambda: live.post(
            "/v1/memories", content=body, headers={"content-type": "application/json"}
        )
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert took < 2.0


def test_chunked_body_without_length_is_413(live: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"content": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}'

    response, took = _timed(
        lambda: live.post(
            "/v1/memories", content=chunks(), headers={"content-type": "application/json"}
        )
    )
    assert response.status_code == 413
    assert "content-length" not in response.request.headers
    assert took < 2.0


def test_chunked_body_within_limit_is_accepted(live: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"content": "streamed '
        yield b"in pieces"
        yield b'"}'

    response = live.post(
        "/v1/memories", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 201
    assert response.json()["content"] == "streamed in pieces"


@pytest.mark.parametrize("depth", [65, 10_000, 100_000])
def test_deeply_nested_json_is_400(live: httpx.Client, depth: int) -> None:
    for body in (
        b"[" * depth + b"]" * depth,
        b'{"metadata": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}",
    ):
        response, took = _timed(
            lambda b=body: live.post(
                "/v1/memories", content=b, headers={"content-type": "application/json"}
            )
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "validation_error"
        assert took < 2.0


def test_nesting_inside_strings_is_not_counted() -> None:
    assert not json_depth_exceeds(json.dumps({"content": "[" * 500 + "{" * 500}).encode())
    assert not json_depth_exceeds(json.dumps({"c": '\\"[[[' + "[" * 100}).encode())
    assert json_depth_exceeds(b"[" * 65 + b"]" * 65)
    assert not json_depth_exceeds(b"[" * 64 + b"]" * 64)


def test_a_thousand_headers_is_rejected(live_url: str, token: str) -> None:
    headers = [("authorization", f"Bearer {token}")]
    headers += [(f"x-filler-{i}", "v" * 20) for i in range(1000)]
    with httpx.Client(base_url=live_url, trust_env=False, timeout=waits.budget(10.0)) as raw:
        try:
            response, took = _timed(lambda: raw.get("/v1/stats", headers=headers))
        except httpx.RemoteProtocolError:
            return  # the server closed the connection without reading further: also a refusal
    assert response.status_code == 431
    assert response.json()["error"]["code"] == "headers_too_large"
    assert took < 2.0


VE = "validation_error"
JSON = {"content-type": "application/json"}
TEXT = {"content-type": "text/plain"}
M = "/v1/memories"
BAD_REQUESTS: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("POST", M, {"content": b"{not json", "headers": JSON}, 400, VE),
    ("POST", M, {"content": b'{"content": "no type"}'}, 422, VE),
    ("POST", M, {"content": b"", "headers": JSON}, 422, VE),
    ("POST", M, {"content": b'{"content": "x"}', "headers": TEXT}, 422, VE),
    ("POST", M, {"json": []}, 422, VE),
    ("POST", M, {"json": {"content": ""}}, 422, VE),
    ("POST", M, {"json": {"content": "x", "importance": "high"}}, 422, VE),
    ("POST", M, {"json": {"content": "x", "surprise": 1}}, 422, VE),
    ("POST", M, {"json": {"content": "x", "namespace": "no spaces allowed"}}, 422, VE),
    ("POST", M, {"json": {"content": "nul\u0000"}}, 422, VE),
    ("POST", M, {"json": {"content": "x", "vector": [1, 2]}}, 409, "dimension_mismatch"),
    ("POST", M, {"json": {"content": "x", "vector": ["a"]}}, 422, VE),
    ("POST", "/v1/memories/batch", {"json": {"items": "no"}}, 422, VE),
    ("PATCH", "/v1/memories/abc", {"json": {"importance": 2}}, 422, VE),
    ("GET", M, {"params": {"limit": "many"}}, 422, VE),
    ("GET", M, {"params": {"limit": 100000}}, 422, VE),
    ("GET", M, {"params": {"filter": "{oops"}}, 422, VE),
    ("GET", M, {"params": {"filter": "[1]"}}, 422, VE),
    ("GET", M, {"params": {"filter": '{"field": "a", "op": "regex"}'}}, 422, VE),
    ("GET", M, {"params": {"kinds": "planet"}}, 422, VE),
    ("GET", M, {"params": {"cursor": "x:y"}}, 422, VE),
    ("POST", "/v1/search", {"json": {"query": ""}}, 422, VE),
    ("POST", "/v1/search", {"json": {"query": "q", "limit": -1}}, 422, VE),
    ("POST", "/v1/search", {"json": {"query": "q", "filter": {"and": []}, "mode": "x"}}, 422, VE),
    ("GET", "/v1/memories/not-a-uuid", {}, 404, "not_found"),
    ("DELETE", "/v1/memories/00000000-0000-4000-8000-000000000000", {}, 404, "not_found"),
    ("GET", "/v1/kv/missing", {}, 404, "not_found"),
    ("PUT", "/v1/kv/k", {"json": {"value": 1, "ttl_seconds": 0}}, 422, VE),
    ("PUT", "/v1/kv/k", {"json": {"nope": 1}}, 422, VE),
    ("POST", "/v1/import", {"content": b'{"id": "x"}\n'}, 422, VE),
    ("POST", "/v1/import", {"content": b"not json\n"}, 422, VE),
    ("PUT", "/v1/stats", {}, 405, "method_not_allowed"),
    ("GET", "/v1/nothing-here", {}, 404, "not_found"),
]


def test_bad_input_gets_a_stable_4xx_and_changes_nothing(http: TestClient, memory: Memory) -> None:
    keep = memory.add("the one entry that must survive")
    before = memory.stats()
    for method, path, kwargs, status, code in BAD_REQUESTS:
        response = http.request(method, path, **kwargs)
        assert response.status_code == status, (method, path, kwargs, response.text)
        body = response.json()
        assert body["error"]["code"] == code, (method, path, body)
        assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    after = memory.stats()
    assert (after.total, after.by_namespace, after.vectors) == (
        before.total,
        before.by_namespace,
        before.vectors,
    )
    assert memory.get(keep.id) == keep
    assert consistency_report(memory.store)["ok"]


def test_overlong_request_target_is_414(http: TestClient) -> None:
    response = http.get("/v1/memories", params={"filter": "[" * 20_000})
    assert response.status_code == 414
    assert response.json()["error"]["code"] == "uri_too_long"
