"""Export and import: every entry with its vector, restored losslessly.

The JSONL export format is one :class:`~memoryd.types.MemoryEntry` per line
(ids, times, history links and the float32 vector as a list of floats).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from memoryd.config import Settings
from memoryd.context import batch_contexts
from memoryd.errors import ValidationError
from memoryd.memories import checked_vector
from memoryd.records import record_from_entry
from memoryd.store.sqlite import SQLiteStore
from memoryd.store.transfer import live_rowid_batches, stored_ids
from memoryd.types import MemoryEntry
from memoryd.write_vectors import WriteVectors

__all__ = ["Transfer"]


def _entry(raw: MemoryEntry | dict[str, Any]) -> MemoryEntry:
    """``raw`` as an entry. Raises ``ValidationError`` for an invalid export record."""
    try:
        return raw if isinstance(raw, MemoryEntry) else MemoryEntry.model_validate(raw)
    except ValueError as exc:
        raise ValidationError(f"invalid export record: {exc}") from exc


@dataclass(eq=False)
class Transfer:
    """``export`` and ``import_entries`` for :class:`~memoryd.Memory`.

    Args:
        settings: the engine's settings (``message_context``).
        store: the open store.
        write_vectors: the write-path embedder (imported entries without a vector).
    """

    settings: Settings
    store: SQLiteStore
    write_vectors: WriteVectors

    # --- export / import ----------------------------------------------------
    def export(self, *, namespace: str | None = None, batch: int = 500) -> Iterator[MemoryEntry]:
        """Every entry (all kinds, superseded included, expired excluded) with its vector."""
        for rowids in live_rowid_batches(self.store.pool, namespace=namespace, batch=batch):
            entries = self.store.fetch(rowids, with_vectors=True)
            for rowid in rowids:
                if rowid in entries:
                    yield entries[rowid]

    def import_entries(
        self, entries: Iterable[MemoryEntry | dict[str, Any]], *, batch: int = 500
    ) -> int:
        """Restore exported entries losslessly (ids, times, history links, vectors).

        Entries whose id already exists in their namespace are skipped (the
        same id in another namespace is another entry). Returns how many
        were inserted.
        """
        inserted = 0
        rest = iter(entries)
        while chunk := [_entry(raw) for raw in islice(rest, max(batch, 1))]:
            inserted += self._import_chunk(chunk)
        return inserted

    def _import_chunk(self, chunk: list[MemoryEntry]) -> int:
        # Entries already stored are left out before embedding (a re-import
        # embeds nothing); the insert checks ids again inside its transaction.
        existing = stored_ids(self.store.pool, {(e.namespace, str(e.id)) for e in chunk})
        fresh = [e for e in chunk if (e.namespace, str(e.id)) not in existing]
        contexts = batch_contexts(self.store, fresh, enabled=self.settings.message_context)
        records = [
            record_from_entry(e, context=context, vector=checked_vector(self.store, e.vector))
            for e, context in zip(fresh, contexts, strict=True)
        ]
        self.write_vectors.fill(records)
        placed = self.store.writes.insert(records, existing_ids="skip") if records else []
        return sum(1 for p in placed if p.inserted)
