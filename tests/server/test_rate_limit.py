"""Defect 9 / S6: per-token and per-MCP-session rate limits, 429 with Retry-After.

The limits here allow a few requests per 10-second window, so every
sequence below exceeds them however slow the machine is (no request pair
needs to fall within one second); the 1,000 req/s burst against a real
daemon is measured by ``benchmarks/rate_limit.py``, and
``tests/mcp_server/test_sessions_and_limits.py`` checks a real auto-started
daemon through ``memoryd mcp``.
"""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from memoryd import Memory, RateLimited, Settings
from memoryd.client import Client
from memoryd.config import RATE_LIMIT_WINDOW_S
from memoryd.server import create_app
from memoryd.server.testing import serve_in_thread

LIMITS = {
    "rate_limit_token_rps": 0.4,  # 4 in any 10 s
    "rate_limit_token_burst": 4,
    "rate_limit_session_rps": 0.2,  # 2 in any 10 s
    "rate_limit_session_burst": 2,
}


@dataclass
class Limited:
    app: FastAPI
    settings: Settings
    a: str  # the first token of the file
    b: str  # "agent-b:<token>"

    def client(self) -> TestClient:
        """One in-process client (one lifespan); pass ``auth(token)`` headers per request."""
        return TestClient(self.app, base_url="http://127.0.0.1")


def auth(token: str, **headers: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", **headers}


@pytest.fixture
def limited(tmp_path: Path, model_cache_dir: Path, embedder: Any) -> Iterator[Limited]:
    settings = Settings(data_dir=tmp_path / "data", model_cache_dir=model_cache_dir, **LIMITS)
    a, b = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    path = settings.resolved_token_file
    path.parent.mkdir(parents=True)
    path.write_text(f"{a}\nagent-b:{b}\n")
    path.chmod(0o600)
    memory = Memory(settings, embedder=embedder)
    yield Limited(create_app(settings, memory), settings, a, b)
    memory.close()


def _assert_rate_limited(response: httpx.Response, limit: str) -> int:
    assert response.status_code == 429, response.text
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit() and 1 <= int(retry_after) <= RATE_LIMIT_WINDOW_S
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["details"] == {"retry_after": int(retry_after), "limit": limit}
    return int(retry_after)


def test_a_burst_over_the_token_limit_gets_429_with_retry_after(limited: Limited) -> None:
    a, b = auth(limited.a), auth(limited.b)
    with limited.client() as http:
        statuses = [http.get("/v1/stats", headers=a).status_code for _ in range(4)]
        assert statuses == [200] * 4
        retry_after = _assert_rate_limited(http.get("/v1/stats", headers=a), "token")
        refused = http.post("/v1/memories", json={"content": "x"}, headers=a)
        _assert_rate_limited(refused, "token")
        # Other tokens, /healthz and unauthenticated requests are not affected.
        assert [http.get("/v1/stats", headers=b).status_code for _ in range(4)] == [200] * 4
        assert all(http.get("/healthz").status_code == 200 for _ in range(50))
        assert http.get("/v1/stats", headers=auth("wrong")).status_code == 401
        time.sleep(retry_after)  # the Retry-After the daemon named is enough
        assert http.get("/v1/stats", headers=a).status_code == 200


def test_each_mcp_session_has_its_own_limit(limited: Limited) -> None:
    """A runaway session is stopped before it uses its token's budget up."""
    call = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    accept = "application/json, text/event-stream"
    with limited.client() as http:

        def post(session: str, token: str = limited.a) -> httpx.Response:
            headers = auth(token, **{"mcp-session-id": session, "accept": accept})
            return http.post("/mcp", json=call, headers=headers)

        # The SDK is loaded once it gives its own answer to an unknown session.
        assert post("warm-up", limited.b).status_code == 404

        # Unknown sessions get the SDK's 404 once past the limit: the limiter let them in.
        assert [post("s1").status_code for _ in range(2)] == [404, 404]
        for _ in range(3):
            _assert_rate_limited(post("s1"), "session")
        assert [post("s2").status_code for _ in range(2)] == [404, 404]  # token: 4 of 4 used
        _assert_rate_limited(post("s3"), "token")


def _raw(url: str, request: bytes) -> bytes:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
        sock.sendall(request)
        return sock.recv(65536)


def test_a_refused_request_is_answered_before_its_body_is_read(limited: Limited) -> None:
    """The 429 comes from the headers alone: the body announced is never sent here."""
    with serve_in_thread(limited.app) as url, httpx.Client(base_url=url) as http:
        auth = {"authorization": f"Bearer {limited.a}"}
        while http.get("/v1/stats", headers=auth).status_code != 429:
            pass
        head = (
            b"POST /v1/memories HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: Bearer {limited.a}\r\n".encode()
            + b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        )
        response = _raw(url, head)
    assert response.startswith(b"HTTP/1.1 429"), response[:200]
    assert b"retry-after: " in response.lower()


def test_the_client_waits_for_retry_after_or_raises(limited: Limited) -> None:
    with serve_in_thread(limited.app) as url:
        patient = limited.settings.model_copy(update={"rate_limit_max_wait_s": 60.0})
        with Client(patient, base_url=url, token=limited.a) as client:
            stored = [client.add(f"note {i}") for i in range(6)]  # 4 in the first second
            assert len({entry.id for entry in stored}) == 6
            metrics = client._t.request("GET", "/metrics").data.decode()
        refused = [
            line
            for line in metrics.splitlines()
            if line.startswith("memoryd_requests_total") and 'status="429"' in line
        ]
        assert refused and float(refused[0].rsplit(" ", 1)[1]) >= 1  # it did wait
        impatient = limited.settings.model_copy(update={"rate_limit_max_wait_s": 0.0})
        with (
            Client(impatient, base_url=url, token=limited.a) as client,
            pytest.raises(RateLimited) as info,
        ):
            for i in range(20):
                client.add(f"more {i}")
        assert info.value.code == "rate_limited"
        assert 1 <= info.value.details["retry_after"] <= RATE_LIMIT_WINDOW_S


def test_limits_off(tmp_path: Path, model_cache_dir: Path, memory: Memory) -> None:
    settings = Settings(
        data_dir=tmp_path / "off", model_cache_dir=model_cache_dir, rate_limit_token_rps=0
    )
    app = create_app(settings, memory)
    token = settings.resolved_token_file.read_text()
    with TestClient(app, base_url="http://127.0.0.1") as http:
        headers = {"authorization": f"Bearer {token}"}
        assert all(http.get("/readyz", headers=headers).status_code == 200 for _ in range(300))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rate_limit_token_rps": 50, "rate_limit_token_burst": 10}, "at least"),
        ({"rate_limit_session_rps": 0.05}, "0 \\(off\\) or at least"),
    ],
)
def test_inconsistent_limits_are_refused(tmp_path: Path, fields: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(data_dir=tmp_path, **fields)
