"""Conversation turns per session (kind ``message``).

Each turn is an entry with ``session_id`` and ``metadata.role``. Its FTS
``context`` column also carries the previous turn of the same session, so an
answer ("Yes, last May") is found by the words of the question before it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from memoryd.bounds import MAX_LAST_MESSAGES, check_count
from memoryd.errors import ValidationError
from memoryd.memories import Memories
from memoryd.store.filters import scope_where
from memoryd.store.rows import row_to_entry
from memoryd.store.sqlite import SQLiteStore
from memoryd.types import MemoryEntry

__all__ = ["Conversations"]


@dataclass(eq=False)
class Conversations:
    """``append``, ``last_messages`` and ``session_messages`` for :class:`memoryd.Memory`.

    Args:
        store: the open store (reads of a session's turns).
        memories: the memories component (a turn is saved through its ``add``).
    """

    store: SQLiteStore
    memories: Memories

    def append(
        self,
        session_id: str,
        content: str,
        *,
        role: str = "user",
        namespace: str = "default",
        created_at: datetime | None = None,
        **fields: Any,
    ) -> MemoryEntry:
        """Append one conversation turn to ``session_id``; returns the stored entry.

        ``role`` is stored as ``metadata["role"]`` (``user``, ``assistant``, a speaker name...).

        Raises:
            ValidationError: ``metadata`` is not a JSON object, or the turn is not a
                valid :class:`~memoryd.types.MemoryInput`.
        """
        given = fields.pop("metadata", {})
        if not isinstance(given, dict):
            raise ValidationError("metadata must be a JSON object", metadata=type(given).__name__)
        metadata = {**given, "role": role}
        return self.memories.add(
            content,
            kind="message",
            session_id=session_id,
            namespace=namespace,
            created_at=created_at,
            metadata=metadata,
            **fields,
        )

    def last_messages(
        self, session_id: str, n: int = 10, *, namespace: str = "default"
    ) -> list[MemoryEntry]:
        """The last ``n`` turns of a session, oldest first.

        Raises:
            ValidationError: ``n`` is not an integer in 1..``MAX_LAST_MESSAGES`` (memoryd.bounds).
        """
        n = check_count(n, "n", high=MAX_LAST_MESSAGES)
        where = scope_where(
            namespace=namespace, now=time.time(), kinds=["message"], session_id=session_id
        )
        rows = self.store.select(where, order="ORDER BY m.created_at DESC, m.rowid DESC", limit=n)
        return [row_to_entry(r) for r in reversed(rows)]

    def session_messages(self, session_id: str, *, namespace: str = "default") -> list[MemoryEntry]:
        """Every turn of a session, oldest first."""
        where = scope_where(
            namespace=namespace, now=time.time(), kinds=["message"], session_id=session_id
        )
        rows = self.store.select(where, order="ORDER BY m.created_at, m.rowid")
        return [row_to_entry(r) for r in rows]
