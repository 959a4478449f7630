"""Cost of migration 6 (``memories`` rebuilt with ``UNIQUE (namespace, id)``) by store size.

Method
------
For each size, a store is migrated to version 5 and filled by plain SQL in
one transaction: ``--size`` rows of ``memories`` (realistic short texts from
``_textgen.py``, 8 namespaces, kinds mixed, every 20th row superseded), their
FTS rows, random unit float32 vectors (384 dims) and keyword-log entries (the
triggers of migration 4). The file is checkpointed (``wal_checkpoint
(TRUNCATE)``) and closed, the page cache of the file is not dropped. Then a
fresh connection times ``migrate()`` from 5 to 6: one ``BEGIN IMMEDIATE``
transaction that copies the table, drops the old one, renames, recreates the
four indexes, the three triggers and the new partial index, and commits with
``synchronous=FULL``. Reported: seconds, rows per second, the file size
before and after, and the WAL size the transaction left (before a checkpoint).

No embedding is computed: the rebuild copies rows and never reads vectors,
so their values do not change its cost.

Usage::

    .venv/bin/python benchmarks/migration_rebuild.py                  # 10k and 100k rows
    .venv/bin/python benchmarks/migration_rebuild.py --sizes 1000000  # 1M (~1.5 GB of disk)
"""

from __future__ import annotations

import argparse
import sqlite3
import time
import uuid
from pathlib import Path

import numpy as np

import _common as c
from memoryd.records import text_hash
from memoryd.store.connection import Pragmas
from memoryd.store.fts import index_text, namespace_token
from memoryd.store.migrations import migrate
from memoryd.store.rows import encode_vector

NAMESPACES = [f"tenant-{n}" for n in range(8)]
KINDS = ("memory", "memory", "memory", "message", "kv", "chunk")


def _fill(conn: sqlite3.Connection, size: int) -> None:
    texts = [t for t, _ in c.memory_texts(min(size, 50_000))]
    rng = np.random.default_rng(c.SEED)
    now = time.time()
    conn.execute("BEGIN IMMEDIATE")
    for i in range(size):
        text = texts[i % len(texts)] + ("" if i < len(texts) else f" #{i}")
        ns = NAMESPACES[i % len(NAMESPACES)]
        rowid = conn.execute(
            "INSERT INTO memories(id, namespace, kind, content, content_hash, created_at, "
            "updated_at, text_hash, superseded_by, embedding_model, dim) "
            "VALUES (?,?,?,?,?,?,?,?,?,'all-MiniLM-L6-v2',384)",
            (
                str(uuid.uuid4()),
                ns,
                KINDS[i % len(KINDS)],
                text,
                text_hash(text),
                now + i,
                now + i,
                text_hash(text),
                str(uuid.uuid4()) if i % 20 == 0 else None,
            ),
        ).lastrowid
        conn.execute(
            "INSERT INTO memories_fts(rowid, body, context, ns) VALUES (?,?,'',?)",
            (rowid, index_text(text), namespace_token(ns)),
        )
        vector = rng.standard_normal(384).astype(np.float32)
        conn.execute(
            "INSERT INTO vectors(rowid, vector) VALUES (?,?)",
            (rowid, encode_vector(vector / np.linalg.norm(vector))),
        )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def measure(root: Path, size: int) -> c.Row:
    path = root / f"store-{size}.db"
    conn = sqlite3.connect(str(path), isolation_level=None)
    Pragmas().apply(conn)
    migrate(conn, target=5)
    _fill(conn, size)
    conn.close()
    before = path.stat().st_size
    conn = sqlite3.connect(str(path), isolation_level=None)
    Pragmas().apply(conn)
    started = time.perf_counter()
    version = migrate(conn)
    seconds = time.perf_counter() - started
    wal = Path(f"{path}-wal")
    wal_bytes = wal.stat().st_size if wal.exists() else 0
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    after = path.stat().st_size
    path.unlink()
    return {
        "rows": size,
        "version": version,
        "seconds": round(seconds, 3),
        "rows_per_s": round(size / seconds),
        "db_mib_before": round(before / 2**20, 1),
        "db_mib_after": round(after / 2**20, 1),
        "wal_mib": round(wal_bytes / 2**20, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated row counts")
    ap.add_argument("--tmp-dir", default=None, help="parent of the temp stores (a real disk)")
    ap.add_argument("--json", default="", help="also write the results to this JSON file")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    machine = c.machine_info(Path(args.tmp_dir) if args.tmp_dir else None)
    with c.bench_tmp(args.tmp_dir) as tmp:
        rows = [measure(Path(tmp), size) for size in sizes]
    table = c.md_table(
        ["rows", "migrate 5→6 s", "rows/s", "db MiB before", "db MiB after", "WAL MiB"],
        [
            [r["rows"], r["seconds"], r["rows_per_s"], r["db_mib_before"]]
            + [r["db_mib_after"], r["wal_mib"]]
            for r in rows
        ],
    )
    method = (
        "A version-5 store of N synthetic rows (texts, FTS rows, 384-dim vectors, 8 namespaces) "
        "migrated to version 6 on a fresh connection, synchronous=FULL; see the module docstring."
    )
    c.report("Migration 6 rebuild", method, machine, [table], {"results": rows}, args.json)


if __name__ == "__main__":
    main()
