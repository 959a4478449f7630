"""S12: an MCP session belongs to the token that opened it; S6 over MCP: ``memoryd mcp``
treats a 429 as the caller's condition (no in-process fallback), and ``/mcp`` sessions
have their own limit."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

from memoryd import Memory, Settings
from memoryd.server import create_app
from memoryd.server.testing import serve_in_thread

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


@dataclass
class TwoTokens:
    url: str
    a: str
    b: str

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"


@pytest.fixture(scope="module")
def two_tokens(
    tmp_path_factory: pytest.TempPathFactory, model_cache_dir: Path, embedder: Any
) -> Iterator[TwoTokens]:
    """A daemon on a real port accepting tokens A (first line) and B (``agent-b:``)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("two"), model_cache_dir=model_cache_dir)
    a, b = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    path = settings.resolved_token_file
    path.write_text(f"{a}\nagent-b:{b}\n")
    path.chmod(0o600)
    memory = Memory(settings, embedder=embedder)
    with serve_in_thread(create_app(settings, memory)) as url:
        yield TwoTokens(url, a, b)
    memory.close()


def _post(url: str, token: str, body: dict[str, Any], session: str | None = None) -> httpx.Response:
    headers = {**ACCEPT, "authorization": f"Bearer {token}"}
    if session is not None:
        headers["mcp-session-id"] = session
    return httpx.post(url, json=body, headers=headers, timeout=60)


def test_a_session_id_is_refused_with_another_token(two_tokens: TwoTokens) -> None:
    opened = _post(two_tokens.mcp_url, two_tokens.a, INIT)
    assert opened.status_code == 200, opened.text
    session = opened.headers["mcp-session-id"]
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert _post(two_tokens.mcp_url, two_tokens.a, note, session).status_code == 202
    ping = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    stolen = _post(two_tokens.mcp_url, two_tokens.b, ping, session)
    assert stolen.status_code == 404  # exactly as for a session that does not exist
    unknown = _post(two_tokens.mcp_url, two_tokens.b, ping, secrets.token_hex(16))
    assert unknown.status_code == 404 and unknown.text == stolen.text
    for method in ("GET", "DELETE"):
        headers = {**ACCEPT, "authorization": f"Bearer {two_tokens.b}", "mcp-session-id": session}
        assert httpx.request(method, two_tokens.mcp_url, headers=headers).status_code == 404
    mine = _post(two_tokens.mcp_url, two_tokens.a, ping, session)
    assert mine.status_code == 200 and mine.json()["result"]["tools"]  # still A's, still open


def test_the_real_mcp_client_cannot_use_another_tokens_session(two_tokens: TwoTokens) -> None:
    """With the session-based protocol (``mode="legacy"``: the ``initialize`` handshake; the
    2026 protocol the client prefers in ``auto`` mode has no sessions to take over)."""
    seen: list[str] = []

    async def record(response: httpx2.Response) -> None:
        if session := response.headers.get("mcp-session-id"):
            seen.append(session)

    async def main() -> None:
        auth_a = {"authorization": f"Bearer {two_tokens.a}"}
        async with (
            httpx2.AsyncClient(
                headers=auth_a, timeout=60, event_hooks={"response": [record]}
            ) as http_a,
            Client(
                streamable_http_client(two_tokens.mcp_url, http_client=http_a), mode="legacy"
            ) as client_a,
        ):
            saved = await client_a.call_tool("memory_save", {"content": "A's secret plan"})
            assert not saved.is_error
            # Client B sends A's session id with every request, its own token with none of A's.
            auth_b = {"authorization": f"Bearer {two_tokens.b}", "mcp-session-id": seen[0]}
            with pytest.RaisesGroup(
                pytest.RaisesGroup(pytest.RaisesExc(MCPError, match="^Session not found$"))
            ):
                async with (
                    httpx2.AsyncClient(headers=auth_b, timeout=60) as http_b,
                    Client(
                        streamable_http_client(two_tokens.mcp_url, http_client=http_b),
                        mode="legacy",
                    ) as b,
                ):
                    await b.call_tool("memory_search", {"query": "secret plan"})
            found = await client_a.call_tool("memory_search", {"query": "secret plan"})
            assert not found.is_error
            assert found.structured_content is not None
            hits = found.structured_content["hits"]
            assert hits and hits[0]["memory"]["content"] == "A's secret plan"

    anyio.run(main)


def test_memoryd_mcp_reports_429_and_never_falls_back(
    lifecycle_settings: Settings, stdio_params: Callable[..., Any]
) -> None:
    """A 429 is the caller's: ``memory_search`` gets ``isError`` ``rate_limited`` (no wait:
    ``rate_limit_max_wait_s`` 0), never an in-process answer, and the daemon serves again."""
    settings = lifecycle_settings.model_copy(
        update={
            "rate_limit_token_rps": 0.3,  # 3 in any 10 s
            "rate_limit_token_burst": 3,
            "rate_limit_max_wait_s": 0.0,
            "fallback_local": True,
        }
    )

    async def main() -> None:
        async with Client(stdio_params(settings)) as client:
            results = []
            for i in range(12):
                result = await client.call_tool("memory_search", {"query": f"tea {i}"})
                results.append(result)
                if result.is_error:
                    break
            refused = results[-1]
            assert refused.is_error, "no call was refused"
            error = json.loads(refused.content[0].text)["error"]  # type: ignore[union-attr]
            assert error["code"] == "rate_limited"
            assert 1 <= error["details"]["retry_after"] <= 10
            for result in results[:-1]:
                assert result.structured_content is not None
                assert result.structured_content["served_by"] == "daemon"
            await anyio.sleep(error["details"]["retry_after"] + 1)
            again = await client.call_tool("memory_search", {"query": "tea again"})
            assert not again.is_error, again.content
            assert again.structured_content is not None
            assert again.structured_content["served_by"] == "daemon"  # the circuit never opened

    anyio.run(main)
