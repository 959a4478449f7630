"""The SQL of :meth:`memoryd.Memory.forget`: a subject's rows, then all of it in one transaction.

:func:`forget_subject` deletes the subject's memories (``memoryd/store/erasure.py``)
and its learning data (:func:`forget_learning`: episodes and what was learned
only from them) in the same write transaction.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from memoryd.records import text_hash
from memoryd.reports import ForgetScope
from memoryd.store.episodes import refresh_pattern_counts
from memoryd.store.erasure import (
    DeletedRows,
    delete_memory_rows,
    delete_where_in,
    mark_erase_pending,
    purge_cache,
    scope_memory_rows,
)
from memoryd.store.rows import decode_vector, encode_vector
from memoryd.store.sqlite import SQLiteStore

__all__ = ["LearningCounts", "forget_learning", "forget_subject", "subject_rows"]


@dataclass
class LearningCounts:
    """What :func:`forget_learning` removed or changed (row counts)."""

    episodes: int = 0
    steps: int = 0
    checkpoints: int = 0
    patterns_deleted: int = 0
    patterns_updated: int = 0
    feedback: int = 0
    embedding_cache: int = 0
    namespaces: set[str] = field(default_factory=set)
    """Namespaces whose episodes or patterns changed (their in-memory indexes reload)."""


def _episodes(conn: sqlite3.Connection, scope: ForgetScope) -> list[tuple[str, str]]:
    """``(id, namespace)`` of the episodes of ``scope``; none for a user scope (no user column)."""
    if scope.user_id is not None:
        return []
    clauses: list[str] = []
    params: list[str] = []
    for column in ("namespace", "agent_id"):
        value = getattr(scope, column)
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    sql = f"SELECT id, namespace FROM episodes WHERE {' AND '.join(clauses)}"  # nosec B608 # our identifiers and '?' marks; values bound
    return [(str(r[0]), str(r[1])) for r in conn.execute(sql, params)]


def _patterns_of(conn: sqlite3.Connection, episode_ids: Sequence[str]) -> set[str]:
    touched: set[str] = set()
    for start in range(0, len(episode_ids), 500):
        chunk = list(episode_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        touched |= {
            str(r[0])
            for r in conn.execute(
                f"SELECT DISTINCT pattern_id FROM pattern_sources WHERE episode_id IN ({marks})",  # nosec B608 # our identifiers and '?' marks; values bound
                chunk,
            )
        }
    return touched


def _task_vector_sum(conn: sqlite3.Connection, pattern_id: str) -> bytes | None:
    """Sum of the task embeddings of a pattern's remaining source rows, as a float32 BLOB.

    The same sum the extractor builds (one episode vector per source row), so
    a pattern keeps no trace of a forgotten episode's task.
    """
    total: npt.NDArray[np.float32] | None = None
    for (blob,) in conn.execute(
        "SELECT e.vector FROM pattern_sources s JOIN episodes e ON e.id = s.episode_id "
        "WHERE s.pattern_id = ? AND e.vector IS NOT NULL",
        (pattern_id,),
    ):
        vec = decode_vector(blob)
        total = vec if total is None else total + vec
    return None if total is None else encode_vector(total)


def _delete_patterns(conn: sqlite3.Connection, ids: Sequence[str]) -> tuple[int, int, list[str]]:
    """Delete patterns and the stubs merged into them, with evidence and feedback.

    Returns ``(patterns deleted, feedback rows deleted, their description texts)``.
    """
    doomed = set(ids)
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        doomed |= {
            str(r[0])
            for r in conn.execute(f"SELECT id FROM patterns WHERE merged_into IN ({marks})", chunk)  # nosec B608 # our identifiers and '?' marks; values bound
        }
    ordered = sorted(doomed)
    texts: list[str] = []
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        marks = ",".join("?" * len(chunk))
        texts += [
            str(r[0])
            for r in conn.execute(f"SELECT description FROM patterns WHERE id IN ({marks})", chunk)  # nosec B608 # our identifiers and '?' marks; values bound
        ]
    feedback = delete_where_in(conn, "pattern_feedback", "pattern_id", ordered)
    delete_where_in(conn, "pattern_sources", "pattern_id", ordered)
    return delete_where_in(conn, "patterns", "id", ordered), feedback, texts


def _surviving(conn: sqlite3.Connection, touched: set[str]) -> tuple[list[str], int]:
    """Split patterns whose evidence changed: ``(left without evidence, updated count)``.

    Patterns that keep evidence get their counts and task-vector sum recomputed.
    """
    empty: list[str] = []
    updated = 0
    for pattern in sorted(touched):
        left = conn.execute(
            "SELECT count(*) FROM pattern_sources WHERE pattern_id = ?", (pattern,)
        ).fetchone()[0]
        if left == 0:
            empty.append(pattern)
            continue
        refresh_pattern_counts(conn, pattern)
        conn.execute(
            "UPDATE patterns SET task_vector = ?, updated_at = ? WHERE id = ?",
            (_task_vector_sum(conn, pattern), time.time(), pattern),
        )
        updated += 1
    return empty, updated


def forget_learning(conn: sqlite3.Connection, model: str, scope: ForgetScope) -> LearningCounts:
    """Delete the episodes of ``scope`` and what was learned only from them (``conn``'s
    transaction).

    * a namespace scope (alone) removes every episode, pattern, feedback and
      extraction-queue row of the namespace;
    * an agent scope (optionally within a namespace) removes that agent's
      episodes with their steps, checkpoints, queue rows, pattern evidence and
      the feedback given in them; a pattern left without evidence is deleted,
      one that keeps evidence from other episodes gets its counts and task
      vector recomputed;
    * a user scope touches no learning data (episodes have no user).

    ``model``'s cached description vectors that no entry uses are purged.
    """
    out = LearningCounts()
    episodes = _episodes(conn, scope)
    ids = [eid for eid, _ in episodes]
    out.namespaces = {ns for _, ns in episodes}
    touched = _patterns_of(conn, ids)
    out.steps = delete_where_in(conn, "episode_steps", "episode_id", ids)
    out.checkpoints = delete_where_in(conn, "episode_checkpoints", "episode_id", ids)
    delete_where_in(conn, "extraction_queue", "episode_id", ids)
    delete_where_in(conn, "pattern_sources", "episode_id", ids)
    out.feedback = delete_where_in(conn, "pattern_feedback", "episode_id", ids)
    out.episodes = delete_where_in(conn, "episodes", "id", ids)
    if scope.namespace is not None and scope.agent_id is None and scope.user_id is None:
        doomed = [
            str(r[0])
            for r in conn.execute("SELECT id FROM patterns WHERE namespace = ?", (scope.namespace,))
        ]
        conn.execute("DELETE FROM extraction_queue WHERE namespace = ?", (scope.namespace,))
        out.namespaces.add(scope.namespace)
    else:
        doomed, out.patterns_updated = _surviving(conn, touched)
    out.patterns_deleted, feedback, texts = _delete_patterns(conn, doomed)
    out.feedback += feedback
    out.embedding_cache = purge_cache(conn, model, [text_hash(t) for t in texts])
    if out.episodes or out.patterns_deleted or out.patterns_updated:
        mark_erase_pending(conn)
    return out


def subject_rows(store: SQLiteStore, scope: ForgetScope) -> list[sqlite3.Row]:
    """The memory rows of ``scope`` (every kind, expired ones not yet purged included).

    Columns as :func:`~memoryd.store.erasure.scope_memory_rows` (``rowid``,
    ``namespace``, ``kind``, ``session_id``, ...), read on the calling thread's reader.
    """
    return scope_memory_rows(store.pool.reader(), scope)


def forget_subject(
    store: SQLiteStore,
    scope: ForgetScope,
    rowids: Sequence[int],
    contexts: dict[int, str],
) -> tuple[DeletedRows, LearningCounts]:
    """Delete the memory rows ``rowids`` and the learning data of ``scope`` in one transaction.

    ``contexts`` are the FTS contexts to rewrite (rowid → new previous-turn
    text) of the turns after deleted ones. After the commit the vector index
    is synced; the on-disk copies are left to ``store.erase_traces()``.

    Raises:
        StorageFull, StorageError, StoreCorrupted (nothing is deleted then).
    """
    with store.pool.write() as conn:
        deleted = delete_memory_rows(conn, store.model, rowids, contexts)
        learned = forget_learning(conn, store.model, scope)
    store.vectors.written()
    return deleted, learned
