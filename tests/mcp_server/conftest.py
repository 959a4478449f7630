"""MCP fixtures: a daemon serving ``/mcp`` in a thread, and ``memoryd mcp`` launch parameters."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY, PROTOCOL_VERSION_META_KEY

import waits
from memoryd import Memory, Settings
from memoryd.lifecycle.spawn import settings_env
from memoryd.server import create_app
from memoryd.server.testing import serve_in_thread

MEMORYD = str(Path(sys.executable).with_name("memoryd"))
#: The stateless protocol version (no handshake; each request carries its ``_meta`` envelope).
MODERN = "2026-07-28"
ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def _envelope(version: str = MODERN) -> dict[str, Any]:
    """The ``_meta`` a 2026-07-28 request carries: version, client info, capabilities."""
    return {
        PROTOCOL_VERSION_META_KEY: version,
        CLIENT_INFO_META_KEY: {"name": "memoryd-tests", "version": "1"},
        CLIENT_CAPABILITIES_META_KEY: {},
    }


@dataclass
class HttpDaemon:
    """A daemon app on a real loopback port: its base URL, token and settings."""

    url: str
    token: str
    settings: Settings

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"

    def http(self, token: str | None = None) -> httpx2.AsyncClient:
        """An async HTTP client sending the bearer token (close it: ``async with``)."""
        return httpx2.AsyncClient(
            headers={"authorization": f"Bearer {token or self.token}"}, timeout=waits.budget(60)
        )

    def post(
        self, body: dict[str, Any], token: str | None = None, **headers: str
    ) -> httpx.Response:
        """One raw JSON-RPC POST to ``/mcp`` (``token=""`` sends none)."""
        auth = {"authorization": f"Bearer {token or self.token}"} if token != "" else {}
        return httpx.post(
            self.mcp_url, json=body, headers={**ACCEPT, **auth, **headers}, timeout=waits.budget(60)
        )

    def modern(
        self, method: str, params: dict[str, Any] | None = None, token: str | None = None
    ) -> httpx.Response:
        """A 2026-07-28 request: ``_meta`` envelope, ``MCP-Protocol-Version`` and
        ``Mcp-Method`` (and ``Mcp-Name`` for a ``tools/call``) set."""
        body = {"jsonrpc": "2.0", "id": 1, "method": method}
        body["params"] = {**(params or {}), "_meta": _envelope()}
        headers = {"mcp-protocol-version": MODERN, "mcp-method": method}
        if method == "tools/call" and params:
            headers["mcp-name"] = params["name"]
        return self.post(body, token, **headers)

    def transport(self, http: httpx2.AsyncClient) -> Any:
        """A streamable-HTTP transport to ``/mcp`` for ``mcp.Client`` over ``http``."""
        return streamable_http_client(self.mcp_url, http_client=http)


@pytest.fixture(scope="module")
def http_daemon(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    model_cache_dir: Path,
    embedder: Any,
) -> Iterator[HttpDaemon]:
    """One daemon per test module; a module's ``DAEMON_SETTINGS`` dict overrides settings."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("mcp-daemon"),
        model_cache_dir=model_cache_dir,
        **getattr(request.module, "DAEMON_SETTINGS", {}),
    )
    memory = Memory(settings, embedder=embedder)
    app = create_app(settings, memory)
    token = settings.resolved_token_file.read_text().strip()
    with serve_in_thread(app) as url:
        yield HttpDaemon(url, token, settings)
    memory.close()


def _stdio_params(settings: Settings, *args: str) -> StdioServerParameters:
    env = {**os.environ, **settings_env(settings), "HF_HUB_OFFLINE": "1"}
    return StdioServerParameters(command=MEMORYD, args=["mcp", *args], env=env)


@pytest.fixture
def stdio_params() -> Callable[..., StdioServerParameters]:
    """``stdio_params(settings, *args)``: launch ``memoryd mcp`` for ``settings``
    (the child's env carries every setting, port 0 included)."""
    return _stdio_params
