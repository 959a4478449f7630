"""RELIABILITY.md S11 over REST: a malformed search query is a 4xx or plain text, never a 500.

A real daemon (uvicorn on a free loopback port, real store, real model) is
seeded with a few memories, then gets a table of nasty queries (FTS5
operators and syntax errors, quotes, NUL, lone surrogates, SQL, over-long
and empty text) in each search mode, and a table of malformed filters. Every
answer must be 200 (the query was searched as plain text) or a 4xx carrying
a stable error code; the daemon stays healthy. It runs once with the
in-memory BM25 index and once with FTS5's ``bm25()`` on every query, so both
keyword paths see every query. The fuzzing of the query builder itself is
``tests/reliability/test_s11_parser_fuzz.py``; MCP's side is
``tests/mcp_server/test_s11_mcp_search_queries.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from memoryd import Memory, Settings
from reliability._s11_queries import BAD_FILTERS, MODES, NASTY_QUERIES, ODD_FILTERS, REFUSED, SEED


@pytest.fixture(params=["memory", "fts5"])
def server_settings(
    request: pytest.FixtureRequest, tmp_path: Path, model_cache_dir: Path
) -> Settings:
    """Daemon settings with the keyword leg on the in-memory index or on FTS5."""
    return Settings(
        data_dir=tmp_path / "data",
        model_cache_dir=model_cache_dir,
        keyword_index=request.param,
        rate_limit_token_rps=0,
    )


@pytest.fixture
def seeded(live: httpx.Client, memory: Memory) -> httpx.Client:
    for text in SEED:
        assert live.post("/v1/memories", json={"content": text}).status_code == 201
    return live


def _answer(client: httpx.Client, body: dict[str, Any]) -> tuple[int, str | None]:
    # json.dumps escapes as ASCII, so lone surrogates travel as ``\ud800`` escapes
    # (valid JSON; the server's decoder turns them into lone surrogates).
    response = client.post(
        "/v1/search", content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert response.status_code < 500, (body, response.status_code, response.text)
    if response.status_code == 200:
        assert isinstance(response.json()["hits"], list)
        return 200, None
    assert 400 <= response.status_code < 500
    code = response.json()["error"]["code"]
    assert code in ("validation_error", "invalid_query", "payload_too_large"), response.text
    return response.status_code, code


def test_s11_nasty_queries_are_searched_as_text_never_a_500(seeded: httpx.Client) -> None:
    answers = {}
    for mode in MODES:
        for query in NASTY_QUERIES:
            answers[mode, query] = _answer(seeded, {"query": query, "mode": mode})
    refused = {key: value for key, value in answers.items() if value[0] != 200}
    assert refused == {}, refused  # plain text: every one of them is searched
    hits = seeded.post("/v1/search", json={"query": '"zebra"', "mode": "keyword"}).json()["hits"]
    assert [hit["entry"]["content"] for hit in hits] == ["Ann adopted a zebra named Stripes"]
    assert seeded.get("/readyz").status_code == 200


def test_s11_refused_queries_and_bad_filters_are_4xx_with_a_code(seeded: httpx.Client) -> None:
    for query in REFUSED:
        status, code = _answer(seeded, {"query": query})
        assert (status, code) == (422, "validation_error"), query
    for scope in ({"session_id": "\ud800"}, {"tags": ["ok", "a\udfff"]}):
        status, code = _answer(seeded, {"query": "zebra", **scope})
        assert (status, code) == (400, "invalid_query"), scope
    for bad in BAD_FILTERS:
        for mode in MODES:
            status, code = _answer(seeded, {"query": "zebra", "mode": mode, "filter": bad})
            assert status in (400, 422), bad
    for odd in ODD_FILTERS:
        _answer(seeded, {"query": "zebra", "mode": "keyword", "filter": odd})
    assert seeded.get("/readyz").status_code == 200
