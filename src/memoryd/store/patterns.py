"""SQL for patterns, their evidence, feedback and the durable extraction queue.

Idempotence of extraction (a crash or a restart at any point loses no queued
work and duplicates no pattern):

* a pattern's id is ``uuid5(namespace/pattern/key)`` and ``(namespace, key)``
  is unique, so the same candidate always lands on the same row;
* evidence is one ``pattern_sources`` row per ``(pattern, episode, key)``
  (``INSERT OR IGNORE``), and counts are recomputed from it;
* the queue row is deleted in the transaction that writes the episode's
  patterns and stamps ``episodes.extracted_at``.

A pattern folded into another by clustering keeps its row with
``merged_into`` set; its key then resolves to the surviving pattern. The rows
read here become :class:`~memoryd.learning.models.Pattern` models with their
scores in ``memoryd/learning/pattern_rows.py``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from memoryd.errors import PatternNotFound
from memoryd.ids import deterministic_id
from memoryd.learning.extraction import PatternCandidate
from memoryd.learning.models import Episode
from memoryd.store.connection import ConnectionPool
from memoryd.store.embedding_queue import CACHE_INSERT, cache_row
from memoryd.store.episodes import refresh_pattern_counts
from memoryd.store.filters import dumps
from memoryd.store.rows import decode_vector, encode_vector

__all__ = ["PatternStore", "pattern_id"]

_FEEDBACK = (
    "SELECT pattern_id, sum(applied) AS applied, "
    "sum(CASE WHEN applied = 1 AND success = 1 THEN 1 ELSE 0 END) AS applied_successes, "
    "sum(CASE WHEN applied = 1 AND success = 0 THEN 1 ELSE 0 END) AS applied_failures, "
    "sum(CASE WHEN applied = 1 THEN reward END) AS reward_sum, "
    "count(CASE WHEN applied = 1 THEN reward END) AS reward_n, "
    "max(CASE WHEN applied = 1 THEN created_at END) AS applied_at "
    "FROM pattern_feedback GROUP BY pattern_id"
)
_SELECT = (
    "SELECT p.*, coalesce(f.applied, 0) AS f_applied, "  # nosec B608 # constant SQL, '?' marks; values bound
    "coalesce(f.applied_successes, 0) AS f_successes, "
    "coalesce(f.applied_failures, 0) AS f_failures, f.reward_sum AS f_reward_sum, "
    "coalesce(f.reward_n, 0) AS f_reward_n, f.applied_at AS f_applied_at, "
    "(SELECT json_group_array(key) FROM patterns m WHERE m.merged_into = p.id) AS merged_keys "
    f"FROM patterns p LEFT JOIN ({_FEEDBACK}) f ON f.pattern_id = p.id"
)


def pattern_id(namespace: str, key: str) -> str:
    """The deterministic id of the pattern with ``key`` in ``namespace`` (uuid5)."""
    return str(deterministic_id(namespace, "pattern", key))


def _add_task_vector(
    conn: sqlite3.Connection, pattern: str, vector: npt.NDArray[np.float32]
) -> None:
    """Add a task embedding to a pattern's ``task_vector`` sum (inside the caller's transaction)."""
    row = conn.execute("SELECT task_vector FROM patterns WHERE id = ?", (pattern,)).fetchone()
    total = vector if row is None or row[0] is None else decode_vector(row[0]) + vector
    conn.execute(
        "UPDATE patterns SET task_vector = ? WHERE id = ?", (encode_vector(total), pattern)
    )


class PatternStore:
    """Patterns, evidence, feedback and the extraction queue in the SQLite store.

    Args:
        pool: the store's connection pool (one writer, readers per thread).
        model: embedding model name, for rows added to ``embedding_cache``.
    """

    def __init__(self, pool: ConnectionPool, model: str) -> None:
        self.pool = pool
        self.model = model

    # --- reads ----------------------------------------------------------------
    def rows(
        self,
        namespace: str,
        *,
        kinds: Sequence[str] | None = None,
        domain: str | None = None,
        task_type: str | None = None,
        include_archived: bool = False,
    ) -> list[sqlite3.Row]:
        """Live (not merged) pattern rows of a namespace, with feedback aggregates and vector."""
        sql = [_SELECT, "WHERE p.namespace = ? AND p.merged_into IS NULL"]
        args: list[Any] = [namespace]
        if not include_archived:
            sql.append("AND p.archived_at IS NULL")
        if kinds:
            sql.append(f"AND p.kind IN ({','.join('?' * len(kinds))})")
            args.extend(kinds)
        for column, value in (("domain", domain), ("task_type", task_type)):
            if value is not None:
                sql.append(f"AND p.{column} = ?")
                args.append(value)
        sql.append("ORDER BY p.rowid")
        return self.pool.reader().execute(" ".join(sql), args).fetchall()

    def row(self, id: str, namespace: str) -> sqlite3.Row:
        """The row of pattern ``id`` (a merged id resolves to its survivor).

        Raises:
            PatternNotFound: no such pattern in the namespace.
        """
        conn = self.pool.reader()
        for _ in range(16):
            row: sqlite3.Row | None = conn.execute(
                _SELECT + " WHERE p.id = ? AND p.namespace = ?", (id, namespace)
            ).fetchone()
            if row is None:
                break
            if row["merged_into"] is None:
                return row
            id = row["merged_into"]
        raise PatternNotFound(
            f"no pattern {id} in namespace {namespace!r}", id=id, namespace=namespace
        )

    @staticmethod
    def vector(row: sqlite3.Row) -> npt.NDArray[np.float32] | None:
        """The row's description embedding, if it has one."""
        blob = row["vector"]
        return None if blob is None else decode_vector(blob)

    @staticmethod
    def task_centroid(row: sqlite3.Row) -> npt.NDArray[np.float32] | None:
        """Unit mean of the source episodes' task embeddings (``None`` without sources)."""
        blob = row["task_vector"]
        if blob is None:
            return None
        total = decode_vector(blob)
        norm = float(np.linalg.norm(total))
        return total / norm if norm > 0 else None

    def queued(self, limit: int) -> list[tuple[str, str]]:
        """Up to ``limit`` queued ``(episode_id, namespace)``, oldest first."""
        rows = (
            self.pool.reader()
            .execute(
                "SELECT episode_id, namespace FROM extraction_queue "
                "ORDER BY attempts, enqueued_at LIMIT ?",
                (limit,),
            )
            .fetchall()
        )
        return [(r[0], r[1]) for r in rows]

    def queue_size(self) -> int:
        """Episodes waiting for extraction."""
        return int(
            self.pool.reader().execute("SELECT count(*) FROM extraction_queue").fetchone()[0]
        )

    # --- writes ---------------------------------------------------------------
    def _resolve(self, conn: sqlite3.Connection, namespace: str, key: str) -> str | None:
        row = conn.execute(
            "SELECT id, merged_into FROM patterns WHERE namespace = ? AND key = ?", (namespace, key)
        ).fetchone()
        if row is None:
            return None
        target: str = row["merged_into"] or row["id"]
        for _ in range(16):
            nxt = conn.execute(
                "SELECT merged_into FROM patterns WHERE id = ?", (target,)
            ).fetchone()
            if nxt is None or nxt[0] is None:
                break
            target = nxt[0]
        return target

    def write_episode_patterns(
        self,
        episode: Episode,
        candidates: Sequence[PatternCandidate],
        vectors: Mapping[str, npt.NDArray[np.float32]],
        *,
        text_hashes: Mapping[str, str],
        success: bool,
        now: float,
    ) -> tuple[int, int, set[str]]:
        """Record an episode's patterns and dequeue it, in one transaction.

        Args:
            episode: the completed episode (with steps).
            candidates: its pattern candidates.
            vectors: description embedding per candidate key (missing → no vector).
            text_hashes: text hash per candidate key (for ``embedding_cache``).
            success: whether the episode counts as a success for these patterns.
            now: unix seconds.

        Returns:
            ``(created, updated, touched pattern ids)``.
        """
        reward = episode.reward.total if episode.reward else 0.0
        created = updated = 0
        touched: set[str] = set()
        ns, eid = episode.namespace, str(episode.id)
        with self.pool.write() as conn:
            task_blob = conn.execute("SELECT vector FROM episodes WHERE id = ?", (eid,)).fetchone()
            task_vec = None if task_blob is None or task_blob[0] is None else task_blob[0]
            for cand in candidates:
                target = self._resolve(conn, ns, cand.key)
                vec = vectors.get(cand.key)
                if target is None:
                    target = pattern_id(ns, cand.key)
                    conn.execute(
                        "INSERT INTO patterns(id, namespace, key, kind, domain, task_type, "
                        "description, data, created_at, updated_at, last_used_at, vector) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                        (
                            target,
                            ns,
                            cand.key,
                            cand.kind,
                            cand.domain,
                            cand.task_type,
                            cand.description,
                            dumps(cand.data),
                            now,
                            now,
                            now,
                            None if vec is None else encode_vector(vec),
                        ),
                    )
                    created += 1
                else:
                    updated += 1
                if vec is not None:
                    conn.execute(
                        CACHE_INSERT,
                        cache_row(self.model, text_hashes[cand.key], encode_vector(vec)),
                    )
                cur = conn.execute(
                    "INSERT OR IGNORE INTO pattern_sources VALUES (?,?,?,?,?,?)",
                    (target, eid, cand.key, int(success), reward, now),
                )
                if cur.rowcount == 1 and task_vec is not None:
                    _add_task_vector(conn, target, decode_vector(task_vec))
                conn.execute("UPDATE patterns SET updated_at = ? WHERE id = ?", (now, target))
                refresh_pattern_counts(conn, target)
                touched.add(target)
            conn.execute("UPDATE episodes SET extracted_at = ? WHERE id = ?", (now, eid))
            conn.execute("DELETE FROM extraction_queue WHERE episode_id = ?", (eid,))
        return created, updated, touched

    def drop_queued(self, episode_id: str, reason: str) -> None:
        """Remove a queue row whose episode no longer exists (logged by the caller)."""
        with self.pool.write() as conn:
            conn.execute("DELETE FROM extraction_queue WHERE episode_id = ?", (episode_id,))

    def mark_failure(self, episode_id: str, error: str) -> None:
        """Count a failed attempt on a queued episode (it stays queued)."""
        with self.pool.write() as conn:
            conn.execute(
                "UPDATE extraction_queue SET attempts = attempts + 1, last_error = ? "
                "WHERE episode_id = ?",
                (error[:1000], episode_id),
            )

    def merge(self, survivor: str, members: Sequence[str]) -> int:
        """Fold ``members`` into ``survivor`` (evidence, feedback, retrievals); one transaction.

        Returns how many members were merged (already merged ones are skipped).
        """
        merged = 0
        with self.pool.write() as conn:
            for member in members:
                row = conn.execute(
                    "SELECT merged_into, retrieved, task_vector FROM patterns WHERE id = ?",
                    (member,),
                ).fetchone()
                if row is None or row["merged_into"] is not None or member == survivor:
                    continue
                conn.execute(
                    "INSERT OR IGNORE INTO pattern_sources "
                    "SELECT ?, episode_id, key, success, reward, seen_at FROM pattern_sources "
                    "WHERE pattern_id = ?",
                    (survivor, member),
                )
                conn.execute("DELETE FROM pattern_sources WHERE pattern_id = ?", (member,))
                conn.execute(
                    "UPDATE pattern_feedback SET pattern_id = ? WHERE pattern_id = ?",
                    (survivor, member),
                )
                conn.execute(
                    "UPDATE patterns SET merged_into = ? WHERE merged_into = ? OR id = ?",
                    (survivor, member, member),
                )
                conn.execute(
                    "UPDATE patterns SET retrieved = retrieved + ?, updated_at = ? WHERE id = ?",
                    (row["retrieved"], time.time(), survivor),
                )
                if row["task_vector"] is not None:
                    _add_task_vector(conn, survivor, decode_vector(row["task_vector"]))
                merged += 1
            refresh_pattern_counts(conn, survivor)
        return merged

    def add_feedback(
        self,
        id: str,
        *,
        applied: bool,
        success: bool | None,
        reward: float | None,
        episode_id: str | None,
        now: float,
    ) -> None:
        """Store one feedback row for pattern ``id`` (already resolved)."""
        with self.pool.write() as conn:
            conn.execute(
                "INSERT INTO pattern_feedback(pattern_id, episode_id, applied, success, reward, "
                "created_at) VALUES (?,?,?,?,?,?)",
                (
                    id,
                    episode_id,
                    int(applied),
                    None if success is None else int(success),
                    reward,
                    now,
                ),
            )
            conn.execute("UPDATE patterns SET updated_at = ? WHERE id = ?", (now, id))

    def add_retrievals(self, counts: Mapping[str, int]) -> None:
        """Add retrieval counts (flushed from memory) in one transaction."""
        if not counts:
            return
        with self.pool.write() as conn:
            conn.executemany(
                "UPDATE patterns SET retrieved = retrieved + ? WHERE id = ?",
                [(n, id) for id, n in counts.items()],
            )

    def archive(self, ids: Sequence[str], now: float) -> None:
        """Archive patterns (they stop being recommended; evidence is kept)."""
        with self.pool.write() as conn:
            conn.executemany(
                "UPDATE patterns SET archived_at = ? WHERE id = ? AND archived_at IS NULL",
                [(now, id) for id in ids],
            )
