"""S10 hand cases (issue 11 defect 5, and what schemathesis found): each gave a 500, now a 4xx.

The same inputs go through REST (a real daemon on a loopback port), the
library ``Memory`` and the MCP tools (official client over streamable
HTTP) where the operation exists: ``metadata: null`` on a message, a step
with ``tokens`` = 2⁶³, ``last`` = 2⁶³ turns and an analysis series over
:data:`~memoryd.bounds.MAX_SERIES_POINTS`. Every one is refused with a
stable code and the store's fingerprint (every row of every table and the
vector index) is unchanged. Analysis memory is linear in the series
length: a trend over 20,000 points (400 M pairwise slopes; scipy's
``theilslopes`` needs ~9 GiB for it) peaks under 64 MiB.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

import waits
from memoryd import DimensionMismatch, Memory, MemorydError, Settings, ValidationError
from memoryd.bounds import (
    MAX_ANALYSIS_SERIES,
    MAX_LAST_MESSAGES,
    MAX_SERIES_POINTS,
    MAX_STEP_TOKENS,
)
from memoryd.embeddings import Embedder
from memoryd.errors import InvalidSeries
from memoryd.server import create_app
from memoryd.server.testing import serve_in_thread

from ._support import store_fingerprint

TOO_BIG = 2**63  # one past SQLite's largest INTEGER


@dataclass
class Daemon:
    memory: Memory
    url: str
    token: str
    http: httpx.Client
    episode_id: str


@pytest.fixture(scope="module")
def daemon(
    tmp_path_factory: pytest.TempPathFactory, model_cache_dir: Path, embedder: Embedder
) -> Iterator[Daemon]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("s10-hand") / "data", model_cache_dir=model_cache_dir
    )
    memory = Memory(settings, embedder=embedder, background=False)
    memory.append("s1", "where is the meeting?", role="user")
    memory.append("s1", "room 4, after lunch", role="assistant")
    episode = memory.start_episode("fix the flaky login test", task_type="debugging")
    memory.log_step(episode.id, tool="pytest", action="run", result={"status": "error"})
    app = create_app(settings, memory)
    token = settings.resolved_token_file.read_text().strip()
    with (
        serve_in_thread(app) as url,
        httpx.Client(
            base_url=url,
            headers={"authorization": f"Bearer {token}"},
            timeout=waits.budget(30.0),
            trust_env=False,
        ) as http,
    ):
        yield Daemon(memory, url, token, http, str(episode.id))
    memory.close()


def _step(tokens: int) -> dict[str, Any]:
    return {"tool": "pytest", "action": "run", "result": {"status": "success"}, "tokens": tokens}


def _rest_cases(episode_id: str) -> dict[str, tuple[str, str, dict[str, Any], str]]:
    reward = [float(i % 7) for i in range(MAX_SERIES_POINTS + 1)]
    many = {f"s{i}": [1.0, 2.0, 3.0, 4.0] for i in range(MAX_ANALYSIS_SERIES + 1)}
    return {
        "message_metadata_null": (
            "POST",
            "/v1/sessions/s1/messages",
            {"json": {"content": "hi", "metadata": None}},
            "validation_error",
        ),
        "message_tags_null": (
            "POST",
            "/v1/sessions/s1/messages",
            {"json": {"content": "hi", "tags": None}},
            "validation_error",
        ),
        "step_tokens_int64_overflow": (
            "POST",
            f"/v1/episodes/{episode_id}/steps",
            {"json": {"steps": [_step(TOO_BIG)]}},
            "validation_error",
        ),
        "step_tokens_over_max": (
            "POST",
            f"/v1/episodes/{episode_id}/steps",
            {"json": {"steps": [_step(MAX_STEP_TOKENS + 1)]}},
            "validation_error",
        ),
        "last_int64_overflow": (
            "GET",
            "/v1/sessions/s1/messages",
            {"params": {"last": TOO_BIG}},
            "validation_error",
        ),
        "last_zero": (
            "GET",
            "/v1/sessions/s1/messages",
            {"params": {"last": 0}},
            "validation_error",
        ),
        "last_over_max": (
            "GET",
            "/v1/sessions/s1/messages",
            {"params": {"last": MAX_LAST_MESSAGES + 1}},
            "validation_error",
        ),
        "analysis_series_over_max": (
            "POST",
            "/v1/analysis",
            {"json": {"kind": "trend", "series": {"reward": reward}}},
            "validation_error",
        ),
        "vector_beyond_float32": (
            "POST",
            "/v1/sessions/s1/messages",
            {"json": {"content": "hi", "vector": [6.5e73] * 384}},
            "dimension_mismatch",
        ),
        "batch_vector_beyond_float32": (
            "POST",
            "/v1/memories/batch",
            {"json": {"items": [{"content": "ok"}, {"content": "v", "vector": [-1e300] * 384}]}},
            "dimension_mismatch",
        ),
        "context_not_an_object": (
            "POST",
            "/v1/context",
            {"json": {"task": "fix the login test", "context": [{"a": 1}, None]}},
            "validation_error",
        ),
        "context_unknown_field": (
            "POST",
            "/v1/context",
            {"json": {"task": "fix the login test", "context": {"colour": "red"}}},
            "validation_error",
        ),
        "analysis_too_many_series": (
            "POST",
            "/v1/analysis",
            {"json": {"kind": "descriptive", "series": many}},
            "validation_error",
        ),
    }


REST_CASES = list(_rest_cases("x"))
_STATUS = {"validation_error": 422, "dimension_mismatch": 409}


@pytest.mark.parametrize("case", REST_CASES)
def test_rest_hand_case_gets_4xx_and_changes_nothing(daemon: Daemon, case: str) -> None:
    method, path, kwargs, code = _rest_cases(daemon.episode_id)[case]
    before = store_fingerprint(daemon.memory)
    response = daemon.http.request(method, path, **kwargs)
    assert response.status_code == _STATUS[code], response.text[:500]
    assert response.json()["error"]["code"] == code
    assert store_fingerprint(daemon.memory) == before


def _library_cases(
    episode_id: str,
) -> dict[str, tuple[Callable[[Memory], object], type[MemorydError]]]:
    reward = [1.0] * (MAX_SERIES_POINTS + 1)
    return {
        "append_metadata_none": (
            lambda m: m.append("s1", "hi", metadata=None),
            ValidationError,
        ),
        "append_metadata_list": (
            lambda m: m.append("s1", "hi", metadata=[1, 2]),
            ValidationError,
        ),
        "step_tokens_int64_overflow": (
            lambda m: m.log_step(episode_id, _step(TOO_BIG)),
            ValidationError,
        ),
        "steps_tokens_over_max": (
            lambda m: m.log_steps(episode_id, [_step(1), _step(MAX_STEP_TOKENS + 1)]),
            ValidationError,
        ),
        "last_int64_overflow": (lambda m: m.last_messages("s1", TOO_BIG), ValidationError),
        "vector_beyond_float32": (lambda m: m.add("v", vector=[1e300] * 384), DimensionMismatch),
        "last_zero": (lambda m: m.last_messages("s1", 0), ValidationError),
        "last_not_int": (lambda m: m.last_messages("s1", 2.5), ValidationError),  # type: ignore[arg-type]
        "analysis_series_over_max": (
            lambda m: m.advanced_pattern_analysis("trend", {"reward": reward}),
            InvalidSeries,
        ),
    }


LIBRARY_CASES = list(_library_cases("x"))


@pytest.mark.parametrize("case", LIBRARY_CASES)
def test_library_hand_case_raises_and_changes_nothing(daemon: Daemon, case: str) -> None:
    call, error = _library_cases(daemon.episode_id)[case]
    before = store_fingerprint(daemon.memory)
    with pytest.raises(error) as caught:
        call(daemon.memory)
    assert caught.value.code == error.code
    assert store_fingerprint(daemon.memory) == before


def test_mcp_hand_cases_are_tool_errors_and_change_nothing(daemon: Daemon) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        (
            "add_episode_step",
            {
                "episode_id": daemon.episode_id,
                "tool": "pytest",
                "action": "run",
                "status": "success",
                "tokens": TOO_BIG,
            },
        ),
        (
            "add_episode_step",
            {
                "episode_id": daemon.episode_id,
                "tool": "pytest",
                "action": "run",
                "status": "success",
                "tokens": MAX_STEP_TOKENS + 1,
            },
        ),
        ("conversation_recent", {"session_id": "s1", "n": TOO_BIG}),
        (
            "advanced_pattern_analysis",
            {"kind": "trend", "series": {"reward": [1.0] * (MAX_SERIES_POINTS + 1)}},
        ),
    ]
    before = store_fingerprint(daemon.memory)
    errors: list[str] = []

    async def main() -> None:
        headers = {"authorization": f"Bearer {daemon.token}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=waits.budget(60)) as http,
            Client(streamable_http_client(f"{daemon.url}/mcp", http_client=http)) as client,
        ):
            for name, arguments in cases:
                result = await client.call_tool(name, arguments)
                assert result.is_error, (name, result.content)
                errors.append(result.content[0].text)  # type: ignore[union-attr]

    anyio.run(main)
    assert len(errors) == len(cases)
    for text in errors:
        assert "internal" not in text.lower(), text
    assert store_fingerprint(daemon.memory) == before


def test_trend_memory_is_linear_in_the_series(daemon: Daemon) -> None:
    n = 20_000
    series = {"reward": [float((i * 7919) % 101) + i / 1000 for i in range(n)]}
    tracemalloc.start()
    try:
        result = daemon.memory.advanced_pattern_analysis("trend", series)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    trend = result.results["reward"]
    assert trend["direction"] == "increasing"
    assert trend["slope_low"] <= trend["slope"] <= trend["slope_high"]
    assert peak < 64 * 2**20, f"trend over {n} points peaked at {peak / 2**20:.0f} MiB"
    assert json.dumps(result.model_dump(mode="json"))  # every number is JSON-safe


def test_patch_with_nulls_keeps_the_fields(daemon: Daemon) -> None:
    """``PATCH`` with ``"tags": null`` stored null tags (a response violating the schema)."""
    entry = daemon.memory.add("the budget meeting moved to Friday", tags=["work"])
    before = store_fingerprint(daemon.memory)
    body = {"tags": None, "metadata": None, "importance": None, "vector": None, "content": None}
    response = daemon.http.patch(f"/v1/memories/{entry.id}", json=body)
    assert response.status_code == 200, response.text[:500]
    assert response.json()["tags"] == ["work"] and response.json()["metadata"] == {}
    assert daemon.memory.update(entry.id, tags=None, metadata=None).tags == ["work"]
    assert store_fingerprint(daemon.memory) == before
