"""What every MCP tool module shares: the ``tool`` decorator, success and error results.

A success is a structured result (``structuredContent`` plus the same JSON as
text); a memoryd error is an ``isError`` result whose text is
``{"error": {"code", "message", "details"}}`` with the stable code of
:mod:`memoryd.errors`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel

from memoryd.client.routing import Routed
from memoryd.errors import MemorydError
from memoryd.operations import tool_operation

__all__ = ["error_result", "present", "run_tool", "tool"]

Tool = TypeVar("Tool", bound=Callable[..., Any])


def tool(server: MCPServer, name: str) -> Callable[[Tool], Tool]:
    """A decorator that adds the tool ``name`` to ``server``, as the registry declares it.

    The annotations (``readOnlyHint``, ``destructiveHint``, ``idempotentHint``,
    ``openWorldHint``) come from the operation the tool serves
    (:func:`memoryd.operations.tool_operation`); the description and the
    input and output schemas from the decorated function.

    Raises:
        KeyError: no operation declares the tool ``name``.
    """
    hints = tool_operation(name).annotations
    return server.tool(name=name, annotations=ToolAnnotations(**hints))


def error_result(exc: MemorydError) -> CallToolResult:
    """An ``isError`` tool result whose text is ``{"error": {"code", "message", "details"}}``.

    No ``structuredContent``: clients validate it against the tool's output
    schema (the TypeScript SDK does even for errors), which describes success.
    """
    body = {"error": exc.to_dict()}
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(body, default=str))], is_error=True
    )


def _ok(output: BaseModel, *, compact: bool) -> CallToolResult:
    data = output.model_dump(mode="json", exclude_none=compact)
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(data))], structured_content=data
    )


async def run_tool(
    call: Awaitable[Routed[Any]],
    render: Callable[[Routed[Any]], BaseModel],
    *,
    compact: bool = True,
) -> CallToolResult:
    """Await a backend call and render it as a structured result, or its error as ``isError``.

    ``compact`` leaves ``null`` fields out of the JSON (fewer tokens, faster
    client-side schema checks: 3.8 → 1.6 ms for a 10-hit search); only for
    outputs whose nullable fields all have defaults (our memory outputs).
    """
    try:
        routed = await call
    except MemorydError as exc:
        return error_result(exc)
    return _ok(render(routed), compact=compact)


def present(**values: Any) -> dict[str, Any]:
    """Keyword arguments with the unset (``None``) ones left out."""
    return {key: value for key, value in values.items() if value is not None}
