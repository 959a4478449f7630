"""Conversions between ``memories`` rows, pydantic entries and vector BLOBs.

Vectors are stored as little-endian float32 BLOBs of ``4 * dim`` bytes.
Rows selected with :data:`ENTRY_COLUMNS` carry every column their checksum
covers (``store/checksums.py``), so :func:`entry_row_intact` can verify them
before they are served.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from memoryd.store.checksums import MEMORY_COLUMNS, checksum, select_list
from memoryd.types import MemoryEntry

__all__ = [
    "ENTRY_COLUMNS",
    "decode_vector",
    "encode_vector",
    "entry_row_intact",
    "from_ts",
    "meta_value",
    "row_to_entry",
    "to_ts",
]

#: Columns selected for an entry: rowid, the checksummed ones in order, the checksum.
ENTRY_COLUMNS = "m.rowid, " + select_list(MEMORY_COLUMNS, "m.") + ", m.checksum"
_COVERED = len(MEMORY_COLUMNS)
_LE_F32 = np.dtype("<f4")


def meta_value(conn: sqlite3.Connection, key: str) -> str | None:
    """The value of ``key`` in the ``meta`` table, or ``None``."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


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


def entry_row_intact(row: sqlite3.Row) -> bool:
    """Whether a row selected with :data:`ENTRY_COLUMNS` matches its stored checksum."""
    stored = row[_COVERED + 1]
    try:
        return stored is not None and checksum(*row[1 : _COVERED + 1]) == stored
    except TypeError:  # a value of a type the row never holds (a flipped serial type)
        return False


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
