"""Both protocol eras side by side: handshake clients (2025-11-25 and earlier) and
2026-07-28 clients (stateless, ``server/discover``, no ``initialize``), on the daemon's
``/mcp`` and on ``memoryd mcp`` (stdio), with the real SDK client in each mode.

``mode="legacy"`` runs the ``initialize`` handshake (2025-11-25), ``"2026-07-28"``
pins the new protocol (every request carries its own ``_meta`` envelope), ``"auto"``
probes ``server/discover`` and adopts it. Older handshake versions are offered raw.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from mcp import Client

import waits
from memoryd import Settings

StdioParams = Callable[..., Any]
MODERN = "2026-07-28"
#: The mode the SDK client is given -> the protocol version the session must speak.
MODES = {"legacy": "2025-11-25", "auto": MODERN, MODERN: MODERN}


async def _scenario(client: Client, mode: str, served_by: str) -> None:
    assert client.protocol_version == MODES[mode]
    tools = [tool.name for tool in (await client.list_tools()).tools]
    assert tools[:2] == ["memory_save", "memory_search"] and len(tools) >= 20
    text = f"The {mode} client parked the van on level {len(mode)}"
    saved = await client.call_tool("memory_save", {"content": text, "namespace": "eras"})
    assert not saved.is_error, saved.content
    data = saved.structured_content
    assert data is not None and data["served_by"] == served_by
    assert json.loads(saved.content[0].text) == data  # type: ignore[union-attr]
    found = await client.call_tool(
        "memory_search", {"query": f"where did the {mode} client park", "namespace": "eras"}
    )
    assert found.structured_content is not None
    assert found.structured_content["hits"][0]["memory"]["id"] == data["memory"]["id"]
    missing = await client.call_tool("memory_get", {"id": "00000000-0000-4000-8000-000000000000"})
    assert missing.is_error
    assert json.loads(missing.content[0].text)["error"]["code"] == "not_found"  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", list(MODES))
def test_each_era_over_streamable_http(http_daemon: Any, mode: str) -> None:
    async def main() -> None:
        async with (
            http_daemon.http() as http,
            Client(http_daemon.transport(http), mode=mode) as client,
        ):
            await _scenario(client, mode, "daemon")

    anyio.run(main)


@pytest.mark.slow  # one `memoryd mcp` process per era
@pytest.mark.parametrize("mode", list(MODES))
def test_each_era_over_stdio(
    lifecycle_settings: Settings, stdio_params: StdioParams, mode: str
) -> None:
    async def main() -> None:
        async with Client(stdio_params(lifecycle_settings), mode=mode) as client:
            await _scenario(client, mode, "daemon")

    anyio.run(main)


@pytest.mark.parametrize("version", ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"])
def test_older_handshake_versions_are_served(http_daemon: Any, version: str) -> None:
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": {"name": "memoryd-tests", "version": "1"},
        },
    }
    answer = http_daemon.post(init)
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["protocolVersion"] == version
    assert answer.headers["mcp-session-id"]


def test_discover_names_both_eras_and_needs_no_session(http_daemon: Any) -> None:
    answer = http_daemon.modern("server/discover")
    assert answer.status_code == 200, answer.text
    assert "mcp-session-id" not in answer.headers  # stateless
    result = answer.json()["result"]
    assert MODERN in result["supportedVersions"]
    assert result["capabilities"]["tools"] is not None
    # Stateless means each request stands alone: a tools/call needs no handshake before it.
    arguments = {"session_id": "s", "key": "k"}
    called = http_daemon.modern("tools/call", {"name": "state_get", "arguments": arguments})
    assert called.status_code == 200, called.text
    assert called.json()["result"]["structuredContent"]["found"] is False


def test_a_modern_request_needs_the_token(http_daemon: Any) -> None:
    assert http_daemon.modern("server/discover", token="").status_code == 401
    assert http_daemon.modern("server/discover", token="wrong").status_code == 401


@pytest.mark.slow  # one `memoryd mcp` process per version
@pytest.mark.parametrize("version", ["2024-11-05", "2025-06-18"])
def test_older_handshake_versions_over_stdio(
    lifecycle_settings: Settings, stdio_params: StdioParams, version: str
) -> None:
    """A raw ``initialize`` at an older version on stdin gets that version back on stdout."""
    params = stdio_params(lifecycle_settings.model_copy(update={"auto_start": False}))
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": {"name": "memoryd-tests", "version": "1"},
        },
    }
    done = subprocess.run(
        [params.command, *params.args],
        input=json.dumps(init) + "\n",
        env=params.env,
        capture_output=True,
        text=True,
        timeout=waits.budget(60),
    )
    (line,) = done.stdout.splitlines()  # stdout carries only the protocol
    answer = json.loads(line)
    assert answer["id"] == 1 and answer["result"]["protocolVersion"] == version, done.stderr
    assert answer["result"]["serverInfo"]["name"] == "memoryd"
