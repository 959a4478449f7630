"""Conversation turns per session (kind ``message``).

Each turn is an entry with ``session_id`` and ``metadata.role``. Its FTS
``context`` column and its embedding also carry the previous turn of the
same session (see :func:`memoryd.records.embed_text_for`).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from memoryd.store.filters import scope_where
from memoryd.store.rows import row_to_entry
from memoryd.types import MemoryEntry, MemoryInput

if TYPE_CHECKING:
    from memoryd.engine import Memory

__all__ = ["ConversationsMixin"]


class ConversationsMixin:
    """``append``, ``last_messages`` and ``session_messages`` for :class:`Memory`."""

    def _previous_turn(self: Memory, namespace: str, session_id: str, before: float | None) -> str:
        where = scope_where(namespace=namespace, now=time.time(), kinds=["message"],
                            session_id=session_id, include_superseded=True)
        if before is not None:
            where.add("m.created_at <= ?", before)
        rows = self.store.select(where, order="ORDER BY m.created_at DESC, m.rowid DESC", limit=1)
        return str(rows[0]["content"]) if rows else ""

    def _contexts(self: Memory, items: list[MemoryInput]) -> list[str]:
        """Previous-turn text for each message of a batch ("" for other kinds)."""
        if not self.settings.message_context:
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
                last[key] = self._previous_turn(item.namespace, item.session_id, before)
            out.append(last[key])
            last[key] = item.content
        return out

    def _context_of(self: Memory, entry: MemoryEntry) -> str:
        """Previous-turn text of a stored message ("" for other kinds)."""
        if not self.settings.message_context or entry.kind != "message" or entry.session_id is None:
            return ""
        where = scope_where(namespace=entry.namespace, now=time.time(), kinds=["message"],
                            session_id=entry.session_id, include_superseded=True)
        where.add("m.id != ?", str(entry.id))
        where.add("m.created_at <= ?", entry.created_at.timestamp())
        rows = self.store.select(where, order="ORDER BY m.created_at DESC, m.rowid DESC", limit=1)
        return str(rows[0]["content"]) if rows else ""

    def append(self: Memory, session_id: str, content: str, *, role: str = "user",
               namespace: str = "default", created_at: datetime | None = None,
               **fields: Any) -> MemoryEntry:
        """Append one conversation turn to ``session_id``; returns the stored entry.

        ``role`` is stored as ``metadata["role"]`` (``user``, ``assistant``, a speaker name...).
        """
        metadata = {**fields.pop("metadata", {}), "role": role}
        return self.add(content, kind="message", session_id=session_id, namespace=namespace,
                        created_at=created_at, metadata=metadata, **fields)

    def last_messages(self: Memory, session_id: str, n: int = 10, *,
                      namespace: str = "default") -> list[MemoryEntry]:
        """The last ``n`` turns of a session, oldest first."""
        where = scope_where(namespace=namespace, now=time.time(), kinds=["message"],
                            session_id=session_id)
        rows = self.store.select(where, order="ORDER BY m.created_at DESC, m.rowid DESC",
                                 limit=max(1, n))
        return [row_to_entry(r) for r in reversed(rows)]

    def session_messages(self: Memory, session_id: str, *,
                         namespace: str = "default") -> list[MemoryEntry]:
        """Every turn of a session, oldest first."""
        where = scope_where(namespace=namespace, now=time.time(), kinds=["message"],
                            session_id=session_id)
        rows = self.store.select(where, order="ORDER BY m.created_at, m.rowid")
        return [row_to_entry(r) for r in rows]
