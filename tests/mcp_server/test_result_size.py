"""Tool results stay under ``Settings.mcp_max_result_bytes``: whole items are left out,
the result says ``truncated`` and ``omitted``, the text is the same valid JSON as
``structuredContent``, and a cut ``memory_list`` page still pages through everything."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp import Client

from memoryd import Settings
from memoryd.mcp.models import MessagesOutput, SearchOutput
from memoryd.mcp.results import _largest_fit, _shortened

CAP = 4096
DAEMON_SETTINGS = {"mcp_max_result_bytes": CAP}
COUNT = 24
TOPICS = ["tea", "trains", "tulips", "telescopes", "tides", "tango"]


def _text(i: int) -> str:
    topic = TOPICS[i % len(TOPICS)]
    return f"Note {i} about {topic}: " + " ".join(f"{topic}-{i}-{w}" for w in range(30))


async def _call(client: Client, name: str, **arguments: Any) -> tuple[dict[str, Any], int]:
    """The structured result and the UTF-8 size of its text, checked to be the same JSON."""
    result = await client.call_tool(name, arguments)
    assert not result.is_error, result.content
    text = result.content[0].text  # type: ignore[union-attr]
    assert json.loads(text) == result.structured_content
    assert isinstance(result.structured_content, dict)
    return result.structured_content, len(text.encode())


@asynccontextmanager
async def _session(http_daemon: Any) -> AsyncIterator[Client]:
    async with http_daemon.http() as http, Client(http_daemon.transport(http)) as client:
        yield client


@pytest.fixture(scope="module")
def saved(http_daemon: Any) -> list[str]:
    """``COUNT`` memories of ~500 bytes in namespace ``cap`` (ids, oldest first), and a
    ``COUNT``-turn conversation ``talk``."""

    async def main() -> list[str]:
        async with _session(http_daemon) as client:
            ids = []
            for i in range(COUNT):
                out, _ = await _call(client, "memory_save", content=_text(i), namespace="cap")
                ids.append(out["memory"]["id"])
            for i in range(COUNT):
                await _call(client, "conversation_append", session_id="talk", content=_text(i))
            return ids

    return anyio.run(main)


def test_search_leaves_the_lowest_ranked_hits_out(http_daemon: Any, saved: list[str]) -> None:
    async def main() -> None:
        async with _session(http_daemon) as client:
            out, size = await _call(
                client, "memory_search", query="notes", namespace="cap", limit=COUNT
            )
            assert size <= CAP
            assert out["truncated"] is True and 1 <= len(out["hits"]) < COUNT
            assert len(out["hits"]) + out["omitted"] == COUNT
            scores = [hit["score"] for hit in out["hits"]]
            assert scores == sorted(scores, reverse=True)
            # The hits kept are the best ones: the same as asking for that many.
            fewer, _ = await _call(
                client, "memory_search", query="notes", namespace="cap", limit=len(out["hits"])
            )
            assert fewer["truncated"] is False and fewer["omitted"] == 0
            assert [h["memory"]["id"] for h in fewer["hits"]] == [
                h["memory"]["id"] for h in out["hits"]
            ]

    anyio.run(main)


def test_a_cut_list_page_still_pages_through_every_memory(
    http_daemon: Any, saved: list[str]
) -> None:
    async def main() -> list[str]:
        seen: list[str] = []
        cut_pages = 0
        async with _session(http_daemon) as client:
            cursor = None
            while True:
                page, size = await _call(
                    client, "memory_list", namespace="cap", limit=COUNT, **present(cursor=cursor)
                )
                assert size <= CAP
                cut_pages += page["truncated"]
                would_hold = min(COUNT, len(saved) - len(seen))
                assert page["omitted"] == would_hold - len(page["items"])
                assert page["truncated"] is (page["omitted"] > 0)
                seen += [item["id"] for item in page["items"]]
                cursor = page.get("next_cursor")
                if cursor is None:
                    return seen if cut_pages else []

    seen = anyio.run(main)
    assert seen == list(reversed(saved))  # newest first, each exactly once, none skipped


def present(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def test_recent_turns_keep_the_newest(http_daemon: Any, saved: list[str]) -> None:
    async def main() -> None:
        async with _session(http_daemon) as client:
            out, size = await _call(client, "conversation_recent", session_id="talk", n=COUNT)
            assert size <= CAP and out["truncated"] is True
            kept = len(out["messages"])
            assert 1 <= kept < COUNT and out["omitted"] == COUNT - kept
            expected = [_text(i) for i in range(COUNT - kept, COUNT)]  # oldest first
            assert [m["content"] for m in out["messages"]] == expected

    anyio.run(main)


def test_a_result_that_fits_is_not_marked(http_daemon: Any, saved: list[str]) -> None:
    async def main() -> None:
        async with _session(http_daemon) as client:
            out, size = await _call(client, "memory_search", query="tea", namespace="cap", limit=2)
            assert size <= CAP and len(out["hits"]) == 2
            assert out["truncated"] is False and out["omitted"] == 0

    anyio.run(main)


def test_one_item_larger_than_the_cap_comes_whole(http_daemon: Any) -> None:
    """An item is never cut in half: it comes alone and whole, the result says the rest
    was left out (the one case where a result exceeds the cap)."""
    logs = [
        f"The lighthouse keeper's log {n}, complete: " + "waves and wind. " * 400 for n in (1, 2)
    ]

    async def main() -> None:
        async with _session(http_daemon) as client:
            for log in logs:
                await _call(client, "memory_save", content=log, namespace="big")
            out, size = await _call(
                client, "memory_search", query="lighthouse keeper log", namespace="big"
            )
            assert size > CAP and len(out["hits"]) == 1
            assert out["hits"][0]["memory"]["content"] in logs  # whole, not cut
            assert out["truncated"] is True and out["omitted"] == 1

    anyio.run(main)


@pytest.mark.slow  # a `memoryd mcp` process and the daemon it starts
def test_memoryd_mcp_applies_the_setting(
    lifecycle_settings: Settings, stdio_params: Callable[..., Any]
) -> None:
    settings = lifecycle_settings.model_copy(update={"mcp_max_result_bytes": 2048})

    async def main() -> None:
        async with Client(stdio_params(settings)) as client:
            for i in range(8):
                await _call(client, "memory_save", content=_text(i))
            out, size = await _call(client, "memory_search", query="notes", limit=8)
            assert size <= 2048 and out["truncated"] is True
            assert len(out["hits"]) + out["omitted"] == 8

    anyio.run(main)


@pytest.mark.parametrize("model", [SearchOutput, MessagesOutput])
def test_the_count_that_fits_is_exact(model: Any) -> None:
    """``_largest_fit`` counts bytes from the items' sizes; the real encoding agrees:
    the count it picks fits, one more would not (non-ASCII text included)."""
    rng = random.Random(12)
    for _ in range(200):
        total = rng.randint(2, 40)
        items = [
            {"text": "é€" * rng.randint(0, 40) + "a" * rng.randint(1, 300)} for _ in range(total)
        ]
        data = {"served_by": "daemon", "truncated": False, "omitted": 0, model.CUT.field: items}
        cap = rng.randint(100, 8000)
        kept = _largest_fit(data, model.CUT, cap, total)

        sizes = [
            len(json.dumps(_shortened(data, model.CUT, count, total)).encode())
            for count in (kept, kept + 1)
        ]
        assert kept == 1 or sizes[0] <= cap
        assert kept == total or sizes[1] > cap
