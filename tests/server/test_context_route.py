"""``POST /v1/search/context`` (``pack_context`` over REST) and the Python client's call."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from memoryd import Client, Memory
from memoryd.bounds import MAX_BUDGET_TOKENS, MIN_BUDGET_TOKENS
from memoryd.errors import ValidationError


def test_the_route_packs_merges_and_cites(http: TestClient, memory: Memory) -> None:
    tea = memory.add("Ann drinks green tea").id
    again = memory.add("Ann drinks green tea every morning.").id
    memory.add("Ben rides a red bicycle to work")
    response = http.post(
        "/v1/search/context", json={"query": "what does Ann drink", "budget_tokens": 16}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["budget_tokens"] == 16 and body["tokens_used"] <= 16
    first = body["snippets"][0]
    assert set(first["ids"]) == {str(tea), str(again)} and body["merged"] == 1
    assert body == memory.pack_context("what does Ann drink", budget_tokens=16).model_dump(
        mode="json"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"query": "tea", "budget_tokens": MIN_BUDGET_TOKENS - 1},
        {"query": "tea", "budget_tokens": MAX_BUDGET_TOKENS + 1},
        {"query": "tea", "budget_tokens": "lots"},
        {"query": "tea", "budget_tokens": 100, "limit": 0},
        {"query": "", "budget_tokens": 100},
        {"query": "tea", "budget": 100},
    ],
)
def test_bad_budgets_are_refused(http: TestClient, body: dict[str, Any]) -> None:
    response = http.post("/v1/search/context", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


def test_the_client_refuses_a_bad_budget_before_sending(live_url: str, token: str) -> None:
    with Client(base_url=live_url, token=token) as client:
        assert client.pack_context("tea", budget_tokens=100).snippets == []
        with pytest.raises(ValidationError):
            client.pack_context("tea", budget_tokens=MIN_BUDGET_TOKENS - 1)
