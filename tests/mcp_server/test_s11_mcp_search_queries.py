"""RELIABILITY.md S11 over MCP: a malformed search is a coded tool error, never internal.

``memory_search`` on the daemon's ``/mcp`` route (real loopback port, the
official MCP client over streamable HTTP) gets the same tables as the REST
test (``tests/reliability/_s11_queries.py``): every nasty query is searched
as plain text (no tool error), and every refused query or bad filter is a
tool error whose code is a validation code, never ``internal_error``.
Strings with lone surrogates are left out here: the MCP client encodes its
JSON as UTF-8 and cannot send them (REST sends them as ``\\ud800`` escapes).
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from mcp import Client

from reliability._s11_queries import BAD_FILTERS, MODES, NASTY_QUERIES, REFUSED, SEED

_REFUSAL_CODES = {"validation_error", "invalid_query"}
#: Some 250 searches in a few seconds: no rate limit (S6 has its own tests).
DAEMON_SETTINGS = {"rate_limit_token_rps": 0, "rate_limit_session_rps": 0}


def _sendable(value: Any) -> bool:
    """False for anything holding a lone surrogate (not encodable as UTF-8)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def _search(client: Client, **arguments: Any) -> str | None:
    """``None`` when the search ran, else the tool error's code."""
    result = await client.call_tool("memory_search", arguments)
    if not result.is_error:
        assert isinstance(result.structured_content, dict)
        assert isinstance(result.structured_content["hits"], list)
        return None
    code: str = json.loads(result.content[0].text)["error"]["code"]  # type: ignore[union-attr]
    return code


def test_s11_mcp_search_never_fails_inside(http_daemon: Any) -> None:
    async def main() -> None:
        async with (
            http_daemon.http() as http,
            Client(http_daemon.transport(http)) as client,
        ):
            for text in SEED:
                saved = await client.call_tool("memory_save", {"content": text})
                assert not saved.is_error, saved.content
            failed = {}
            for mode in MODES:
                for query in NASTY_QUERIES:
                    code = await _search(client, query=query, mode=mode)
                    if code is not None:
                        failed[mode, query] = code
            assert failed == {}, failed
            for query in filter(_sendable, REFUSED):
                assert await _search(client, query=query) in _REFUSAL_CODES, query
            for bad in filter(_sendable, BAD_FILTERS):
                if isinstance(bad, dict):  # the tool's schema takes an object
                    code = await _search(client, query="zebra", filter=bad)
                    assert code in _REFUSAL_CODES, (bad, code)

    anyio.run(main)
