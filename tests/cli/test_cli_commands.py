"""add / search / context / get / list / delete / stats through the CLI, in every output format."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import yaml
from typer.testing import Result

Invoke = Callable[..., Result]


def _json(result: Result) -> Any:
    return json.loads(result.stdout)


def test_add_get_search_list_delete(cli: Invoke) -> None:
    added = _json(
        cli(
            "--format",
            "json",
            "add",
            "Ann prefers green tea in the morning",
            "--namespace",
            "team",
            "--tag",
            "prefs",
            "--tag",
            "drinks",
            "--meta",
            "speaker=Ann",
            "--meta",
            "cups=3",
            "--importance",
            "0.9",
            "--ttl",
            "3600",
        )
    )
    assert added["content"] == "Ann prefers green tea in the morning"
    assert added["namespace"] == "team" and added["tags"] == ["prefs", "drinks"]
    assert added["metadata"] == {"speaker": "Ann", "cups": 3}
    assert added["importance"] == 0.9 and added["expires_at"] is not None
    assert "vector" not in added
    cli("-f", "json", "add", "Bob drives a red bicycle to work", "-n", "team")

    got = _json(cli("-f", "json", "get", added["id"], "-n", "team"))
    assert got == added

    found = _json(cli("-f", "json", "search", "what does Ann drink?", "-n", "team", "--explain"))
    assert found["hits"][0]["entry"]["id"] == added["id"]
    assert found["hits"][0]["explain"]["vector_rank"] == 1
    assert found["mode"] == "hybrid"

    keyword = _json(cli("-f", "json", "search", "bicycle", "-n", "team", "--mode", "keyword"))
    assert [h["entry"]["content"] for h in keyword["hits"]] == ["Bob drives a red bicycle to work"]

    filtered = _json(
        cli(
            "-f",
            "json",
            "search",
            "drink",
            "-n",
            "team",
            "--filter",
            '{"field": "speaker", "value": "Ann"}',
            "--tag",
            "prefs",
            "--kind",
            "memory",
        )
    )
    assert [h["entry"]["id"] for h in filtered["hits"]] == [added["id"]]

    page = _json(cli("-f", "json", "list", "-n", "team", "--limit", "1"))
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = _json(cli("-f", "json", "list", "-n", "team", "--cursor", page["next_cursor"]))
    assert {page["items"][0]["id"], rest["items"][0]["id"]} >= {added["id"]}
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert _json(cli("-f", "json", "list", "-n", "elsewhere"))["items"] == []

    deleted = _json(cli("-f", "json", "delete", added["id"], "-n", "team"))
    assert deleted == {"deleted": added["id"], "namespace": "team"}
    missing = cli("get", added["id"], "-n", "team", code=1)
    assert missing.stderr == f"error[not_found]: no entry {added['id']} in namespace 'team'\n"


def test_context_packs_into_the_budget(cli: Invoke) -> None:
    tea = _json(cli("-f", "json", "add", "Ann drinks green tea"))["id"]
    again = _json(cli("-f", "json", "add", "Ann drinks green tea every morning."))["id"]
    log = "The lighthouse keeper's log: " + "waves rolled under a grey sky. " * 40
    cli("add", log)
    packed = _json(cli("-f", "json", "context", "what does Ann drink", "--budget", "16"))
    assert packed["budget_tokens"] == 16 and packed["tokens_used"] <= 16
    assert set(packed["snippets"][0]["ids"]) == {tea, again}
    cut = _json(cli("-f", "json", "context", "lighthouse keeper", "-b", "20", "--limit", "1"))
    assert cut["snippets"][0]["truncated"] is True and log.startswith(cut["snippets"][0]["text"])
    table = cli("context", "what does Ann drink", "--budget", "16").stdout
    assert "16 tokens" in table or "/16 tokens" in table
    assert tea[:8] in table


def test_list_by_kind_and_session(cli: Invoke) -> None:
    cli("add", "hello there", "--kind", "message", "--session", "s1")
    cli("add", "general kenobi", "--kind", "message", "--session", "s1")
    cli("add", "unrelated fact")
    page = _json(cli("-f", "json", "list", "--kind", "message", "--session", "s1"))
    assert [item["content"] for item in page["items"]] == ["general kenobi", "hello there"]
    assert all(item["session_id"] == "s1" for item in page["items"])


def test_yaml_and_table_formats(cli: Invoke) -> None:
    entry = yaml.safe_load(cli("--format", "yaml", "add", "the deploy key rotates monthly").stdout)
    assert entry["content"] == "the deploy key rotates monthly"

    table = cli("get", entry["id"]).stdout
    assert "the deploy key rotates monthly" in table and entry["id"] in table
    assert "content_hash" in table

    hits = cli("search", "deploy key").stdout
    assert "1 hits (hybrid" in hits and "the deploy key rotates monthly" in hits

    listing = cli("list").stdout
    assert "the deploy key rotates monthly" in listing

    stats = yaml.safe_load(cli("-f", "yaml", "stats").stdout)
    assert stats["total"] == 1 and stats["by_kind"] == {"memory": 1}
    assert stats["embedding_model"] == "all-MiniLM-L6-v2" and stats["dim"] == 384
    assert "by_namespace" in cli("stats").stdout


def test_forget_asks_then_erases_and_prints_counts(cli: Invoke) -> None:
    cli("add", "Ann prefers green tea", "--namespace", "team")
    cli("add", "Bob prefers coffee", "--namespace", "other")
    refused = cli("forget", "--namespace", "team", code=1)
    assert "Erase everything of namespace='team'" in refused.stderr
    assert len(_json(cli("--format", "json", "list", "--namespace", "team"))["items"]) == 1
    done = _json(cli("--format", "json", "forget", "--namespace", "team", "--yes"))
    assert done["memories"] == {"memory": 1} and done["scope"]["namespace"] == "team"
    assert _json(cli("--format", "json", "list", "--namespace", "team"))["items"] == []
    assert len(_json(cli("--format", "json", "list", "--namespace", "other"))["items"]) == 1
    missing = cli("forget", "--yes", code=2)
    assert "error[validation_error]" in missing.stderr
