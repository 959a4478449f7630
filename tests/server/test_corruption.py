"""A damaged store on every face (RELIABILITY.md R7): REST, MCP over HTTP and the Client.

The store is real and really damaged (bytes of the closed SQLite file are
changed, ``tests/_damage.py``); the daemon app runs on a real loopback port.
Nothing may answer 500: damage is 503 ``storage_corrupted``, the daemon stays
up (``/healthz`` 200), ``/readyz`` says why it is not ready, writes carry the
restore hint, and an export answers an error instead of a truncated 200.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client as McpClient
from mcp.client.streamable_http import streamable_http_client

from _damage import garble_page, pages_of, rowids_on
from memoryd import Client, Memory, Settings
from memoryd.errors import StoreCorrupted
from memoryd.server import create_app
from memoryd.server.testing import serve_in_thread

ROWS = 400


@pytest.fixture
def damaged(server_settings: Settings, embedder: Any) -> tuple[Settings, set[int]]:
    """A store of 400 memories whose last ``memories`` leaf page is unreadable.

    Returns the settings and the rowids on that page.
    """
    with Memory(server_settings, embedder=embedder, background=False) as memory:
        memory.add_many([{"content": f"entry {i:04d} about Lisbon"} for i in range(ROWS)])
        memory.kv_set("theme", "dark")
    db = server_settings.db_path
    leaf = pages_of(db, "memories")[-1]
    lost = set(rowids_on(db, leaf))
    garble_page(db, leaf)
    return server_settings, lost


@pytest.fixture
def served(damaged: tuple[Settings, set[int]], embedder: Any) -> Iterator[tuple[str, str, Memory]]:
    """The daemon app over the damaged store on a free port: ``(url, token, engine)``.

    The engine is one-shot (``background=False``): no check runs at open, so
    the first read that meets the damage is what finds it.
    """
    settings, _ = damaged
    memory = Memory(settings, embedder=embedder, background=False)
    app = create_app(settings, memory)
    token = settings.resolved_token_file.read_text().strip()
    with serve_in_thread(app) as url:
        yield url, token, memory
    memory.close()


def _http(url: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=60, trust_env=False
    )


def _is_corrupted(response: httpx.Response) -> bool:
    return response.status_code == 503 and response.json()["error"]["code"] == "storage_corrupted"


def test_rest_answers_503_storage_corrupted_never_500(
    served: tuple[str, str, Memory], damaged: tuple[Settings, set[int]]
) -> None:
    url, token, memory = served
    with _http(url, token) as http:
        assert http.get("/readyz").status_code == 200  # nothing has met the damage yet
        listing = http.get("/v1/memories", params={"limit": 1000})
        assert _is_corrupted(listing), listing.text  # was 500 internal_error
        assert "database disk image is malformed" in listing.json()["error"]["message"]
        ready = http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"].startswith("storage_corrupted: ")
        assert http.get("/healthz").status_code == 200
        write = http.post("/v1/memories", json={"content": "a write after the damage"})
        assert _is_corrupted(write), write.text
        assert "Restore memoryd.db from a backup" in write.json()["error"]["message"]
        assert _is_corrupted(http.put("/v1/kv/theme", json={"value": "light"}))
        intact = min(set(range(1, ROWS)) - damaged[1])
        entry = memory.store.fetch([intact])[intact]
        got = http.get(f"/v1/memories/{entry.id}")  # rows away from the damage still read
        assert got.status_code == 200 and got.json()["content"] == entry.content
        for response in (
            http.post("/v1/search", json={"query": "Lisbon", "mode": "keyword", "limit": 500}),
            http.get("/v1/kv/theme"),
            http.get("/v1/stats"),
        ):
            assert response.status_code in (200, 503), response.text
            if response.status_code == 503:
                assert _is_corrupted(response)
        stats = http.get("/v1/stats").json()
        assert stats["integrity"]["status"] == "corrupted"


def test_export_answers_an_error_not_a_truncated_200(served: tuple[str, str, Memory]) -> None:
    url, token, _ = served
    with _http(url, token) as http, http.stream("POST", "/v1/export") as response:
        body = response.read()
    assert response.status_code == 503, body[:200]  # was 200 and a stream cut short
    assert json.loads(body)["error"]["code"] == "storage_corrupted"


def test_export_of_a_sound_store_carries_its_length(
    server_settings: Settings, embedder: Any
) -> None:
    with Memory(server_settings, embedder=embedder) as memory:
        memory.add_many([{"content": f"sound entry {i}"} for i in range(30)])
        with serve_in_thread(create_app(server_settings, memory)) as url:
            token = server_settings.resolved_token_file.read_text().strip()
            with _http(url, token) as http:
                response = http.post("/v1/export")
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content)
    assert len(response.content.splitlines()) == 30


def test_verify_route_reports_the_damage(served: tuple[str, str, Memory]) -> None:
    url, token, memory = served
    with _http(url, token) as http:
        report = http.post("/v1/storage/verify")
        assert report.status_code == 200
        body = report.json()
        assert body["ok"] is False and body["mode"] == "full"
        assert body["checks"]["integrity_check"] == "failed"
        assert http.get("/readyz").status_code == 503
    assert memory.store.health.corrupted


def test_client_raises_store_corrupted_and_does_not_fall_back(
    served: tuple[str, str, Memory],
) -> None:
    url, token, _ = served
    with Client(base_url=url, token=token) as client:
        with pytest.raises(StoreCorrupted) as caught:
            client.list(limit=1000)
        assert caught.value.code == "storage_corrupted"
        with pytest.raises(StoreCorrupted, match="Restore"):
            client.add("refused")
        with pytest.raises(StoreCorrupted):
            list(client.export())
        assert client.verify_storage().ok is False


def _mcp_error(result: Any) -> str:
    assert result.is_error, result.content
    code: str = json.loads(result.content[0].text)["error"]["code"]
    return code


def test_mcp_tools_return_storage_corrupted(served: tuple[str, str, Memory]) -> None:
    url, token, _ = served

    async def main() -> None:
        headers = {"authorization": f"Bearer {token}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            McpClient(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
        ):
            listed = await client.call_tool("memory_list", {"limit": 200})  # the newest rows
            assert _mcp_error(listed) == "storage_corrupted"
            saved = await client.call_tool("memory_save", {"content": "refused"})
            assert _mcp_error(saved) == "storage_corrupted"

    anyio.run(main)


def test_a_store_that_cannot_open_keeps_the_daemon_up(
    server_settings: Settings, embedder: Any
) -> None:
    with Memory(server_settings, embedder=embedder, background=False) as memory:
        memory.add("soon unreadable")
    db = server_settings.db_path
    data = bytearray(db.read_bytes())
    data[0:16] = b"SQLite format 4\x00"  # the header's magic string: "file is not a database"
    db.write_bytes(bytes(data))
    app = create_app(server_settings)  # opens the engine itself, as the daemon does
    stopped: list[object] = []
    app.state.server.on_failure = stopped.append
    token = server_settings.resolved_token_file.read_text().strip()
    with serve_in_thread(app) as url, _http(url, token) as http:
        deadline = time.monotonic() + 120  # the engine opens in a thread (model load)
        ready = http.get("/readyz")
        while "storage_corrupted" not in ready.json()["status"] and time.monotonic() < deadline:
            time.sleep(0.05)
            ready = http.get("/readyz")
        assert ready.status_code == 503, ready.text
        assert ready.json()["status"].startswith("storage_corrupted: ")
        assert http.get("/healthz").status_code == 200
        assert _is_corrupted(http.get("/v1/memories"))
        assert _is_corrupted(http.post("/v1/memories", json={"content": "refused"}))
    assert stopped == []  # the runner's stop-on-failure hook was never called
