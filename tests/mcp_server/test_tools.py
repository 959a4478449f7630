"""Every MCP tool through the official Python client, over stdio and over streamable HTTP.

stdio: ``memoryd mcp`` as a child process, which starts a daemon on demand.
HTTP: the daemon's ``/mcp`` route with the bearer token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import psutil
import pytest
from mcp import Client

import waits
from memoryd import Settings
from memoryd.lifecycle import discover

StdioParams = Callable[..., Any]

EXPECTED_TOOLS = {
    "memory_save",
    "memory_search",
    "memory_get",
    "memory_update",
    "memory_supersede",
    "memory_delete",
    "memory_list",
    "conversation_append",
    "conversation_recent",
    "state_set",
    "state_get",
}


async def _call(client: Client, name: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, result.content
    data = result.structured_content
    assert isinstance(data, dict)
    assert json.loads(result.content[0].text) == data  # type: ignore[union-attr]
    return data


def _error_code(result: Any) -> str:
    code: str = json.loads(result.content[0].text)["error"]["code"]
    return code


async def _scenario(client: Client, served_by: str) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) >= EXPECTED_TOOLS  # plus the self-learning tools (test_learning_tools)
    assert all(tool.output_schema and tool.description for tool in tools.values())
    assert tools["memory_search"].annotations is not None
    assert tools["memory_search"].annotations.read_only_hint is True

    saved = await _call(client, "memory_save", content="Ann prefers green tea", tags=["prefs"])
    assert saved["served_by"] == served_by and saved["degraded"] is False
    memory_id = saved["memory"]["id"]
    await _call(client, "memory_save", content="The build server is called hopper")

    found = await _call(client, "memory_search", query="what does Ann like to drink?", limit=3)
    assert found["hits"][0]["memory"]["id"] == memory_id
    assert "vector" not in found["hits"][0]["memory"]
    assert found["served_by"] == served_by

    got = await _call(client, "memory_get", id=memory_id)
    assert got["memory"]["content"] == "Ann prefers green tea"
    updated = await _call(client, "memory_update", id=memory_id, importance=0.9)
    assert updated["memory"]["importance"] == 0.9 and updated["memory"]["id"] == memory_id

    newer = await _call(client, "memory_supersede", id=memory_id, content="Ann now drinks coffee")
    assert newer["memory"]["supersedes"] == memory_id
    found = await _call(client, "memory_search", query="Ann drink", limit=5)
    assert memory_id not in [hit["memory"]["id"] for hit in found["hits"]]

    listed = await _call(client, "memory_list", limit=1)
    assert len(listed["items"]) == 1 and listed["next_cursor"]

    await _call(client, "conversation_append", session_id="s1", content="hi", role="user")
    await _call(client, "conversation_append", session_id="s1", content="hello!", role="assistant")
    recent = await _call(client, "conversation_recent", session_id="s1", n=5)
    assert [m["content"] for m in recent["messages"]] == ["hi", "hello!"]

    assert (await _call(client, "state_get", session_id="s1", key="step"))["found"] is False
    await _call(client, "state_set", session_id="s1", key="step", value={"n": 3})
    state = await _call(client, "state_get", session_id="s1", key="step")
    assert state["found"] is True and state["value"] == {"n": 3}

    resource = await client.read_resource(f"memory://{newer['memory']['id']}")
    assert json.loads(resource.contents[0].text)["content"] == "Ann now drinks coffee"  # type: ignore[union-attr]

    deleted = await _call(client, "memory_delete", id=newer["memory"]["id"])
    assert deleted["deleted"] is True
    missing = await client.call_tool("memory_get", {"id": newer["memory"]["id"]})
    assert missing.is_error and _error_code(missing) == "not_found"
    invalid = await client.call_tool("memory_save", {"content": "x", "namespace": "bad ns!"})
    assert invalid.is_error and _error_code(invalid) == "validation_error"


def test_tools_over_stdio(lifecycle_settings: Settings, stdio_params: StdioParams) -> None:
    async def main() -> None:
        async with Client(stdio_params(lifecycle_settings)) as client:
            await _scenario(client, "daemon")

    anyio.run(main)


def test_tools_over_streamable_http(http_daemon: Any) -> None:
    async def main() -> None:
        async with (
            http_daemon.http() as http,
            Client(http_daemon.transport(http)) as client,
        ):
            await _scenario(client, "daemon")

    anyio.run(main)


def _mcp_children() -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process().children(recursive=True)
        if "mcp" in child.cmdline()[1:3] or child.cmdline()[-1:] == ["mcp"]
    ]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_handshake_loads_no_model_and_prestarts_the_daemon(
    lifecycle_settings: Settings, stdio_params: StdioParams, mode: str
) -> None:
    async def main() -> None:
        async with Client(stdio_params(lifecycle_settings), mode=mode) as client:
            assert client.server_info is not None and client.server_info.name == "memoryd"
            assert client.instructions and "memory_search" in client.instructions
            (child,) = _mcp_children()
            maps = Path(f"/proc/{child.pid}/maps").read_text()
            assert "onnxruntime" not in maps  # no embedding model in the stdio process
            deadline = waits.deadline(60)
            while discover(lifecycle_settings) is None:  # booting in the background
                assert time.monotonic() < deadline
                await anyio.sleep(0.05)

    anyio.run(main)
