"""Conversions between ``memories`` rows, pydantic entries and vector BLOBs.

Vectors are stored as little-endian float32 BLOBs of ``4 * dim`` bytes.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from memoryd.types import MemoryEntry

__all__ = ["ENTRY_COLUMNS", "decode_vector", "encode_vector", "from_ts", "row_to_entry", "to_ts"]

ENTRY_COLUMNS = (
    "m.rowid, m.id, m.namespace, m.kind, m.content, m.content_hash, m.session_id, m.agent_id, "
    "m.user_id, m.metadata, m.tags, m.importance, m.created_at, m.updated_at, m.expires_at, "
    "m.embedding_model, m.dim, m.supersedes, m.superseded_by"
)
_LE_F32 = np.dtype("<f4")


def encode_vector(vector: npt.NDArray[np.float32]) -> bytes:
    """``(dim,)`` float32 -> little-endian float32 bytes."""
    return np.ascontiguousarray(vector, dtype=_LE_F32).tobytes()


def decode_vector(blob: bytes) -> npt.NDArray[np.float32]:
    """Little-endian float32 bytes -> ``(dim,)`` float32 (native order)."""
    return np.frombuffer(blob, dtype=_LE_F32).astype(np.float32)


def to_ts(value: datetime) -> float:
    """Aware datetime -> unix seconds."""
    return value.timestamp()


def from_ts(value: float | None) -> datetime | None:
    """Unix seconds -> aware UTC datetime (``None`` passes through)."""
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _uuid(value: str | None) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(value)


def row_to_entry(row: sqlite3.Row, vector: list[float] | None = None) -> MemoryEntry:
    """Build a :class:`MemoryEntry` from a row selected with :data:`ENTRY_COLUMNS`."""
    created = from_ts(row["created_at"])
    updated = from_ts(row["updated_at"])
    assert created is not None and updated is not None
    fields: dict[str, Any] = {
        "id": uuid.UUID(row["id"]),
        "content": row["content"],
        "kind": row["kind"],
        "namespace": row["namespace"],
        "session_id": row["session_id"],
        "agent_id": row["agent_id"],
        "user_id": row["user_id"],
        "metadata": json.loads(row["metadata"]),
        "tags": json.loads(row["tags"]),
        "importance": row["importance"],
        "created_at": created,
        "updated_at": updated,
        "expires_at": from_ts(row["expires_at"]),
        "content_hash": row["content_hash"],
        "embedding_model": row["embedding_model"],
        "dim": row["dim"],
        "supersedes": _uuid(row["supersedes"]),
        "superseded_by": _uuid(row["superseded_by"]),
        "vector": vector,
    }
    return MemoryEntry.model_construct(**fields)
