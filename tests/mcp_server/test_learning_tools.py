"""The self-learning MCP tools (anchor names) through the official client, stdio and HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
from mcp import Client

from memoryd import Settings

LEARNING_TOOLS = {
    "create_episode",
    "add_episode_step",
    "complete_episode",
    "query_memory",
    "recommend_patterns",
    "record_feedback",
    "analyze_patterns",
    "advanced_pattern_analysis",
    "health_check",
    "get_metrics",
}


async def _ok(client: Client, name: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def _error_code(client: Client, name: str, **arguments: Any) -> str:
    result = await client.call_tool(name, arguments)
    assert result.is_error
    code: str = json.loads(result.content[0].text)["error"]["code"]  # type: ignore[union-attr]
    return code


async def _scenario(client: Client, served_by: str) -> None:
    names = {tool.name for tool in (await client.list_tools()).tools}
    assert names >= LEARNING_TOOLS and len(names) <= 30  # small and sharp
    episode_ids = []
    for n in range(3):
        created = await _ok(
            client,
            "create_episode",
            task_description=f"fix the flaky login test number {n}",
            domain="web-api",
            task_type="debugging",
            language="python",
        )
        assert created["served_by"] == served_by
        episode_id = created["episode"]["id"]
        episode_ids.append(episode_id)
        for tool, status in (("pytest", "error"), ("grep", "success"), ("pytest", "success")):
            step = await _ok(
                client,
                "add_episode_step",
                episode_id=episode_id,
                tool=tool,
                action=f"run {tool}",
                status=status,
                message="assertion failed" if status == "error" else None,
                latency_ms=120.0,
            )
            assert step["step"]["tool"] == tool
        done = await _ok(
            client,
            "complete_episode",
            episode_id=episode_id,
            outcome={"type": "success", "verdict": "login test stable", "artifacts": []},
        )
        completion = done["completion"]
        assert completion["episode"]["status"] == "completed"
        assert completion["episode"]["reward"]["total"] > 0
        assert completion["extraction"]["queued"] is True
    again = await _error_code(
        client,
        "complete_episode",
        episode_id=episode_ids[0],
        outcome={"type": "failure", "reason": "x"},
    )
    assert again == "episode_already_completed"

    context = await _ok(client, "query_memory", query="the login test is flaky", domain="web-api")
    assert {m["episode"]["id"] for m in context["context"]["episodes"]} & set(episode_ids)

    recommended = await _ok(client, "recommend_patterns", task="flaky login test", domain="web-api")
    for _ in range(100):  # extraction runs in the background worker
        if recommended["patterns"]:
            break
        await anyio.sleep(0.1)
        recommended = await _ok(
            client, "recommend_patterns", task="flaky login test", domain="web-api"
        )
    assert recommended["patterns"], "no pattern extracted from three completed episodes"
    pattern_id = recommended["patterns"][0]["pattern"]["id"]
    feedback = await _ok(
        client, "record_feedback", pattern_id=pattern_id, applied=True, success=False
    )
    assert feedback["pattern"]["id"] == pattern_id

    analysis = await _ok(client, "analyze_patterns", min_success_rate=0.0)
    assert analysis["analysis"]
    rising = [float(i) + (0.5 if i % 2 else 0.0) for i in range(30)]
    trend = await _ok(client, "advanced_pattern_analysis", kind="trend", series={"reward": rising})
    assert trend["analysis"]["results"]["reward"]["direction"] == "increasing"
    bad = await _error_code(
        client, "advanced_pattern_analysis", kind="causality", series={"a": [1.0, 2.0], "b": [1.0]}
    )
    assert bad == "invalid_series"

    health = await _ok(client, "health_check")
    assert health["status"] == "ok" and health["served_by"] == served_by
    metrics = await _ok(client, "get_metrics")
    assert metrics["stats"]["schema_version"] >= 3


def test_learning_tools_over_streamable_http(http_daemon: Any) -> None:
    async def main() -> None:
        async with http_daemon.http() as http, Client(http_daemon.transport(http)) as client:
            await _scenario(client, "daemon")

    anyio.run(main)


def test_learning_tools_over_stdio(
    lifecycle_settings: Settings, stdio_params: Callable[..., Any]
) -> None:
    async def main() -> None:
        async with Client(stdio_params(lifecycle_settings)) as client:
            await _scenario(client, "daemon")

    anyio.run(main)
