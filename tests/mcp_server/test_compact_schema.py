"""compact_schema: the published output schemas accept exactly what pydantic's accept,
and nothing in them is one the MCP Inspector's schema lint warns about."""

from __future__ import annotations

import json
from typing import Any

import anyio
from jsonschema.validators import validator_for
from pydantic import BaseModel

from memoryd.client import Client
from memoryd.mcp.backend import ClientBackend
from memoryd.mcp.models import SearchOutput
from memoryd.mcp.schema import ANY_JSON, compact_schema, portable_schema
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
    assert "$ref" not in text and "$defs" not in text
    # One type per branch (portable to single-type dialects), not "type": [...]
    assert compact["properties"]["reason"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
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


class Anything(BaseModel):
    """A field that may hold any JSON value, as ``state_set``'s ``value``."""

    value: Any = None
    nested: dict[str, list[Any]] = {}


def test_any_value_is_spelled_out_and_accepts_the_same() -> None:
    original = Anything.model_json_schema()
    portable = portable_schema(original)
    value = portable["properties"]["value"]
    assert value["anyOf"] == ANY_JSON["anyOf"] and value["title"] == "Value"
    assert portable["properties"]["nested"]["additionalProperties"]["items"] == ANY_JSON
    assert original["properties"]["value"] == {"default": None, "title": "Value"}  # unchanged
    for instance in [{"value": v} for v in (None, 1, 2.5, "x", True, [1, "a"], {"a": {}})]:
        assert _valid(original, instance) and _valid(portable, instance)
    assert not _valid(portable, {"nested": {"a": 3}})


def _lint(schema: Any, path: str = "") -> list[str]:
    """The MCP Inspector CLI's warnings (2.12, ``lintNode``): a ``type`` array, a remote
    ``$ref``, a subschema without any validation keyword."""
    found: list[str] = []
    if isinstance(schema, dict):
        if isinstance(schema.get("type"), list):
            found.append(f"{path}: type array")
        if str(schema.get("$ref", "#")).startswith("#") is False:
            found.append(f"{path}: remote $ref")
        for key, sub in schema.items():
            if key in ("properties", "patternProperties", "$defs") and isinstance(sub, dict):
                for name, child in sub.items():
                    found += _lint_sub(child, f"{path}.{key}.{name}")
            elif key in ("anyOf", "allOf", "oneOf", "prefixItems") and isinstance(sub, list):
                for i, child in enumerate(sub):
                    found += _lint_sub(child, f"{path}.{key}[{i}]")
            elif key in ("items", "additionalProperties", "contains") and isinstance(sub, dict):
                found += _lint_sub(sub, f"{path}.{key}")
    return found


def _lint_sub(schema: Any, path: str) -> list[str]:
    untyped = isinstance(schema, dict) and not (set(schema) - {"title", "description", "default"})
    return [f"{path}: constrains nothing"] * untyped + _lint(schema, path)


def test_every_published_tool_schema_is_compact_portable_and_valid() -> None:
    server = build_server(ClientBackend(Client))  # tools/list never calls the backend
    tools = anyio.run(server.list_tools)
    schemas = [tool.output_schema for tool in tools if tool.output_schema]
    assert len(schemas) == len(tools) >= 20
    for schema in schemas:
        validator_for(schema).check_schema(schema)
        assert "$ref" not in json.dumps(schema)
    warnings = [
        f"{tool.name} {kind}{finding}"
        for tool in tools
        for kind, schema in (("input", tool.input_schema), ("output", tool.output_schema))
        for finding in _lint(schema)
    ]
    assert warnings == []
