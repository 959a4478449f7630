"""Many agents, one daemon: eight ``memoryd mcp`` processes writing at once, and a daemon
killed in the middle of a session (the next call still succeeds and says how)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from mcp import Client

import waits
from memoryd import Client as MemoryClient
from memoryd import Settings
from memoryd.lifecycle import discover
from memoryd.lifecycle.runtime import pid_alive

AGENTS = 8
WRITES = 25


async def _save(client: Client, content: str) -> dict[str, Any]:
    result = await client.call_tool("memory_save", {"content": content, "namespace": "team"})
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


@pytest.mark.slow
def test_eight_agents_write_through_one_daemon(
    lifecycle_settings: Settings, stdio_params: Callable[..., Any]
) -> None:
    saved: list[dict[str, Any]] = []

    async def agent(n: int) -> None:
        async with Client(stdio_params(lifecycle_settings)) as client:
            for i in range(WRITES):
                saved.append(await _save(client, f"agent {n} observation {i}: value {n * i}"))

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for n in range(AGENTS):
                group.start_soon(agent, n)

    anyio.run(main)
    assert len(saved) == AGENTS * WRITES
    assert {s["served_by"] for s in saved} == {"daemon"}  # one daemon served every write
    info = discover(lifecycle_settings)
    assert info is not None
    with MemoryClient(lifecycle_settings, base_url=info.url) as reader:
        stored = {e.id for e in reader.export(namespace="team")}
    assert {s["memory"]["id"] for s in saved} <= {str(i) for i in stored}
    assert len(stored) == AGENTS * WRITES  # 0 lost, 0 duplicated
    log = lifecycle_settings.resolved_log_file.read_text()
    assert "database is locked" not in log


def _kill_daemon(settings: Settings) -> None:
    info = discover(settings)
    assert info is not None
    os.kill(info.pid, signal.SIGKILL)
    deadline = waits.deadline(10)
    while pid_alive(info.pid):
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("args", "served_by", "degraded"),
    [([], "daemon", False), (["--no-auto-start"], "local", True)],
    ids=["restart", "fallback"],
)
def test_daemon_killed_mid_session(
    lifecycle_settings: Settings,
    stdio_params: Callable[..., Any],
    args: list[str],
    served_by: str,
    degraded: bool,
) -> None:
    async def main() -> None:
        async with Client(stdio_params(lifecycle_settings, "--auto-start")) as first:
            before = await _save(first, "written before the crash")
            assert before["served_by"] == "daemon"
        async with Client(stdio_params(lifecycle_settings, *args)) as client:
            assert (await _save(client, "warm-up"))["served_by"] == "daemon"
            _kill_daemon(lifecycle_settings)
            result = await client.call_tool(
                "memory_search", {"query": "before the crash", "namespace": "team"}
            )
            assert not result.is_error, result.content
            data = result.structured_content
            assert data is not None
            assert (data["served_by"], data["degraded"]) == (served_by, degraded)
            assert data["reason"]
            assert data["hits"][0]["memory"]["id"] == before["memory"]["id"]

    anyio.run(main)
