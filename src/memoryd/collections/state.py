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
from typing import Any

from memoryd.core import EngineCore
from memoryd.errors import NotFound, ValidationError
from memoryd.ids import deterministic_id
from memoryd.records import expiry, record_from_entry
from memoryd.store.filters import dumps
from memoryd.types import MAX_TTL_SECONDS, MemoryEntry, check_metadata

__all__ = ["StateMixin"]

_MISSING: Any = object()


def _content(key: str, value: Any) -> str:
    try:
        return f"{key}: {json.dumps(value, ensure_ascii=False, sort_keys=True)}"
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"value for {key!r} is not JSON-serialisable") from exc


class StateMixin(EngineCore):
    """``set_state``/``get_state``/``delete_state`` and ``kv_set``/``kv_get``/``kv_delete``."""

    def _upsert(
        self,
        *,
        namespace: str,
        kind: str,
        key: str,
        value: Any,
        session_id: str | None,
        ttl_seconds: float | None,
    ) -> MemoryEntry:
        if not key or len(key) > 512:
            raise ValidationError("key must be 1-512 characters", key=key[:64])
        id = deterministic_id(namespace, kind, f"{session_id}/{key}" if session_id else key)
        metadata = {"key": key, "value": value}
        try:  # an update below bypasses MemoryInput, so check the value here
            check_metadata(metadata)
        except ValueError as exc:
            raise ValidationError(f"invalid value for {key!r}: {exc}", key=key[:64]) from exc
        content = _content(key, value)
        now = time.time()
        row = self.store.get_row(str(id), namespace, now)
        if row is None:
            # A stale expired row with this id may still exist until purged.
            self.store.purge_expired(now)
            return self.add(
                content,
                id=id,
                kind=kind,
                namespace=namespace,
                session_id=session_id,
                metadata=metadata,
                ttl_seconds=ttl_seconds,
            )
        rowid, entry = int(row["rowid"]), self.get(id, namespace=namespace)
        rec = record_from_entry(
            entry,
            content=content,
            metadata=metadata,
            updated_at=now,
            expires_at=expiry(ttl_seconds, None, now),
        )
        if rec.content_hash == entry.content_hash:
            self.store.update_fields(
                rowid, metadata=dumps(metadata), updated_at=now, expires_at=rec.expires_at
            )
        else:
            self._embed_records([rec])
            self.store.replace(rowid, rec)
        return self.get(id, namespace=namespace)

    def _lookup(
        self, namespace: str, kind: str, key: str, session_id: str | None, default: Any
    ) -> Any:
        id = deterministic_id(namespace, kind, f"{session_id}/{key}" if session_id else key)
        try:
            return self.get(id, namespace=namespace).metadata.get("value")
        except NotFound:
            if default is _MISSING:
                raise
            return default

    def _remove(self, namespace: str, kind: str, key: str, session_id: str | None) -> bool:
        id = deterministic_id(namespace, kind, f"{session_id}/{key}" if session_id else key)
        try:
            self.delete(id, namespace=namespace)
        except NotFound:
            return False
        return True

    def set_state(
        self, session_id: str, key: str, value: Any, *, namespace: str = "default"
    ) -> MemoryEntry:
        """Save a JSON ``value`` under ``(session_id, key)``; returns the entry."""
        return self._upsert(
            namespace=namespace,
            kind="state",
            key=key,
            value=value,
            session_id=session_id,
            ttl_seconds=None,
        )

    def get_state(
        self,
        session_id: str,
        key: str,
        default: Any = _MISSING,
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
        return self._upsert(
            namespace=namespace,
            kind="kv",
            key=key,
            value=value,
            session_id=None,
            ttl_seconds=ttl_seconds,
        )

    def kv_get(self, key: str, default: Any = _MISSING, *, namespace: str = "default") -> Any:
        """The value under ``key``; ``default`` if given, else ``NotFound``."""
        return self._lookup(namespace, "kv", key, None, default)

    def kv_delete(self, key: str, *, namespace: str = "default") -> bool:
        """Delete a key; ``False`` if there was none."""
        return self._remove(namespace, "kv", key, None)
