"""R4 child: a store migration, backups or WAL checkpoints, until SIGKILLed.

Usage::

    python tests/reliability/_workers/maintenance.py migrate DATA_DIR
    python tests/reliability/_workers/maintenance.py backup DATA_DIR TARGET
    python tests/reliability/_workers/maintenance.py checkpoint DATA_DIR [--batch N]

Every mode opens the real :class:`~memoryd.store.sqlite.SQLiteStore` of
``DATA_DIR`` (model ``r4-test``, dimension :data:`DIM`: no embedding model is
loaded). Protocol (stdout, JSON lines):

* ``migrate``: ``opening`` right before the store is opened (which migrates
  it), ``migrated`` with ``version`` and ``seconds`` after; then it exits.
* ``backup``: loops ``backup-start`` / ``store.backup_to(TARGET)`` / ``backup-done``.
* ``checkpoint``: sets ``wal_autocheckpoint=0``, then loops: ``store.writes.insert``
  of ``--batch`` records with vectors, ``ack`` with their ids (after the
  commit), ``ckpt-start``, ``PRAGMA wal_checkpoint(TRUNCATE)``, ``ckpt-end``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import WORDS, emit  # noqa: E402
from memoryd.store.connection import Pragmas  # noqa: E402
from memoryd.store.sqlite import NewRecord, SQLiteStore  # noqa: E402

MODEL = "r4-test"
DIM = 8


def open_store(data_dir: Path) -> SQLiteStore:
    """The store of ``data_dir`` with the test model (see the module docstring)."""
    return SQLiteStore(data_dir / "memoryd.db", data_dir / "index", Pragmas(), model=MODEL, dim=DIM)


def record(rng: np.random.Generator, text: str, namespace: str = "default") -> NewRecord:
    """A memory row with a random unit vector, as the engine would insert it."""
    vector = rng.standard_normal(DIM).astype(np.float32)
    digest = hashlib.sha256(text.encode()).hexdigest()
    now = time.time()
    return NewRecord(
        id=str(uuid.uuid4()),
        namespace=namespace,
        kind="memory",
        content=text,
        content_hash=digest,
        session_id=None,
        agent_id=None,
        user_id=None,
        metadata=json.dumps({}),
        tags=json.dumps([]),
        importance=0.5,
        created_at=now,
        updated_at=now,
        expires_at=None,
        supersedes=None,
        body=text,
        context="",
        embed_text=text,
        text_hash=digest,
        vector=vector / np.linalg.norm(vector),
    )


def migrate_once(data_dir: Path) -> None:
    emit("opening")
    started = time.perf_counter()
    store = open_store(data_dir)
    emit("migrated", version=store.schema_version, seconds=time.perf_counter() - started)
    store.close()


def backup_loop(data_dir: Path, target: Path) -> None:
    store = open_store(data_dir)
    emit("ready")
    while True:
        emit("backup-start")
        store.backup_to(target)
        emit("backup-done")


def checkpoint_loop(data_dir: Path, batch: int) -> None:
    store = open_store(data_dir)
    store.vectors.open()
    store.pool.writer.execute("PRAGMA wal_autocheckpoint=0")
    rng = np.random.default_rng(int(time.time_ns() % 2**32))
    emit("ready")
    seq = 0
    while True:
        seq += 1
        words = [str(rng.choice(WORDS)) for _ in range(8)]
        records = [record(rng, f"r4 {seq}.{i} {' '.join(words)}") for i in range(batch)]
        store.writes.insert(records)
        emit("ack", ids=[r.id for r in records])
        emit("ckpt-start")
        with store.pool.write_lock:
            busy, wal_frames, moved = store.pool.writer.execute(
                "PRAGMA wal_checkpoint(TRUNCATE)"
            ).fetchone()
        emit("ckpt-end", busy=busy, frames=wal_frames, moved=moved)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("migrate", "backup", "checkpoint"))
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("target", type=Path, nargs="?")
    parser.add_argument("--batch", type=int, default=300)
    args = parser.parse_args()
    if args.mode == "migrate":
        migrate_once(args.data_dir)
    elif args.mode == "backup":
        backup_loop(args.data_dir, args.target)
    else:
        checkpoint_loop(args.data_dir, args.batch)


if __name__ == "__main__":
    main()
