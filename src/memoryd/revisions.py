"""Changing entries and their history: ``update`` in place, ``supersede``, ``history``.

``update`` rewrites an entry under the same id (new content is re-embedded
and re-indexed); ``supersede`` writes a new entry and keeps the old one as
history (``superseded_by`` set in the same transaction); ``history`` walks
that chain. The revisions component of :class:`memoryd.Memory`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from memoryd.config import Settings
from memoryd.context import entry_context
from memoryd.errors import Conflict
from memoryd.inputs import coerce_input, coerce_patch, explicit_fields
from memoryd.memories import Memories, checked_vector
from memoryd.records import expiry, record_from_entry, record_from_input
from memoryd.store.filters import dumps
from memoryd.store.rows import row_to_entry
from memoryd.store.sqlite import SQLiteStore
from memoryd.types import MemoryEntry, MemoryInput, MemoryPatch
from memoryd.write_vectors import WriteVectors

__all__ = ["Revisions"]


@dataclass(eq=False)
class Revisions:
    """``update``, ``supersede`` and ``history`` for :class:`memoryd.Memory`.

    Args:
        settings: the engine's settings (``message_context``).
        store: the open store.
        write_vectors: the write-path embedder (re-embeds changed content).
        memories: the memories component (reads an entry by id).
    """

    settings: Settings
    store: SQLiteStore
    write_vectors: WriteVectors
    memories: Memories

    def update(
        self,
        id: UUID | str,
        patch: MemoryPatch | dict[str, Any] | None = None,
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> MemoryEntry:
        """Change an entry in place (same id); new content is re-embedded and re-indexed.

        Raises:
            NotFound, ValidationError, DimensionMismatch.
        """
        change = coerce_patch(patch, fields)
        rowid, entry = self.memories.entry_row(id, namespace)
        now = time.time()
        # null means "keep" for every field but expires_at (where it clears the expiry)
        values = {
            k: v
            for k, v in change.model_dump(exclude_unset=True).items()
            if v is not None or k == "expires_at"
        }
        if not values:
            return entry
        updates: dict[str, Any] = {"updated_at": now}
        for name in ("metadata", "tags", "importance"):
            if name in values:
                updates[name] = values[name]
        if change.ttl_seconds is not None or "expires_at" in values:
            updates["expires_at"] = expiry(change.ttl_seconds, change.expires_at, now)
        if change.content is not None or change.vector is not None:
            context = entry_context(self.store, entry, enabled=self.settings.message_context)
            rec = record_from_entry(
                entry,
                context=context,
                vector=checked_vector(self.store, change.vector),
                **updates,
                **({"content": change.content} if change.content else {}),
            )
            self.write_vectors.fill([rec])
            self.store.writes.replace(rowid, rec)
        else:
            columns = {k: dumps(v) if k in ("metadata", "tags") else v for k, v in updates.items()}
            self.store.writes.update_fields(rowid, namespace=namespace, id=str(entry.id), **columns)
        return self.memories.get(id, namespace=namespace)

    def supersede(
        self,
        id: UUID | str,
        content: str | MemoryInput | dict[str, Any],
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> MemoryEntry:
        """Replace entry ``id`` by a new entry, keeping the old one as history.

        The new entry inherits kind, session, agent, user, tags, metadata and
        importance unless given (in ``content`` or ``**fields``).

        Raises:
            NotFound: no such entry. Conflict: ``id`` was already superseded.
            IdConflict: the new entry's ``id`` (if given) is taken in the namespace.
        """
        _, old = self.memories.entry_row(id, namespace)
        if old.superseded_by is not None:  # checked again inside the write transaction
            raise Conflict(
                f"entry {id} is already superseded by {old.superseded_by}",
                id=str(id),
                superseded_by=str(old.superseded_by),
            )
        inherited = {
            "kind": old.kind,
            "session_id": old.session_id,
            "agent_id": old.agent_id,
            "user_id": old.user_id,
            "tags": old.tags,
            "metadata": old.metadata,
            "importance": old.importance,
        }
        explicit = explicit_fields(content)
        item = coerce_input({**inherited, **explicit, **fields, "namespace": namespace}, {})
        rec = record_from_input(
            item,
            context=entry_context(self.store, old, enabled=self.settings.message_context),
            vector=checked_vector(self.store, item.vector),
            supersedes=str(old.id),
        )
        self.write_vectors.fill([rec])
        rowid = self.store.writes.insert([rec], supersede_id=str(old.id))[0].rowid
        return self.store.fetch([rowid])[rowid]

    def history(self, id: UUID | str, *, namespace: str = "default") -> list[MemoryEntry]:
        """The supersede chain containing ``id``, oldest first. Raises ``NotFound``."""
        _, entry = self.memories.entry_row(id, namespace)
        chain = [entry]
        while chain[0].supersedes is not None:
            row = self.store.get_row(str(chain[0].supersedes), namespace, time.time())
            if row is None:
                break
            chain.insert(0, row_to_entry(row))
        while chain[-1].superseded_by is not None:
            row = self.store.get_row(str(chain[-1].superseded_by), namespace, time.time())
            if row is None:
                break
            chain.append(row_to_entry(row))
        return chain
