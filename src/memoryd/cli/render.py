"""Rendering command results on stdout: ``table`` (rich), ``json`` or ``yaml``.

Commands hand over pydantic models (or plain JSON-able values); this module
is the only place that knows the output formats. Vectors are never printed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any

import yaml
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from memoryd.types import MemoryEntry, Page, SearchResult

__all__ = ["OutputFormat", "render", "rows_table", "stderr_console"]

_PREVIEW = 80


class OutputFormat(StrEnum):
    """``--format`` values."""

    table = "table"
    json = "json"
    yaml = "yaml"


def stderr_console() -> Console:
    """A rich console on the current ``sys.stderr`` (progress, notes)."""
    return Console(file=sys.stderr, highlight=False)


_NO_VECTORS: dict[type[BaseModel], Any] = {
    MemoryEntry: {"vector"},
    SearchResult: {"hits": {"__all__": {"entry": {"vector"}}}},
    Page: {"items": {"__all__": {"vector"}}},
}


def _plain(value: Any) -> Any:
    """JSON-able data for ``value`` (models dumped without vectors)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude=_NO_VECTORS.get(type(value)))
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _PREVIEW else flat[: _PREVIEW - 1] + "…"


def rows_table(
    columns: Sequence[str], rows: Iterable[Sequence[str]], *, title: str | None = None
) -> Table:
    """A rich table of ``rows`` under ``columns``: an ``id`` column folds, others end in "…"."""
    table = Table(title=title)
    for name in columns:
        table.add_column(name, overflow="fold" if name == "id" else "ellipsis")
    for row in rows:
        table.add_row(*row)
    return table


def _entries_table(entries: Sequence[MemoryEntry]) -> Table:
    columns = ("id", "namespace", "kind", "created_at", "tags", "content")
    rows = (
        (
            str(entry.id),
            entry.namespace,
            entry.kind,
            entry.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            ",".join(entry.tags),
            _preview(entry.content),
        )
        for entry in entries
    )
    return rows_table(columns, rows)


def _hits_table(result: SearchResult) -> Table:
    explain = any(hit.explain is not None for hit in result.hits)
    title = f"{len(result.hits)} hits ({result.mode}, {result.took_ms:.1f} ms)"
    if result.degraded:
        title += " [degraded]"
    columns = ["#", "score", "id", "kind", "content"]
    if explain:
        columns[2:2] = ["bm25", "vector", "fusion"]
    rows: list[list[str]] = []
    for rank, hit in enumerate(result.hits, start=1):
        row = [str(rank), f"{hit.score:.3f}", str(hit.entry.id), hit.entry.kind]
        row.append(_preview(hit.entry.content))
        if explain and hit.explain is not None:
            part = hit.explain
            row[2:2] = [
                "-" if part.bm25_rank is None else str(part.bm25_rank),
                "-" if part.vector_rank is None else str(part.vector_rank),
                f"{part.fusion:.3f}",
            ]
        rows.append(row)
    return rows_table(columns, rows, title=title)


def _mapping_table(data: dict[str, Any]) -> Table:
    table = Table(show_header=True)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for key, value in data.items():
        if isinstance(value, (dict, list)):
            text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        else:
            text = "" if value is None else str(value)
        table.add_row(key, text)
    return table


def _table(value: Any) -> Any:
    if isinstance(value, SearchResult):
        return _hits_table(value)
    if isinstance(value, Page):
        return _entries_table(value.items)
    if isinstance(value, BaseModel):
        return _mapping_table(_plain(value))
    if isinstance(value, dict):
        return _mapping_table(value)
    return str(value)


def render(value: Any, output: OutputFormat, *, table: Any = None) -> None:
    """Print ``value`` on stdout in ``output`` format.

    ``table`` overrides what is drawn in table mode (a rich renderable), for
    commands with a custom layout.
    """
    if output is OutputFormat.table:
        console = Console(file=sys.stdout, soft_wrap=False, highlight=False)
        console.print(table if table is not None else _table(value))
        if isinstance(value, Page) and value.next_cursor:
            stderr_console().print(f"next cursor: {value.next_cursor}")
        return
    data = _plain(value)
    if output is OutputFormat.json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
