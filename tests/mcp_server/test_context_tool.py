"""``memory_context`` over streamable HTTP: packed, cited, readOnly, bounded budgets, and
kept under ``Settings.mcp_max_result_bytes`` like the other tools."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from test_result_size import CAP, _call, _session

from memoryd.bounds import MCP_MAX_BUDGET_TOKENS, MIN_BUDGET_TOKENS

DAEMON_SETTINGS = {"mcp_max_result_bytes": CAP}


def test_memory_context_packs_and_cites(http_daemon: Any) -> None:
    async def main() -> None:
        async with _session(http_daemon) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            hints = tools["memory_context"].annotations
            assert hints is not None and hints.read_only_hint is True
            ids = []
            for text in ("Ann drinks green tea", "Ann drinks green tea every morning."):
                saved, _ = await _call(client, "memory_save", content=text, namespace="ctx")
                ids.append(saved["memory"]["id"])
            out, _ = await _call(
                client, "memory_context", query="what does Ann drink", namespace="ctx"
            )
            assert [set(s["ids"]) for s in out["snippets"]] == [set(ids)]
            assert out["merged"] == 1 and out["tokens_used"] == out["snippets"][0]["tokens"]
            assert out["budget_tokens"] == 2000 and out["truncated"] is False

    anyio.run(main)


@pytest.mark.parametrize("budget", [0, MIN_BUDGET_TOKENS - 1, MCP_MAX_BUDGET_TOKENS + 1, "x"])
def test_bad_budgets_are_refused(http_daemon: Any, budget: Any) -> None:
    async def main() -> None:
        async with _session(http_daemon) as client:
            result = await client.call_tool(
                "memory_context", {"query": "tea", "budget_tokens": budget}
            )
            assert result.is_error
            text = result.content[0].text  # type: ignore[union-attr]
            assert "budget_tokens" in text

    anyio.run(main)


def test_results_stay_under_the_size_limit(http_daemon: Any) -> None:
    """Many short snippets in a big budget: whole snippets are left out to fit the cap."""

    async def main() -> None:
        async with _session(http_daemon) as client:
            for i in range(40):
                text = f"Harbour note {i}: boat {i} moored at pier {i * 7} with {i + 3} crates"
                await _call(client, "memory_save", content=text, namespace="cap")
            out, size = await _call(
                client,
                "memory_context",
                query="harbour note boat",
                namespace="cap",
                budget_tokens=MCP_MAX_BUDGET_TOKENS,
            )
            assert size <= CAP and out["truncated"] is True and out["omitted"] > 0
            assert out["snippets"] and len(out["snippets"]) + out["omitted"] <= 40

    anyio.run(main)
