"""Row and vector checksums: SQLite has no page checksums, so memoryd keeps its own.

A byte flipped inside a row's payload (a letter of the content, a digit of the
metadata JSON, a bit of a vector) leaves every B-tree structure intact, so
``PRAGMA integrity_check`` passes and the damaged value would be served as
healthy. Migration 8 therefore adds a CRC-32 to every row of:

* ``memories.checksum`` over :data:`MEMORY_COLUMNS` (every stored column,
  ``fts_checksum`` included; the ``rowid`` is checked through the indexes by
  ``PRAGMA integrity_check`` and through the id sets of the other tables);
* ``memories.fts_checksum`` over the row's FTS5 columns :data:`FTS_COLUMNS`
  (``body``, ``context``, ``ns``, as written to ``memories_fts``), so damage in
  the FTS5 content table that tokenizes the same (a flipped letter case) is
  still found;
* ``vectors.checksum`` over ``rowid`` and the vector BLOB;
* ``embedding_cache.checksum`` over ``model``, ``text_hash`` and the vector
  (a damaged cached vector would otherwise be copied into new rows).

The store's inserts pass the checksums with the row (computed in Python: no
second write of the row); triggers in the writing transaction fill them for
any insert that does not, and recompute them on every update of a covered
column, so every write path (insert, replace, field updates, supersede
links, backfill fills, imports, and any later one) keeps them.
``fts_checksum`` is written with the row by the code that writes the FTS
row. A migration that rebuilds one of these tables must recreate its
triggers (:data:`TRIGGERS`).

The checksum (:func:`checksum`) is CRC-32 (ISO 3309, ``zlib.crc32``) of a
canonical encoding of the values: a type tag, then 8 bytes little-endian for
an integer or a float (IEEE 754 double), or a 4-byte length and the bytes
for text (UTF-8) and BLOBs. CRC-32 detects every error burst of up to 32
bits, so any single flipped byte in a covered value changes it.
"""

from __future__ import annotations

import sqlite3
import struct
import zlib
from collections.abc import Mapping

__all__ = [
    "CACHE_COLUMNS",
    "CHECKSUM_FUNCTION",
    "FTS_COLUMNS",
    "MEMORY_COLUMNS",
    "TRIGGERS",
    "VECTOR_COLUMNS",
    "REAL_COLUMNS",
    "checksum",
    "fts_checksum",
    "memory_checksum",
    "register_functions",
]

#: The SQL function computing :func:`checksum` (registered on every writing connection).
CHECKSUM_FUNCTION = "memoryd_checksum"
#: Columns of ``memories`` covered by ``memories.checksum``, in order.
MEMORY_COLUMNS: tuple[str, ...] = (
    "id",
    "namespace",
    "kind",
    "content",
    "content_hash",
    "session_id",
    "agent_id",
    "user_id",
    "metadata",
    "tags",
    "importance",
    "created_at",
    "updated_at",
    "expires_at",
    "embedding_model",
    "dim",
    "supersedes",
    "superseded_by",
    "text_hash",
    "fts_checksum",
)
#: ``memories`` columns of REAL affinity: SQLite stores an integer given for
#: them as a float, so a checksum computed before the insert uses floats too.
REAL_COLUMNS = frozenset({"importance", "created_at", "updated_at", "expires_at"})
#: Columns of ``memories_fts`` covered by ``memories.fts_checksum``.
FTS_COLUMNS: tuple[str, ...] = ("body", "context", "ns")
#: Columns of ``vectors`` covered by ``vectors.checksum``.
VECTOR_COLUMNS: tuple[str, ...] = ("rowid", "vector")
#: Columns of ``embedding_cache`` covered by ``embedding_cache.checksum``.
CACHE_COLUMNS: tuple[str, ...] = ("model", "text_hash", "vector")

_NONE = b"\x00"
_INT = struct.Struct("<q")
_FLOAT = struct.Struct("<d")
_LEN = struct.Struct("<I")


def checksum(*values: object) -> int:
    """CRC-32 (unsigned, ``0 <= c < 2**32``) of the canonical encoding of ``values``.

    Accepts what SQLite stores: ``None``, ``int`` (64-bit), ``float``, ``str``
    (encoded UTF-8; lone surrogates from ``surrogateescape`` decoding give back
    the stored bytes) and ``bytes``.

    Raises:
        TypeError: another type.
    """
    crc = 0
    for value in values:
        if value is None:
            crc = zlib.crc32(_NONE, crc)
        elif isinstance(value, str):
            data = value.encode("utf-8", "surrogateescape")
            crc = zlib.crc32(b"\x03" + _LEN.pack(len(data)) + data, crc)
        elif isinstance(value, int):
            crc = zlib.crc32(b"\x01" + _INT.pack(value), crc)
        elif isinstance(value, float):
            crc = zlib.crc32(b"\x02" + _FLOAT.pack(value), crc)
        elif isinstance(value, bytes | memoryview):
            data = bytes(value)
            crc = zlib.crc32(b"\x04" + _LEN.pack(len(data)) + data, crc)
        else:
            raise TypeError(f"cannot checksum a {type(value).__name__}")
    return crc


def memory_checksum(row: Mapping[str, object]) -> int:
    """``memories.checksum`` of a row about to be written (``row`` maps every
    :data:`MEMORY_COLUMNS` name to its value; REAL columns are taken as floats)."""
    return checksum(
        *(
            float(row[name])  # type: ignore[arg-type]
            if name in REAL_COLUMNS and row[name] is not None
            else row[name]
            for name in MEMORY_COLUMNS
        )
    )


def register_functions(conn: sqlite3.Connection) -> None:
    """Register :data:`CHECKSUM_FUNCTION` on ``conn`` (the triggers call it; idempotent)."""
    conn.create_function(CHECKSUM_FUNCTION, -1, checksum, deterministic=True)


def _call(columns: tuple[str, ...], prefix: str) -> str:
    return f"{CHECKSUM_FUNCTION}({', '.join(prefix + c for c in columns)})"


def _triggers(table: str, columns: tuple[str, ...], key: str) -> tuple[str, str]:
    where = " AND ".join(f"{k} = new.{k}" for k in key.split(","))
    update = f"UPDATE {table} SET checksum = {_call(columns, 'new.')} WHERE {where};"  # nosec B608 # our table and column names only
    return (
        f"CREATE TRIGGER {table}_checksum_insert AFTER INSERT ON {table} "
        f"WHEN new.checksum IS NULL BEGIN {update} END",
        # Not fired by its own ``SET checksum`` (not in the column list).
        f"CREATE TRIGGER {table}_checksum_update AFTER UPDATE OF {', '.join(columns)} "
        f"ON {table} BEGIN {update} END",
    )


#: The statements creating the checksum triggers (migration 8).
TRIGGERS: tuple[str, ...] = (
    *_triggers("memories", MEMORY_COLUMNS, "rowid"),
    *_triggers("vectors", VECTOR_COLUMNS, "rowid"),
    *_triggers("embedding_cache", CACHE_COLUMNS, "model,text_hash"),
)


def fts_checksum(body: str, context: str, ns: str) -> int:
    """``memories.fts_checksum`` of an FTS row (``body``, ``context``, ``ns`` as written)."""
    return checksum(body, context, ns)


def select_list(columns: tuple[str, ...], alias: str = "") -> str:
    """``a.c1, a.c2, ...`` for a SELECT of the covered columns."""
    return ", ".join(f"{alias}{c}" for c in columns)


def row_checksum_sql(columns: tuple[str, ...], alias: str = "") -> str:
    """The SQL expression computing the checksum of the covered columns."""
    return _call(columns, alias)
