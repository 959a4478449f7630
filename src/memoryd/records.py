"""Turning validated inputs into store records (ids, hashes, expiry, index text).

The embedding is computed from the content alone; a conversation turn's
previous turn goes only into the FTS ``context`` column. On LoCoMo, adding
the context to the embedded text too lowered hybrid recall@1 (35.4 -> 33.1)
at equal recall@5/10 and doubled the embedding cost (docs/PERFORMANCE.md).

Kept apart from the engine so that every write path (add, update,
supersede, import, collections) builds records the same way.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from memoryd.ids import content_hash, new_id
from memoryd.store.filters import dumps
from memoryd.store.fts import index_text
from memoryd.store.sqlite import NewRecord
from memoryd.types import MemoryEntry, MemoryInput

__all__ = ["expiry", "record_from_entry", "record_from_input", "text_hash"]


def text_hash(text: str) -> str:
    """SHA-256 hex of the exact text sent to the embedder (embedding-cache key)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def expiry(ttl_seconds: float | None, expires_at: datetime | None, now: float) -> float | None:
    """Absolute expiry in unix seconds from a TTL or a datetime (``None`` = never)."""
    if ttl_seconds is not None:
        return now + ttl_seconds
    return expires_at.timestamp() if expires_at is not None else None


def record_from_input(
    item: MemoryInput,
    *,
    context: str = "",
    vector: npt.NDArray[np.float32] | None = None,
    record_id: str | None = None,
    supersedes: str | None = None,
    now: float | None = None,
) -> NewRecord:
    """A :class:`NewRecord` for a validated input; ``context`` is the previous turn."""
    now = time.time() if now is None else now
    created = item.created_at.timestamp() if item.created_at is not None else now
    return NewRecord(
        id=record_id or str(item.id or new_id()),
        namespace=item.namespace,
        kind=item.kind,
        content=item.content,
        content_hash=content_hash(item.content),
        session_id=item.session_id,
        agent_id=item.agent_id,
        user_id=item.user_id,
        metadata=dumps(item.metadata),
        tags=dumps(item.tags),
        importance=item.importance,
        created_at=created,
        updated_at=now,
        expires_at=expiry(item.ttl_seconds, item.expires_at, now),
        supersedes=supersedes,
        body=index_text(item.content),
        context=index_text(context),
        embed_text=item.content,
        text_hash=text_hash(item.content),
        vector=vector,
    )


def record_from_entry(entry: MemoryEntry, **changes: Any) -> NewRecord:
    """A :class:`NewRecord` that reproduces a stored entry (import, update in place).

    ``changes`` override entry fields before the record is built
    (``content=``, ``metadata=``, ``tags=``, ``importance=``, ``expires_at=``
    as unix seconds, ``context=``, ``vector=``, ``updated_at=``).
    """
    content = changes.get("content", entry.content)
    context = changes.get("context", "")
    expires = changes.get(
        "expires_at", entry.expires_at.timestamp() if entry.expires_at is not None else None
    )
    return NewRecord(
        id=str(entry.id),
        namespace=entry.namespace,
        kind=entry.kind,
        content=content,
        content_hash=content_hash(content),
        session_id=entry.session_id,
        agent_id=entry.agent_id,
        user_id=entry.user_id,
        metadata=dumps(changes.get("metadata", entry.metadata)),
        tags=dumps(changes.get("tags", entry.tags)),
        importance=changes.get("importance", entry.importance),
        created_at=entry.created_at.timestamp(),
        updated_at=changes.get("updated_at", entry.updated_at.timestamp()),
        expires_at=expires,
        supersedes=str(entry.supersedes) if entry.supersedes else None,
        superseded_by=str(entry.superseded_by) if entry.superseded_by else None,
        body=index_text(content),
        context=index_text(context),
        embed_text=content,
        text_hash=text_hash(content),
        vector=changes.get("vector"),
    )
