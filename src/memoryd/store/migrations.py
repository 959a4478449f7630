"""Numbered schema migrations, each applied in its own transaction.

Applied versions are recorded in ``schema_migrations``. A migration is a
list of SQL statements; it runs inside ``BEGIN IMMEDIATE`` together with its
row in ``schema_migrations``, so a crash leaves the old or the new schema,
never a mix.

On-disk layout (version 1):

* ``memories``: one row per entry; ``rowid`` is the vector-index key; times
  are unix seconds (REAL); ``metadata`` a JSON object; ``tags`` a JSON array.
* ``memories_fts``: FTS5 over ``body`` (the content, CJK characters split
  into single tokens) and ``context`` (text of the previous conversation turn,
  weighted lower), ``rowid`` = ``memories.rowid``.
* (version 2) ``memories_fts`` gains ``ns``: one token per namespace
  (``"n" + hex(utf-8 namespace)``), so a full-text query is restricted to its
  namespace inside FTS5 itself.
* ``vectors``: ``rowid`` -> little-endian float32 BLOB, L2-normalised.
* ``embedding_queue``: rows acknowledged without a vector yet, with the text
  to embed (durable backfill queue, drained by the embedding worker).
* ``embedding_cache``: ``(model, text_hash)`` -> vector, to skip re-embedding.
* ``index_log``: ordered upsert/delete operations for the in-memory vector
  index; replayed after a crash or by another process, compacted after an
  index checkpoint.
* ``meta``: key/value facts (``embedding_model``, ``dim``, ...).
* (version 3, self-learning; see ``store/episodes.py``) ``episodes`` (one
  row per episode; JSON columns for context, outcome, reward, reflection;
  ``vector`` = float32 BLOB of the task description), ``episode_steps``
  (``(episode_id, number)`` primary key), ``episode_checkpoints``,
  ``patterns`` (unique ``(namespace, key)``; ``merged_into`` set when
  clustering folds it into another; ``vector`` embeds the description,
  ``task_vector`` is the float32 *sum* of its source episodes' task
  embeddings), ``pattern_sources`` (one row per
  ``(pattern, episode, key)``: counts are derived from it, so re-processing
  an episode cannot double-count), ``pattern_feedback`` and
  ``extraction_queue`` (durable work for the extraction worker, deleted in
  the transaction that writes the patterns).
* (version 4) ``keyword_log``: ``(seq, rowid)`` of every row inserted,
  deleted or re-written (content, text hash or namespace), appended by
  triggers on ``memories`` in the writing transaction; the in-memory BM25
  index of every process replays it (``store/keyword_upkeep.py``).
* (version 5) ``embedding_queue.leased_until`` (unix seconds, 0 = free): the
  backfill worker of one process leases a batch before embedding it, so the
  workers of several processes sharing the store do not embed the same rows;
  an index on ``(attempts, enqueued_at)`` serves the queue's order.
* (version 6) ``memories`` ids are unique per namespace, ``UNIQUE (namespace,
  id)``, no longer across the whole store: an id a caller chooses in one
  namespace can neither block nor reveal an entry of another. The table is
  rebuilt (``store/table_rebuild.py``, SQLite's documented 12-step
  procedure) with its rowids, indexes and the ``keyword_log`` triggers; a
  partial index on ``(namespace, superseded_by)`` finds the entry a deleted
  one superseded.
  ``episodes`` and ``patterns`` keep their global ``UNIQUE (id)``: nobody
  chooses those ids (episodes get a random UUID4; a pattern's id is the
  UUID5 of ``f"{namespace}/pattern/{key}"``, and since every key starts with
  ``<kind>|`` and namespaces cannot contain ``|``, two namespaces never
  share one).
* (version 7) ``meta.store_id``: a random UUID (version 4, RFC 9562 §5.4)
  created once per store, for new and existing stores alike. It names the
  store, not the folder: a daemon reports it, and a CLI or client compares it
  with the id in its own data dir before sending that daemon anything
  (:mod:`memoryd.lifecycle.identity`). Reading it never writes
  (:func:`memoryd.store.identity.read_store_id`). A byte copy of the file
  keeps the id; the daemon's answer also names its file (device and inode),
  so a copy is told apart from the store itself.
* (version 8, ``store/checksums.py``) CRC-32 checksums: ``memories.checksum``
  (every stored column), ``memories.fts_checksum`` (the row's FTS5 columns),
  ``vectors.checksum`` and ``embedding_cache.checksum``, kept by triggers in
  the writing transaction; existing rows get theirs in the migration. The
  triggers call the SQL function ``memoryd_checksum``, which :func:`migrate`
  and every pool connection register (a connection without it cannot write
  these tables). A later migration that rebuilds one of these tables must
  recreate its triggers (``checksums.TRIGGERS``).
* (version 9) an index on ``memories.text_hash``: deleting a row purges its
  ``embedding_cache`` entry unless another row has the same text
  (``store/erasure.py``), one indexed lookup per text.
* (version 10) ``embedding_queue.leased_by``: the lease holder's id
  (``store/lease_holders.py``), so the rows leased by a process that died are
  taken at once, not after the lease runs out.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from memoryd.store.checksums import (
    CACHE_COLUMNS,
    FTS_COLUMNS,
    TRIGGERS,
    VECTOR_COLUMNS,
    register_functions,
    row_checksum_sql,
)
from memoryd.store.table_rebuild import rebuild_table

__all__ = ["MIGRATIONS", "Migration", "applied_versions", "migrate", "pending"]


@dataclass(frozen=True)
class Migration:
    """One numbered schema change: SQL ``statements``, then ``apply`` (if any), one transaction."""

    version: int
    name: str
    statements: tuple[str, ...]
    apply: Callable[[sqlite3.Connection], object] | None = None

    def run(self, conn: sqlite3.Connection) -> None:
        """Execute the change on ``conn`` (inside the caller's transaction)."""
        for statement in self.statements:
            conn.execute(statement)
        if self.apply is not None:
            self.apply(conn)


#: ``memories`` of versions 1 to 7 (``rowid`` aside): each column and its declaration.
_MEMORIES_V1 = (
    ("id", "TEXT NOT NULL"),
    ("namespace", "TEXT NOT NULL"),
    ("kind", "TEXT NOT NULL"),
    ("content", "TEXT NOT NULL"),
    ("content_hash", "TEXT NOT NULL"),
    ("session_id", "TEXT"),
    ("agent_id", "TEXT"),
    ("user_id", "TEXT"),
    ("metadata", "TEXT NOT NULL DEFAULT '{}'"),
    ("tags", "TEXT NOT NULL DEFAULT '[]'"),
    ("importance", "REAL NOT NULL DEFAULT 0.5"),
    ("created_at", "REAL NOT NULL"),
    ("updated_at", "REAL NOT NULL"),
    ("expires_at", "REAL"),
    ("embedding_model", "TEXT"),
    ("dim", "INTEGER"),
    ("supersedes", "TEXT"),
    ("superseded_by", "TEXT"),
    ("text_hash", "TEXT NOT NULL"),
)
_MEMORIES_COLUMNS = tuple(name for name, _ in _MEMORIES_V1)


def _memories_table(name: str, unique: str) -> str:
    """``CREATE TABLE name`` of :data:`_MEMORIES_V1` with the constraint ``unique``."""
    lines = ["rowid INTEGER PRIMARY KEY", *(f"{c} {decl}" for c, decl in _MEMORIES_V1), unique]
    return f"CREATE TABLE {name} (\n    " + ",\n    ".join(lines) + "\n)"


def _ids_unique_per_namespace(conn: sqlite3.Connection) -> None:
    # ``memories`` as of version 6: the columns of version 1, ids unique per namespace.
    table = _memories_table("{name}", "UNIQUE (namespace, id)")
    rebuild_table(conn, "memories", table, _MEMORIES_COLUMNS)
    # A delete makes the entry it superseded current again: found by this index.
    conn.execute(
        "CREATE INDEX ix_memories_superseded ON memories(namespace, superseded_by) "
        "WHERE superseded_by IS NOT NULL"
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "initial",
        (
            _memories_table("memories", "UNIQUE (id)"),
            "CREATE INDEX ix_memories_ns_created ON memories(namespace, created_at, rowid)",
            "CREATE INDEX ix_memories_ns_hash ON memories(namespace, kind, content_hash)",
            "CREATE INDEX ix_memories_session ON memories(namespace, session_id, kind, created_at)",
            "CREATE INDEX ix_memories_expires ON memories(expires_at) WHERE expires_at IS NOT NULL",
            """CREATE VIRTUAL TABLE memories_fts USING fts5(
                body, context, tokenize = 'porter unicode61 remove_diacritics 2'
            )""",
            "CREATE TABLE vectors (rowid INTEGER PRIMARY KEY, vector BLOB NOT NULL)",
            """CREATE TABLE embedding_queue (
                rowid INTEGER PRIMARY KEY,
                text TEXT NOT NULL,
                enqueued_at REAL NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT
            )""",
            """CREATE TABLE embedding_cache (
                model TEXT NOT NULL,
                text_hash TEXT NOT NULL,
                vector BLOB NOT NULL,
                PRIMARY KEY (model, text_hash)
            ) WITHOUT ROWID""",
            """CREATE TABLE index_log (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                rowid INTEGER NOT NULL,
                namespace TEXT NOT NULL,
                op TEXT NOT NULL CHECK (op IN ('upsert', 'delete'))
            )""",
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ),
    ),
    Migration(
        2,
        "fts_namespace_column",
        (
            """CREATE VIRTUAL TABLE memories_fts_v2 USING fts5(
                body, context, ns, tokenize = 'porter unicode61 remove_diacritics 2'
            )""",
            "INSERT INTO memories_fts_v2(rowid, body, context, ns) "
            "SELECT f.rowid, f.body, f.context, 'n' || lower(hex(m.namespace)) "
            "FROM memories_fts f JOIN memories m ON m.rowid = f.rowid",
            "DROP TABLE memories_fts",
            "ALTER TABLE memories_fts_v2 RENAME TO memories_fts",
        ),
    ),
    Migration(
        3,
        "self_learning",
        (
            """CREATE TABLE episodes (
                rowid INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                namespace TEXT NOT NULL,
                task_description TEXT NOT NULL,
                domain TEXT NOT NULL,
                task_type TEXT NOT NULL,
                context TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('running', 'completed')),
                agent_id TEXT,
                step_count INTEGER NOT NULL DEFAULT 0,
                outcome TEXT,
                outcome_type TEXT,
                reward TEXT,
                reward_total REAL,
                reflection TEXT,
                applied_patterns TEXT NOT NULL DEFAULT '[]',
                tags TEXT NOT NULL DEFAULT '[]',
                metadata TEXT NOT NULL DEFAULT '{}',
                started_at REAL NOT NULL,
                completed_at REAL,
                updated_at REAL NOT NULL,
                extracted_at REAL,
                vector BLOB
            )""",
            "CREATE INDEX ix_episodes_ns_started ON episodes(namespace, started_at, rowid)",
            "CREATE INDEX ix_episodes_ns_status ON episodes(namespace, status, updated_at)",
            "CREATE INDEX ix_episodes_domain ON episodes(namespace, domain, status, completed_at)",
            """CREATE TABLE episode_steps (
                episode_id TEXT NOT NULL,
                number INTEGER NOT NULL,
                tool TEXT NOT NULL,
                action TEXT NOT NULL,
                parameters TEXT NOT NULL,
                status TEXT NOT NULL,
                output TEXT,
                message TEXT,
                latency_ms REAL NOT NULL,
                tokens INTEGER NOT NULL,
                created_at REAL NOT NULL,
                PRIMARY KEY (episode_id, number)
            ) WITHOUT ROWID""",
            """CREATE TABLE episode_checkpoints (
                episode_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                note TEXT NOT NULL,
                agent_id TEXT,
                step_count INTEGER NOT NULL,
                created_at REAL NOT NULL,
                PRIMARY KEY (episode_id, seq)
            ) WITHOUT ROWID""",
            """CREATE TABLE patterns (
                rowid INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                namespace TEXT NOT NULL,
                key TEXT NOT NULL,
                kind TEXT NOT NULL,
                domain TEXT NOT NULL,
                task_type TEXT,
                description TEXT NOT NULL,
                data TEXT NOT NULL,
                occurrences INTEGER NOT NULL DEFAULT 0,
                successes INTEGER NOT NULL DEFAULT 0,
                reward_sum REAL NOT NULL DEFAULT 0,
                retrieved INTEGER NOT NULL DEFAULT 0,
                merged_into TEXT,
                archived_at REAL,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                last_used_at REAL NOT NULL,
                vector BLOB,
                task_vector BLOB,
                UNIQUE (namespace, key)
            )""",
            "CREATE INDEX ix_patterns_live ON patterns(namespace, merged_into, archived_at)",
            """CREATE TABLE pattern_sources (
                pattern_id TEXT NOT NULL,
                episode_id TEXT NOT NULL,
                key TEXT NOT NULL,
                success INTEGER NOT NULL,
                reward REAL NOT NULL,
                seen_at REAL NOT NULL,
                PRIMARY KEY (pattern_id, episode_id, key)
            ) WITHOUT ROWID""",
            "CREATE INDEX ix_pattern_sources_episode ON pattern_sources(episode_id)",
            """CREATE TABLE pattern_feedback (
                rowid INTEGER PRIMARY KEY,
                pattern_id TEXT NOT NULL,
                episode_id TEXT,
                applied INTEGER NOT NULL,
                success INTEGER,
                reward REAL,
                created_at REAL NOT NULL
            )""",
            "CREATE INDEX ix_pattern_feedback ON pattern_feedback(pattern_id)",
            """CREATE TABLE extraction_queue (
                episode_id TEXT PRIMARY KEY,
                namespace TEXT NOT NULL,
                enqueued_at REAL NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT
            )""",
        ),
    ),
    Migration(
        4,
        "keyword_log",
        (
            """CREATE TABLE keyword_log (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                rowid INTEGER NOT NULL
            )""",
            """CREATE TRIGGER keyword_log_insert AFTER INSERT ON memories BEGIN
                INSERT INTO keyword_log(rowid) VALUES (new.rowid);
            END""",
            """CREATE TRIGGER keyword_log_update
                AFTER UPDATE OF content, text_hash, namespace ON memories BEGIN
                INSERT INTO keyword_log(rowid) VALUES (new.rowid);
            END""",
            """CREATE TRIGGER keyword_log_delete AFTER DELETE ON memories BEGIN
                INSERT INTO keyword_log(rowid) VALUES (old.rowid);
            END""",
        ),
    ),
    Migration(
        5,
        "embedding_queue_lease",
        (
            "ALTER TABLE embedding_queue ADD COLUMN leased_until REAL NOT NULL DEFAULT 0",
            "CREATE INDEX embedding_queue_order ON embedding_queue(attempts, enqueued_at)",
        ),
    ),
    Migration(6, "memory_ids_unique_per_namespace", (), _ids_unique_per_namespace),
    Migration(
        7,
        "store_id",
        # A version-4 UUID from SQLite's randomness source (randomblob: 16 random
        # bytes, version nibble 4, variant bits 10xx), lowercase 8-4-4-4-12 hex.
        # INSERT OR IGNORE: a store that already has an id keeps it.
        (
            """INSERT OR IGNORE INTO meta(key, value) VALUES ('store_id', lower(
                hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4'
                || substr(hex(randomblob(2)), 2) || '-'
                || substr('89ab', 1 + (random() & 3), 1) || substr(hex(randomblob(2)), 2)
                || '-' || hex(randomblob(6))))""",
        ),
    ),
    Migration(
        8,
        "checksums",
        (
            "ALTER TABLE memories ADD COLUMN fts_checksum INTEGER",
            "ALTER TABLE memories ADD COLUMN checksum INTEGER",
            "ALTER TABLE vectors ADD COLUMN checksum INTEGER",
            "ALTER TABLE embedding_cache ADD COLUMN checksum INTEGER",
            *TRIGGERS,
            # Fires memories_checksum_update, which fills memories.checksum.
            "UPDATE memories SET fts_checksum = (SELECT "  # nosec B608 # our table and column names only
            + row_checksum_sql(FTS_COLUMNS, "f.")
            + " FROM memories_fts f WHERE f.rowid = memories.rowid)",
            "UPDATE vectors SET checksum = " + row_checksum_sql(VECTOR_COLUMNS),  # nosec B608 # our table and column names only
            "UPDATE embedding_cache SET checksum = " + row_checksum_sql(CACHE_COLUMNS),  # nosec B608 # our table and column names only
        ),
    ),
    Migration(
        9,
        "erasure_indexes",
        ("CREATE INDEX IF NOT EXISTS ix_memories_text_hash ON memories(text_hash)",),
    ),
    Migration(
        10,
        "embedding_queue_lease_holder",
        ("ALTER TABLE embedding_queue ADD COLUMN leased_by TEXT",),
    ),
)


def _ensure_table(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )


def applied_versions(conn: sqlite3.Connection) -> list[int]:
    """Versions recorded in ``schema_migrations``, ascending."""
    _ensure_table(conn)
    return [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]


def pending(conn: sqlite3.Connection, *, target: int | None = None) -> list[Migration]:
    """Migrations not yet applied, in order (up to version ``target``, default all)."""
    done = set(applied_versions(conn))
    return [
        m for m in MIGRATIONS if m.version not in done and (target is None or m.version <= target)
    ]


def migrate(conn: sqlite3.Connection, *, target: int | None = None) -> int:
    """Apply pending migrations (up to version ``target``, default all) in autocommit mode.

    Args:
        conn: a connection in autocommit mode (``isolation_level=None``).
        target: stop after this version (default: the newest); tests build
            stores at an old schema with it.

    Returns:
        The schema version after migrating.
    """
    register_functions(conn)
    for migration in pending(conn, target=target):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if migration.version in applied_versions(conn):
                conn.execute("ROLLBACK")
                continue
            migration.run(conn)
            conn.execute(
                "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, time.time()),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    versions = applied_versions(conn)
    return versions[-1] if versions else 0
