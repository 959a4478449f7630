"""Tool schemas that clients validate quickly and map onto any schema dialect.

MCP clients check every structured result against the tool's published
output schema. The Python SDK does it with ``jsonschema``, whose cost grows
with each ``$ref`` it resolves; pydantic emits one for every nested model
(``$defs``). :func:`compact_schema` inlines them, so a 10-hit
``memory_search`` result validates without resolving references
(docs/PERFORMANCE.md). :class:`CompactSchemaServer` publishes the compact
form in ``tools/list``, in the order the tools are declared
(:func:`memoryd.mcp.tools.build_server`, then
:func:`memoryd.mcp.learning_tools.register_learning_tools`), and keeps tool
results under ``max_result_bytes`` (:mod:`memoryd.mcp.results`).

Portability (the MCP Inspector CLI's schema lint, ``--cli --method
tools/list``): a nullable field stays ``anyOf: [{type: T}, {type: null}]``
(one ``type`` per branch, which single-type dialects such as the OpenAPI
subset of Gemini function declarations accept), and a value that may be any
JSON (``typing.Any``) is spelled as :data:`ANY_JSON`, the ``anyOf`` of the
six JSON types, instead of ``{}``: the same set of instances, said
explicitly.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.context import Context
from mcp_types import CallToolResult, InputRequiredResult, Tool

from memoryd.mcp.results import fit_result

__all__ = ["ANY_JSON", "CompactSchemaServer", "compact_schema", "portable_schema"]

#: Every JSON value (RFC 8259 section 3; JSON Schema 2020-12 "type": ``integer`` is a ``number``).
ANY_JSON: dict[str, Any] = {
    "anyOf": [
        {"type": "object"},
        {"type": "array"},
        {"type": "string"},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
    ]
}

# Keywords that constrain an instance (JSON Schema 2020-12 validation and applicator
# vocabularies). A schema object with none of them accepts every value.
_CONSTRAINING = frozenset(
    {
        "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
        "exclusiveMinimum", "maxLength", "minLength", "pattern", "format", "maxItems",
        "minItems", "uniqueItems", "maxContains", "minContains", "maxProperties",
        "minProperties", "required", "dependentRequired", "allOf", "anyOf", "oneOf", "not",
        "items", "prefixItems", "contains", "additionalItems", "unevaluatedItems",
        "properties", "patternProperties", "additionalProperties", "unevaluatedProperties",
        "propertyNames", "dependentSchemas", "dependencies", "$ref", "$dynamicRef",
        "$recursiveRef", "if",
    }
)  # fmt: skip
# Keywords whose value is a map of name -> subschema, and those whose value is a subschema.
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})
_SCHEMA_VALUES = frozenset(
    {"items", "additionalProperties", "contains", "propertyNames", "not", "if", "then", "else"}
)
_SCHEMA_LISTS = frozenset({"anyOf", "allOf", "oneOf", "prefixItems"})


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An equivalent, portable JSON Schema with local ``$ref``s inlined.

    * ``{"$ref": "#/$defs/Name"}`` is replaced by the definition (sibling keys
      such as ``description`` are kept). A recursive model's inner ``$ref`` (and any
      ``$ref`` that is not ``#/$defs/...``) stays, and so does ``$defs`` then.
    * Then :func:`portable_schema` (explicit "any JSON value").

    Args:
        schema: a JSON Schema object, as pydantic generates it.

    Returns:
        A new dict; ``schema`` is not changed.
    """
    defs: dict[str, Any] = schema.get("$defs", {})
    kept: list[str] = []
    out: dict[str, Any] = _inline({k: v for k, v in schema.items() if k != "$defs"}, defs, (), kept)
    if kept and defs:
        out["$defs"] = defs
    return portable_schema(out)


def _inline(node: Any, defs: dict[str, Any], seen: tuple[str, ...], kept: list[str]) -> Any:
    if isinstance(node, list):
        return [_inline(item, defs, seen, kept) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    ref = node.get("$ref")
    name = ref.removeprefix("#/$defs/") if isinstance(ref, str) else None
    if name is not None and name != ref and name in defs and name not in seen:
        out.update(_inline(defs[name], defs, (*seen, name), kept))
    elif ref is not None:
        kept.append(str(ref))
        out["$ref"] = ref
    for key, value in node.items():
        if key != "$ref":
            out[key] = _inline(value, defs, seen, kept)
    return out


def portable_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every subschema that constrains nothing spelled as :data:`ANY_JSON`.

    A subschema object with no validation keyword (pydantic's ``{}`` for
    ``typing.Any``, perhaps with ``title``/``description``/``default``) accepts
    every JSON value; it keeps its annotations and gains :data:`ANY_JSON`'s
    ``anyOf``, which accepts the same values. The root and ``not``'s operand
    are left as they are. Nothing else changes.

    Args:
        schema: a JSON Schema object.

    Returns:
        A new dict; ``schema`` is not changed.
    """
    out: dict[str, Any] = _spell_any(schema, root=True)
    return out


def _spell_any(node: Any, *, root: bool = False) -> Any:
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _spell_any(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_spell_any(sub) for sub in value]
        elif key in _SCHEMA_VALUES and isinstance(value, dict):
            out[key] = value if key == "not" else _spell_any(value)
        else:
            out[key] = value
    if not root and not _CONSTRAINING.intersection(out):
        out.update(ANY_JSON)
    return out


class CompactSchemaServer(MCPServer):
    """An ``MCPServer`` with compact, portable tool schemas and size-capped results.

    ``tools/list`` lists the tools in declaration order, each output schema
    passed through :func:`compact_schema` and each input schema through
    :func:`portable_schema`. Results are still produced and checked
    server-side from the same pydantic models; only the published form of
    their schema changes. ``tools/call`` results are cut to
    ``max_result_bytes`` by :func:`memoryd.mcp.results.fit_result`.

    Args:
        max_result_bytes: the largest JSON text of a tool result, in UTF-8
            bytes (``Settings.mcp_max_result_bytes``).
        **kwargs: passed to ``MCPServer``.
    """

    def __init__(self, *args: Any, max_result_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_result_bytes = max_result_bytes

    async def list_tools(self) -> list[Tool]:
        """The registered tools in declaration order, schemas compacted."""
        return [
            tool.model_copy(
                update={
                    "input_schema": portable_schema(tool.input_schema),
                    "output_schema": compact_schema(tool.output_schema)
                    if tool.output_schema
                    else None,
                }
            )
            for tool in await super().list_tools()
        ]

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Run the tool; a result longer than ``max_result_bytes`` is cut (:func:`fit_result`)."""
        result = await super().call_tool(name, arguments, context)
        tool = self._tool_manager.get_tool(name)
        if not isinstance(result, CallToolResult) or tool is None:
            return result

        async def again(changes: dict[str, Any]) -> CallToolResult | InputRequiredResult:
            return await super(CompactSchemaServer, self).call_tool(
                name, {**arguments, **changes}, context
            )

        return await fit_result(
            result, tool.fn_metadata.output_model, self.max_result_bytes, refetch=again
        )
