"""Session state and key/value entries, addressed by deterministic ids.

``state``: ``uuid5(ns, f"{namespace}/state/{session_id}/{key}")``;
``kv``: ``uuid5(ns, f"{namespace}/kv/{key}")``. Re-saving updates in place.
Values are any JSON value, kept in ``metadata["value"]``; ``content`` holds
``"key: <json>"`` so they are searchable too. Key/value entries may carry a
TTL (seconds); expired entries are never returned and are purged.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from memoryd.errors import IdConflict, NotFound, ValidationError
from memoryd.ids import deterministic_id
from memoryd.inputs import MISSING
from memoryd.memories import Memories
from memoryd.records import expiry, record_from_entry
from memoryd.store.filters import dumps
from memoryd.store.rows import row_to_entry
from memoryd.store.sqlite import SQLiteStore
from memoryd.types import MAX_TTL_SECONDS, MemoryEntry, check_metadata
from memoryd.write_vectors import WriteVectors

__all__ = ["KeyedState"]


def _content(key: str, value: Any) -> str:
    try:
        return f"{key}: {json.dumps(value, ensure_ascii=False, sort_keys=True)}"
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"value for {key!r} is not JSON-serialisable") from exc


def _record_id(namespace: str, kind: str, key: str, session_id: str | None) -> str:
    return str(deterministic_id(namespace, kind, f"{session_id}/{key}" if session_id else key))


@dataclass(eq=False)
class KeyedState:
    """``set_state``/``get_state``/``delete_state`` and ``kv_set``/``kv_get``/``kv_delete``.

    The deterministic id of a key may be held by an entry of another kind in
    the same namespace (an ``add`` with a caller-chosen id): that entry is
    never read, overwritten or deleted through the key; setting the key
    raises ``IdConflict``.

    Args:
        store: the open store.
        write_vectors: the write-path embedder (re-embeds a changed value).
        memories: the memories component (a new key is saved through its ``add``).
    """

    store: SQLiteStore
    write_vectors: WriteVectors
    memories: Memories

    def _own_row(
        self, namespace: str, kind: str, id: str, now: float
    ) -> tuple[int, MemoryEntry] | None:
        """The live row of ``id`` if it is of ``kind``; ``IdConflict`` if another kind holds it."""
        row = self.store.get_row(id, namespace, now)
        if row is None:
            return None
        if row["kind"] != kind:
            raise IdConflict(
                f"the id {id} of this {kind} key is held by an entry of kind "
                f"{row['kind']!r} in namespace {namespace!r}",
                id=id,
                namespace=namespace,
            )
        return int(row["rowid"]), row_to_entry(row)

    def _upsert(
        self,
        namespace: str,
        kind: str,
        key: str,
        session_id: str | None,
        value: Any,
        ttl_seconds: float | None = None,
    ) -> MemoryEntry:
        if not key or len(key) > 512:
            raise ValidationError("key must be 1-512 characters", key=key[:64])
        id = _record_id(namespace, kind, key, session_id)
        metadata = {"key": key, "value": value}
        try:  # an update below bypasses MemoryInput, so check the value here
            check_metadata(metadata)
        except ValueError as exc:
            raise ValidationError(f"invalid value for {key!r}: {exc}", key=key[:64]) from exc
        content = _content(key, value)
        fields = {"kind": kind, "session_id": session_id, "metadata": metadata}
        retries = 2  # another writer may create or delete the key between our steps
        while True:
            now = time.time()
            own = self._own_row(namespace, kind, id, now)  # IdConflict: another kind holds it
            try:
                if own is None:
                    return self.memories.add(
                        content, id=id, namespace=namespace, ttl_seconds=ttl_seconds, **fields
                    )
                return self._rewrite(own, content, metadata, ttl_seconds, now)
            except (IdConflict, NotFound):  # created (so update it) or deleted (so add it)
                if retries == 0:
                    raise
                retries -= 1

    def _rewrite(
        self,
        own: tuple[int, MemoryEntry],
        content: str,
        metadata: dict[str, Any],
        ttl_seconds: float | None,
        now: float,
    ) -> MemoryEntry:
        """Update a key's entry in place (re-embedded only when its text changed)."""
        rowid, entry = own
        rec = record_from_entry(
            entry,
            content=content,
            metadata=metadata,
            updated_at=now,
            expires_at=expiry(ttl_seconds, None, now),
        )
        if rec.content_hash == entry.content_hash:
            self.store.writes.update_fields(
                rowid,
                namespace=entry.namespace,
                id=str(entry.id),
                metadata=dumps(metadata),
                updated_at=now,
                expires_at=rec.expires_at,
            )
        else:
            self.write_vectors.fill([rec])
            self.store.writes.replace(rowid, rec)
        return self.memories.get(entry.id, namespace=entry.namespace)

    def _lookup(
        self, namespace: str, kind: str, key: str, session_id: str | None, default: Any
    ) -> Any:
        id = _record_id(namespace, kind, key, session_id)
        row = self.store.get_row(id, namespace, time.time())
        if row is not None and row["kind"] == kind:
            return row_to_entry(row).metadata.get("value")
        if default is MISSING:  # the same answer as for a key never set
            raise NotFound.entry(id, namespace)
        return default

    def _remove(self, namespace: str, kind: str, key: str, session_id: str | None) -> bool:
        return self.store.writes.delete_entry(
            namespace, _record_id(namespace, kind, key, session_id), kind=kind
        )

    def set_state(
        self, session_id: str, key: str, value: Any, *, namespace: str = "default"
    ) -> MemoryEntry:
        """Save a JSON ``value`` under ``(session_id, key)``; returns the entry."""
        return self._upsert(namespace, "state", key, session_id, value)

    def get_state(
        self,
        session_id: str,
        key: str,
        default: Any = MISSING,
        *,
        namespace: str = "default",
    ) -> Any:
        """The value under ``(session_id, key)``; ``default`` if given, else ``NotFound``."""
        return self._lookup(namespace, "state", key, session_id, default)

    def delete_state(self, session_id: str, key: str, *, namespace: str = "default") -> bool:
        """Delete a state value; ``False`` if there was none."""
        return self._remove(namespace, "state", key, session_id)

    def kv_set(
        self,
        key: str,
        value: Any,
        *,
        ttl_seconds: float | None = None,
        namespace: str = "default",
    ) -> MemoryEntry:
        """Save a JSON ``value`` under ``key``, optionally expiring after ``ttl_seconds``."""
        if ttl_seconds is not None and not 0 < ttl_seconds <= MAX_TTL_SECONDS:
            raise ValidationError(
                f"ttl_seconds must be positive and at most {MAX_TTL_SECONDS:.0f} (100 years)",
                ttl_seconds=ttl_seconds,
            )
        return self._upsert(namespace, "kv", key, None, value, ttl_seconds)

    def kv_get(self, key: str, default: Any = MISSING, *, namespace: str = "default") -> Any:
        """The value under ``key``; ``default`` if given, else ``NotFound``."""
        return self._lookup(namespace, "kv", key, None, default)

    def kv_delete(self, key: str, *, namespace: str = "default") -> bool:
        """Delete a key; ``False`` if there was none."""
        return self._remove(namespace, "kv", key, None)
