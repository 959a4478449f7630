"""compact_schema: the published output schemas accept exactly what pydantic's accept."""

from __future__ import annotations

import json
from typing import Any

import anyio
from jsonschema.validators import validator_for
from pydantic import BaseModel

from memoryd.client import Client
from memoryd.mcp.backend import ClientBackend
from memoryd.mcp.models import SearchOutput
from memoryd.mcp.schema import compact_schema
from memoryd.mcp.tools import build_server

HIT = {
    "memory": {
        "id": "6f1c0a9e-0000-4000-8000-000000000000",
        "content": "Alice moved to Berlin",
        "kind": "fact",
        "namespace": "default",
        "tags": ["move"],
        "metadata": {"speaker": "Alice"},
        "importance": 0.5,
        "created_at": "2026-11-22T01:02:03Z",
        "session_id": None,
    },
    "score": 0.8,
}
GOOD = {"served_by": "daemon", "degraded": False, "hits": [HIT], "mode": "hybrid", "took_ms": 1.0}


def _bad_variants() -> list[dict[str, Any]]:
    missing = json.loads(json.dumps(GOOD))
    del missing["hits"][0]["memory"]["content"]
    wrong_type = json.loads(json.dumps(GOOD))
    wrong_type["hits"][0]["memory"]["session_id"] = 7
    bad_enum = {**GOOD, "served_by": "elsewhere"}
    bad_score = json.loads(json.dumps(GOOD))
    bad_score["hits"][0]["score"] = "high"
    return [missing, wrong_type, bad_enum, bad_score, {**GOOD, "reason": 3}]


def _valid(schema: dict[str, Any], instance: Any) -> bool:
    return validator_for(schema)(schema).is_valid(instance)


def test_same_verdicts_as_the_pydantic_schema() -> None:
    original = SearchOutput.model_json_schema()
    compact = compact_schema(original)
    text = json.dumps(compact)
    assert "$ref" not in text and "$defs" not in text and "anyOf" not in text
    assert compact["properties"]["reason"]["type"] == ["string", "null"]
    validator_for(compact).check_schema(compact)
    assert _valid(original, GOOD) and _valid(compact, GOOD)
    for bad in _bad_variants():
        assert not _valid(original, bad)
        assert not _valid(compact, bad)
    assert "$defs" in original  # the input is left as it was


class Node(BaseModel):
    """A recursive model: its inner reference cannot be inlined."""

    name: str
    children: list[Node] = []


def test_recursive_models_keep_their_reference() -> None:
    original = Node.model_json_schema()
    compact = compact_schema(original)
    validator_for(compact).check_schema(compact)
    tree = {"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}]}
    assert _valid(compact, tree)
    assert not _valid(compact, {"name": "a", "children": [{"name": 1}]})


def test_every_published_tool_schema_is_compact_and_valid() -> None:
    server = build_server(ClientBackend(Client))  # tools/list never calls the backend
    tools = anyio.run(server.list_tools)
    schemas = [tool.output_schema for tool in tools if tool.output_schema]
    assert len(schemas) == len(tools) >= 20
    for schema in schemas:
        validator_for(schema).check_schema(schema)
        assert "$ref" not in json.dumps(schema)
