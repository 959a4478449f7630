"""Conversation context: the previous turn of a session, indexed with each message.

A conversation turn is indexed in FTS together with the turn before it in
its session (``Settings.message_context``; the LoCoMo gain is in
docs/PERFORMANCE.md): "yes, on Tuesday" is found by what it answered.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from memoryd.store.filters import scope_where
from memoryd.store.sqlite import SQLiteStore
from memoryd.types import MemoryEntry, MemoryInput

__all__ = ["batch_contexts", "entry_context", "previous_turn"]


def previous_turn(
    store: SQLiteStore,
    namespace: str,
    session_id: str,
    before: float | None,
    *,
    exclude_id: str | None = None,
) -> str:
    """Content of the latest message of ``session_id`` at or before ``before`` (epoch s), or "".

    History (superseded turns) counts; ``exclude_id`` leaves one entry out (the turn itself).
    """
    where = scope_where(
        namespace=namespace,
        now=time.time(),
        kinds=["message"],
        session_id=session_id,
        include_superseded=True,
    )
    if exclude_id is not None:
        where.add("m.id != ?", exclude_id)
    if before is not None:
        where.add("m.created_at <= ?", before)
    rows = store.select(where, order="ORDER BY m.created_at DESC, m.rowid DESC", limit=1)
    return str(rows[0]["content"]) if rows else ""


def batch_contexts(
    store: SQLiteStore, items: Sequence[MemoryInput | MemoryEntry], *, enabled: bool
) -> list[str]:
    """Previous-turn text for each message of a batch, in order ("" for other kinds).

    Turns of one session inside the batch follow each other; the first one of
    a session looks up the store (one query per session, not per turn).
    """
    if not enabled:
        return ["" for _ in items]
    last: dict[tuple[str, str], str] = {}
    out: list[str] = []
    for item in items:
        if item.kind != "message" or item.session_id is None:
            out.append("")
            continue
        key = (item.namespace, item.session_id)
        if key not in last:
            before = item.created_at.timestamp() if item.created_at else None
            last[key] = previous_turn(store, item.namespace, item.session_id, before)
        out.append(last[key])
        last[key] = item.content
    return out


def entry_context(store: SQLiteStore, entry: MemoryEntry, *, enabled: bool) -> str:
    """Previous-turn text of a stored message ("" for other kinds or when disabled)."""
    if not enabled or entry.kind != "message" or entry.session_id is None:
        return ""
    return previous_turn(
        store,
        entry.namespace,
        entry.session_id,
        entry.created_at.timestamp(),
        exclude_id=str(entry.id),
    )
