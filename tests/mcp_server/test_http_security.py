"""``/mcp`` on the daemon: no redirect, token on every MCP method (S2), Origin/Host (S3), R15."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

import waits
from memoryd import Settings
from memoryd.server import create_app

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "memoryd-tests", "version": "1"},
    },
}
ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
#: Every JSON-RPC method our server answers, with the resource template filled in.
METHODS: list[dict[str, Any]] = [
    INIT,
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "memory_search", "arguments": {"query": "x"}},
    },
    {"jsonrpc": "2.0", "id": 4, "method": "resources/templates/list"},
    {
        "jsonrpc": "2.0",
        "id": 5,
        "method": "resources/read",
        "params": {"uri": "memory://00000000-0000-4000-8000-000000000000"},
    },
    {"jsonrpc": "2.0", "id": 6, "method": "ping"},
]


def test_post_mcp_answers_without_redirect(http_daemon: Any) -> None:
    response = httpx.post(
        http_daemon.mcp_url,
        json=INIT,
        headers={**ACCEPT, "authorization": f"Bearer {http_daemon.token}"},
        follow_redirects=False,
        timeout=waits.budget(30),
    )
    assert response.status_code == 200, response.text
    assert response.json()["result"]["serverInfo"]["name"] == "memoryd"
    assert response.headers.get("mcp-session-id")


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_every_mcp_method_requires_the_token(http_daemon: Any, token: str | None) -> None:
    auth = {} if token is None else {"authorization": f"Bearer {token}"}
    for http_method in ("POST", "GET", "DELETE"):
        for body in METHODS if http_method == "POST" else [None]:
            response = httpx.request(
                http_method,
                http_daemon.mcp_url,
                json=body,
                headers={**ACCEPT, **auth},
                timeout=waits.budget(30),
            )
            assert response.status_code == 401, (http_method, body)
            assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"origin": "http://evil.example"}, 403),
        ({"origin": "null"}, 403),
        ({"host": "evil.example"}, 421),
        ({"host": "evil.example:7077"}, 421),
    ],
)
def test_origin_and_host_checks_cover_mcp(
    http_daemon: Any, headers: dict[str, str], status: int
) -> None:
    auth = {"authorization": f"Bearer {http_daemon.token}"}
    response = httpx.post(
        http_daemon.mcp_url,
        json=INIT,
        headers={**ACCEPT, **auth, **headers},
        timeout=waits.budget(30),
    )
    assert response.status_code == status
    assert "access-control-allow-origin" not in response.headers


def test_preflight_gets_no_cors_headers(http_daemon: Any) -> None:
    response = httpx.options(
        http_daemon.mcp_url,
        headers={
            "origin": "http://evil.example",
            "access-control-request-method": "POST",
            "authorization": f"Bearer {http_daemon.token}",
        },
        timeout=waits.budget(30),
    )
    assert response.status_code == 403
    assert not any(key.startswith("access-control-") for key in response.headers)


def test_mcp_tool_calls_wait_for_readiness(tmp_path: Path, model_cache_dir: Path) -> None:
    """R15 on /mcp: alive at once; a tool call before the store is open is an isError
    ``backend_unavailable`` result, not a crash; after readiness it is served."""
    settings = Settings(data_dir=tmp_path / "data", model_cache_dir=model_cache_dir)
    app = create_app(settings)
    token = settings.resolved_token_file.read_text()
    headers = {**ACCEPT, "authorization": f"Bearer {token}"}
    call = {
        "jsonrpc": "2.0",
        "id": 9,
        "method": "tools/call",
        "params": {"name": "memory_search", "arguments": {"query": "tea"}},
    }
    with TestClient(app, base_url="http://127.0.0.1", headers=headers) as http:
        assert http.get("/healthz").status_code == 200
        session = http.post("/mcp", json=INIT).headers["mcp-session-id"]
        http.post(
            "/mcp",
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
            headers={"mcp-session-id": session},
        )
        deadline = waits.deadline(60)
        while True:
            result = http.post("/mcp", json=call, headers={"mcp-session-id": session}).json()
            if not result["result"]["isError"]:
                break
            error = json.loads(result["result"]["content"][0]["text"])["error"]
            assert error["code"] == "backend_unavailable"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        while http.get("/readyz").status_code != 200:  # the embedder may still be warming up
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert result["result"]["structuredContent"]["served_by"] == "daemon"
