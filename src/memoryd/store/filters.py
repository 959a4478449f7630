"""Translate search/list filters into SQL ``WHERE`` fragments with parameters.

Every value is bound as a parameter; field names are validated by
``types.Condition`` and mapped either to a known column or to a JSON path
inside ``metadata`` (bound as a parameter too), so no user text is ever
spliced into SQL. A value SQLite cannot bind (an integer beyond 64 bits, a
string with a lone surrogate) is an ``InvalidQuery`` (400), never a 500.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from memoryd.errors import InvalidQuery
from memoryd.types import Filter

__all__ = ["SqlWhere", "compile_filter", "scope_where"]

#: Filterable columns of ``memories`` (all other fields are metadata paths).
COLUMNS = {
    "agent_id": "m.agent_id",
    "user_id": "m.user_id",
    "session_id": "m.session_id",
    "kind": "m.kind",
    "importance": "m.importance",
}
_CMP = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@dataclass
class SqlWhere:
    """AND-ed SQL conditions over alias ``m`` (``memories``) and their parameters."""

    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *params: Any) -> None:
        """Append one condition with its parameters."""
        self.clauses.append(clause)
        self.params.extend(params)

    def sql(self) -> str:
        """``"c1 AND c2 ..."`` (``"1"`` when empty)."""
        return " AND ".join(f"({c})" for c in self.clauses) or "1"


def _json_path(name: str) -> str:
    path = name.removeprefix("metadata.")
    return "$" + "".join(f'."{part}"' for part in path.split("."))


_INT64 = (-(2**63), 2**63 - 1)  # SQLite INTEGER range (https://sqlite.org/datatype3.html)


def _text(value: Any) -> str:
    """``str(value)``, refused when SQLite cannot bind it (lone surrogates are not UTF-8)."""
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidQuery(
            "a filter, tag or session_id is not valid Unicode text (lone surrogate)",
            reason="not_unicode",
        ) from exc
    return text


def _sql_value(value: Any) -> Any:
    """A filter value as bound to SQLite.

    Raises:
        InvalidQuery: an integer outside SQLite's 64-bit range, or a string
            that is not valid Unicode (SQLite would fail on it: a 500 otherwise).
    """
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
        raise InvalidQuery(
            "filter value is outside the 64-bit integer range", reason="integer_range"
        )
    if isinstance(value, str):
        return _text(value)
    return value


def _condition(name: str, op: str, value: Any) -> tuple[str, list[Any]]:
    if name in COLUMNS:
        expr, params = COLUMNS[name], []
    else:
        expr, params = "json_extract(m.metadata, ?)", [_json_path(name)]
    if op in _CMP:
        if value is None and op in ("eq", "ne"):
            return f"{expr} IS {'NOT ' if op == 'ne' else ''}NULL", params
        return f"{expr} {_CMP[op]} ?", [*params, _sql_value(value)]
    if op in ("in", "nin"):
        marks = ", ".join("?" for _ in value)
        neg = "NOT " if op == "nin" else ""
        clause = f"{expr} {neg}IN ({marks})"
        if op == "nin":
            clause = f"({expr} IS NULL OR {clause})"
            params = params * 2
        return clause, [*params, *(_sql_value(v) for v in value)]
    # contains: substring of a string value, or element of a JSON array value.
    if name in COLUMNS:
        return f"instr({expr}, ?) > 0", [_text(value)]
    path = params[0]
    clause = (
        "CASE json_type(m.metadata, ?) WHEN 'array' THEN "
        "EXISTS (SELECT 1 FROM json_each(m.metadata, ?) WHERE value = ?) "
        "ELSE instr(json_extract(m.metadata, ?), ?) > 0 END"
    )
    return clause, [path, path, _sql_value(value), path, _text(value)]


def compile_filter(node: Filter) -> tuple[str, list[Any]]:
    """SQL for a :class:`~memoryd.types.Filter` tree.

    Returns:
        ``(sql, params)``; ``sql`` refers to columns of alias ``m``.
    """
    if node.and_ is not None:
        parts = [compile_filter(child) for child in node.and_]
        if not parts:
            return "1", []
        return " AND ".join(f"({s})" for s, _ in parts), [p for _, ps in parts for p in ps]
    if node.or_ is not None:
        parts = [compile_filter(child) for child in node.or_]
        if not parts:
            return "0", []
        return " OR ".join(f"({s})" for s, _ in parts), [p for _, ps in parts for p in ps]
    if node.not_ is not None:
        sql, params = compile_filter(node.not_)
        return f"NOT ({sql})", params
    assert node.field is not None
    return _condition(node.field, node.op, node.value)


def scope_where(
    *,
    namespace: str,
    now: float,
    kinds: list[str] | None = None,
    session_id: str | None = None,
    tags: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    filter: Filter | None = None,
    include_superseded: bool = False,
) -> SqlWhere:
    """The WHERE conditions every read applies: namespace, expiry, history, filters.

    ``tags`` matches entries having at least one of the tags. ``now`` is unix seconds.

    Raises:
        InvalidQuery: a ``session_id``, tag or filter value SQLite cannot bind.
    """
    where = SqlWhere()
    where.add("m.namespace = ?", namespace)
    where.add("m.expires_at IS NULL OR m.expires_at > ?", now)
    if not include_superseded:
        where.add("m.superseded_by IS NULL")
    if kinds:
        where.add(f"m.kind IN ({', '.join('?' for _ in kinds)})", *kinds)
    if session_id is not None:
        where.add("m.session_id = ?", _text(session_id))
    if tags:
        marks = ", ".join("?" for _ in tags)
        where.add(
            f"EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value IN ({marks}))",  # nosec B608 # constant SQL, '?' marks; values bound
            *(_text(tag) for tag in tags),
        )  # nosec B608 # constant SQL, '?' marks; values bound
    if since is not None:
        where.add("m.created_at >= ?", since.timestamp())
    if until is not None:
        where.add("m.created_at < ?", until.timestamp())
    if filter is not None:
        sql, params = compile_filter(filter)
        where.add(sql, *params)
    return where


def dumps(value: Any) -> str:
    """Compact JSON used for the ``metadata`` and ``tags`` columns."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
