"""What every MCP tool's result is: a structured success, or a memoryd error as ``isError``.

A success is a structured result (``structuredContent`` plus the same JSON as
text); a memoryd error is an ``isError`` result whose text is
``{"error": {"code", "message", "details"}}`` with the stable code of
:mod:`memoryd.errors`. :func:`fit_result` keeps a result's JSON under the
server's size limit by leaving items out of the list its output model names
(:class:`memoryd.mcp.models.Cut`), saying so in ``truncated`` and ``omitted``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from mcp_types import CallToolResult, InputRequiredResult, TextContent
from pydantic import BaseModel

from memoryd.errors import MemorydError
from memoryd.mcp.models import Cut

__all__ = ["error_result", "fit_result", "ok_result", "present"]


def error_result(exc: MemorydError) -> CallToolResult:
    """An ``isError`` tool result whose text is ``{"error": {"code", "message", "details"}}``.

    No ``structuredContent``: clients validate it against the tool's output
    schema (the TypeScript SDK does even for errors), which describes success.
    """
    body = {"error": exc.to_dict()}
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(body, default=str))], is_error=True
    )


def ok_result(output: BaseModel, *, compact: bool) -> CallToolResult:
    """``output`` as a structured result; ``compact`` leaves its ``null`` fields out."""
    return _structured(output.model_dump(mode="json", exclude_none=compact))


def _structured(data: dict[str, Any]) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(data))], structured_content=data
    )


def _size(result: CallToolResult) -> int:
    """UTF-8 bytes of the result's JSON text (its first text block)."""
    text = next((c.text for c in result.content if isinstance(c, TextContent)), "")
    return len(text.encode())


def _shortened(data: dict[str, Any], cut: Cut, keep: int, total: int) -> dict[str, Any]:
    items: list[Any] = data[cut.field]
    kept = items[:keep] if cut.keep == "first" else items[len(items) - keep :]
    return {**data, cut.field: kept, "truncated": True, "omitted": total - len(kept)}


def _largest_fit(data: dict[str, Any], cut: Cut, max_bytes: int, total: int) -> int:
    """The most items (at least 1) whose shortened JSON fits ``max_bytes``.

    Exact without re-encoding the result for each count: ``json.dumps`` output
    is ASCII (``ensure_ascii``), so characters are bytes; the list holds the
    items' own encodings joined by ``", "``, and ``omitted`` is the one other
    part whose length changes with the count.
    """
    items: list[Any] = data[cut.field]
    ordered = items if cut.keep == "first" else items[::-1]
    base = len(json.dumps(_shortened(data, cut, 0, total))) - len(str(total))
    best, joined = 1, 0
    for kept, item in enumerate(ordered, 1):
        joined += len(json.dumps(item)) + (2 if kept > 1 else 0)
        if base + joined + len(str(total - kept)) > max_bytes:
            break
        best = kept
    return best


async def fit_result(
    result: CallToolResult,
    output_model: Any,
    max_bytes: int,
    *,
    refetch: Callable[[dict[str, Any]], Awaitable[CallToolResult | InputRequiredResult]],
) -> CallToolResult | InputRequiredResult:
    """``result``, or a shorter one whose JSON text is at most ``max_bytes`` UTF-8 bytes.

    Only successful structured results of an output model with a ``CUT``
    (:class:`~memoryd.mcp.models.Cut`) are shortened: whole items are left out
    of ``CUT.field`` from the end ``CUT.keep`` does not keep, the result says
    ``truncated: true`` and ``omitted`` (how many of the items it would have
    held are not in it), and the text stays the same JSON as
    ``structuredContent``. At least one item is kept: one item is never cut
    in half, so a single item larger than ``max_bytes`` comes whole and the
    result is over the limit. With ``CUT.refetch`` (a page with a cursor) the
    call is made again asking for only the items that fit, so the page's
    ``next_cursor`` follows its last item and nothing is skipped.

    Args:
        result: the tool's result.
        output_model: the tool's output model (``FuncMetadata.output_model``).
        max_bytes: ``Settings.mcp_max_result_bytes``.
        refetch: runs the tool again with the given arguments changed (``CUT.refetch``: a count).

    Returns:
        ``result`` itself when it fits, is an error, or has at most one item;
        the second call's answer as it came if that is an error.
    """
    cut: Cut | None = getattr(output_model, "CUT", None)
    data = result.structured_content
    if cut is None or result.is_error or data is None or _size(result) <= max_bytes:
        return result
    total = len(data.get(cut.field) or ())
    if total <= 1:
        return result
    while True:
        keep = _largest_fit(data, cut, max_bytes, total)
        if cut.refetch is None:
            return _structured(_shortened(data, cut, keep, total))
        again = await refetch({cut.refetch: keep})
        if not isinstance(again, CallToolResult) or again.is_error:
            return again
        data = again.structured_content or {}
        page = len(data.get(cut.field) or ())
        shortened = {**data, "truncated": True, "omitted": max(total - page, 0)}
        if len(json.dumps(shortened).encode()) <= max_bytes or page <= 1:
            return _structured(shortened)


def present(**values: Any) -> dict[str, Any]:
    """Keyword arguments with the unset (``None``) ones left out."""
    return {key: value for key, value in values.items() if value is not None}
