"""The SQL of export and import (``memoryd/transfer.py``): which rows to export, which ids exist.

Entries themselves are read by ``SQLiteStore.fetch`` and written by
``store.writes.insert``; this module only selects rowids and ids.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from memoryd.store.connection import ConnectionPool

__all__ = ["live_rowid_batches", "stored_ids"]


def live_rowid_batches(
    pool: ConnectionPool, *, namespace: str | None, batch: int
) -> Iterator[list[int]]:
    """Rowids of the live (unexpired) entries, ascending, ``batch`` at a time.

    Superseded entries are included; ``namespace`` ``None`` means every
    namespace. Each batch is read when the iterator is advanced (the expiry
    is judged then), on the reader connection taken at the first batch, so
    rows written meanwhile with a higher rowid are exported too.
    """
    conn = pool.reader()
    last = 0
    while True:
        sql = (
            "SELECT rowid FROM memories WHERE rowid > ? AND (expires_at IS NULL OR expires_at > ?)"
        )
        args: list[Any] = [last, time.time()]
        if namespace is not None:
            sql += " AND namespace = ?"
            args.append(namespace)
        rowids = [r[0] for r in conn.execute(sql + " ORDER BY rowid LIMIT ?", (*args, batch))]
        if not rowids:
            return
        yield rowids
        last = rowids[-1]


def stored_ids(pool: ConnectionPool, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The ``(namespace, id)`` pairs of ``keys`` that are stored (expired rows included).

    One query per namespace, with one ``?`` per id (``keys`` of one call
    are one batch of an import).
    """
    conn = pool.reader()
    by_namespace: dict[str, list[str]] = {}
    for namespace, id in keys:
        by_namespace.setdefault(namespace, []).append(id)
    existing: set[tuple[str, str]] = set()
    for namespace, ids in by_namespace.items():
        marks = ",".join("?" * len(ids))
        existing.update(
            (namespace, r[0])
            for r in conn.execute(
                f"SELECT id FROM memories WHERE namespace = ? AND id IN ({marks})",  # nosec B608 # '?' marks
                [namespace, *ids],
            )
        )
    return existing
