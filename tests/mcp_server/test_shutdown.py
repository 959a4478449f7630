"""R13 on ``/mcp``: SIGTERM while MCP writes are in flight — acknowledged writes survive,
the daemon exits within 10 s, and nothing is acknowledged after it stopped accepting."""

from __future__ import annotations

import os
import signal
import time

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

import waits
from memoryd import Memory, Settings
from memoryd.lifecycle import start_daemon
from memoryd.lifecycle.runtime import pid_alive


def test_sigterm_drains_mcp_writes(lifecycle_settings: Settings) -> None:
    info = start_daemon(lifecycle_settings)
    token = lifecycle_settings.resolved_token_file.read_text().strip()
    acknowledged: list[str] = []
    stopped_at: list[float] = []
    killed = False

    async def writer(n: int) -> None:
        headers = {"authorization": f"Bearer {token}"}
        try:
            async with (
                httpx2.AsyncClient(headers=headers, timeout=waits.budget(30)) as http,
                Client(streamable_http_client(f"{info.url}/mcp", http_client=http)) as client,
            ):
                for i in range(10_000):
                    result = await client.call_tool(
                        "memory_save", {"content": f"writer {n} fact {i}", "namespace": "r13"}
                    )
                    if result.is_error:
                        return
                    assert isinstance(result.structured_content, dict)
                    acknowledged.append(result.structured_content["memory"]["id"])
        except Exception:  # noqa: BLE001 - expected only once the daemon is stopping
            if not killed:
                raise

    async def terminate() -> None:
        nonlocal killed
        while len(acknowledged) < 40:
            await anyio.sleep(0.02)
        killed = True
        os.kill(info.pid, signal.SIGTERM)
        started = time.monotonic()
        while pid_alive(info.pid):
            await anyio.sleep(0.02)
        stopped_at.append(time.monotonic() - started)

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for n in range(3):
                group.start_soon(writer, n)
            group.start_soon(terminate)

    anyio.run(main)
    assert stopped_at and stopped_at[0] <= 10.0
    with Memory(lifecycle_settings) as memory:
        stored = {str(e.id) for e in memory.export(namespace="r13")}
    assert len(acknowledged) >= 40
    assert set(acknowledged) <= stored  # 0 acknowledged writes lost
