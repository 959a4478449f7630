"""SQL for episodes, steps and checkpoints (tables of migration 3, ``store/migrations.py``).

Every write is one ``BEGIN IMMEDIATE`` transaction on the store's single
writer connection (``ConnectionPool.write``) and returns after ``COMMIT``:
a logged step is durable when ``log_step`` returns. Reads use the calling
thread's read connection.

Columns: times are unix seconds (REAL); ``context``, ``outcome``,
``reward``, ``reflection``, ``applied_patterns``, ``tags``, ``metadata``
and step ``parameters`` are JSON text; ``vector`` is the little-endian
float32 embedding of the task description (``store/rows.py``).
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from memoryd.errors import Conflict, EpisodeAlreadyCompleted, EpisodeNotFound, ValidationError
from memoryd.learning.models import (
    CompletionResult,
    Episode,
    EpisodeInput,
    EpisodePage,
    ExtractionStatus,
    Outcome,
    Reflection,
    RewardScore,
    Step,
    StepInput,
)
from memoryd.learning.reward import DomainMedians
from memoryd.store.connection import ConnectionPool
from memoryd.store.filters import dumps
from memoryd.store.rows import encode_vector, from_ts

__all__ = ["EpisodeStore", "row_to_episode", "row_to_step"]

_EPISODE_COLUMNS = (
    "rowid, id, namespace, task_description, domain, task_type, context, status, agent_id, "
    "step_count, outcome, reward, reflection, applied_patterns, tags, metadata, started_at, "
    "completed_at, updated_at, extracted_at"
)
#: Recent completed episodes a domain's medians are taken over.
MEDIAN_WINDOW = 500


def _ts(value: float | None) -> Any:
    return from_ts(value)


def row_to_step(row: sqlite3.Row) -> Step:
    """A ``episode_steps`` row as a :class:`Step`."""
    return Step(
        number=row["number"],
        tool=row["tool"],
        action=row["action"],
        parameters=json.loads(row["parameters"]),
        result={"status": row["status"], "output": row["output"], "message": row["message"]},
        latency_ms=row["latency_ms"],
        tokens=row["tokens"],
        created_at=_ts(row["created_at"]),
    )


def row_to_episode(row: sqlite3.Row, steps: Sequence[Step] = ()) -> Episode:
    """An ``episodes`` row (``_EPISODE_COLUMNS``) as an :class:`Episode`."""
    return Episode.model_validate(
        {
            "id": row["id"],
            "namespace": row["namespace"],
            "task_description": row["task_description"],
            "domain": row["domain"],
            "task_type": row["task_type"],
            "context": json.loads(row["context"]),
            "status": row["status"],
            "agent_id": row["agent_id"],
            "steps": list(steps),
            "step_count": row["step_count"],
            "outcome": json.loads(row["outcome"]) if row["outcome"] else None,
            "reward": json.loads(row["reward"]) if row["reward"] else None,
            "reflection": json.loads(row["reflection"]) if row["reflection"] else None,
            "applied_patterns": json.loads(row["applied_patterns"]),
            "tags": json.loads(row["tags"]),
            "metadata": json.loads(row["metadata"]),
            "started_at": _ts(row["started_at"]),
            "completed_at": _ts(row["completed_at"]),
            "updated_at": _ts(row["updated_at"]),
            "extracted": row["extracted_at"] is not None,
        }
    )


# The episode index's queries (``learning/recommend.py``), both answered from
# ix_episodes_ns_status (no table rows read for the key).
_COMPLETED_KEY_SQL = (
    "SELECT count(*), coalesce(max(updated_at), 0) FROM episodes "
    "WHERE namespace = ? AND status = 'completed'"
)
_COMPLETED_ROWS_SQL = (
    "SELECT id, domain, task_type, reward_total, completed_at, vector FROM episodes "
    "WHERE namespace = ? AND status = 'completed'"
)


class EpisodeStore:
    """Episodes, their steps and checkpoints in the SQLite store.

    Args:
        pool: the store's connection pool (one writer, readers per thread).
    """

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    # --- reads ----------------------------------------------------------------
    def _row(self, conn: sqlite3.Connection, id: str, namespace: str) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(
            f"SELECT {_EPISODE_COLUMNS} FROM episodes WHERE id = ? AND namespace = ?",  # nosec B608 # constant SQL, '?' marks; values bound
            (id, namespace),
        ).fetchone()
        if row is None:
            raise EpisodeNotFound(
                f"no episode {id} in namespace {namespace!r}", id=id, namespace=namespace
            )
        return row

    def steps(self, id: str, conn: sqlite3.Connection | None = None) -> builtins.list[Step]:
        """The steps of episode ``id`` in order."""
        conn = conn or self.pool.reader()
        rows = conn.execute(
            "SELECT * FROM episode_steps WHERE episode_id = ? ORDER BY number", (id,)
        ).fetchall()
        return [row_to_step(r) for r in rows]

    def get(self, id: str, namespace: str, *, with_steps: bool = True) -> Episode:
        """The episode (with its steps). Raises ``EpisodeNotFound``."""
        conn = self.pool.reader()
        row = self._row(conn, id, namespace)
        return row_to_episode(row, self.steps(id, conn) if with_steps else ())

    def list(
        self,
        namespace: str,
        *,
        domain: str | None,
        task_type: str | None,
        status: str | None,
        outcome: str | None,
        limit: int,
        cursor: str | None,
    ) -> EpisodePage:
        """A page of episodes (without steps), newest first. Raises ``ValidationError``."""
        if not 1 <= limit <= 1000:
            raise ValidationError("limit must be between 1 and 1000", limit=limit)
        sql = [f"SELECT {_EPISODE_COLUMNS} FROM episodes WHERE namespace = ?"]  # nosec B608 # constant SQL, '?' marks; values bound
        args: list[Any] = [namespace]
        for column, value in (
            ("domain", domain),
            ("task_type", task_type),
            ("status", status),
            ("outcome_type", outcome),
        ):
            if value is not None:
                sql.append(f"AND {column} = ?")
                args.append(value)
        if cursor:
            try:
                started_s, rowid_s = cursor.split(":", 1)
                args.extend([float(started_s), float(started_s), int(rowid_s)])
            except ValueError as exc:
                raise ValidationError("invalid cursor", cursor=cursor) from exc
            sql.append("AND (started_at < ? OR (started_at = ? AND rowid < ?))")
        sql.append("ORDER BY started_at DESC, rowid DESC LIMIT ?")
        args.append(limit + 1)
        rows = self.pool.reader().execute(" ".join(sql), args).fetchall()
        items = [row_to_episode(r) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = f"{last['started_at']!r}:{last['rowid']}"
        return EpisodePage(items=items, next_cursor=next_cursor)

    def has_vector(self, id: str) -> bool:
        """Whether episode ``id`` already has its task embedding."""
        row = (
            self.pool.reader()
            .execute("SELECT vector IS NOT NULL FROM episodes WHERE id = ?", (id,))
            .fetchone()
        )
        return bool(row and row[0])

    def completed_key(self, namespace: str) -> tuple[int, float]:
        """``(count, max updated_at)`` of the completed episodes of ``namespace`` (0.0 if none).

        The episode index's freshness key; answered from ``ix_episodes_ns_status``
        (no table rows read).
        """
        count, max_updated = self.pool.reader().execute(_COMPLETED_KEY_SQL, (namespace,)).fetchone()
        return int(count), float(max_updated)

    def completed_rows(
        self, namespace: str, *, updated_after: float | None = None
    ) -> Iterator[sqlite3.Row]:
        """Completed episodes of ``namespace`` for the episode index, in rowid order.

        Columns ``id, domain, task_type, reward_total, completed_at, vector``;
        with ``updated_after``, only rows updated later than it (unix seconds).
        """
        conn = self.pool.reader()
        if updated_after is None:
            return conn.execute(_COMPLETED_ROWS_SQL + " ORDER BY rowid", (namespace,))
        return conn.execute(
            _COMPLETED_ROWS_SQL + " AND updated_at > ? ORDER BY rowid", (namespace, updated_after)
        )

    def domain_medians(self, namespace: str, domain: str) -> DomainMedians:
        """``(episodes, median duration s, median steps)`` over the domain's recent completions."""
        rows = (
            self.pool.reader()
            .execute(
                "SELECT completed_at - started_at, step_count FROM episodes "
                "WHERE namespace = ? AND domain = ? AND status = 'completed' "
                "ORDER BY completed_at DESC LIMIT ?",
                (namespace, domain, MEDIAN_WINDOW),
            )
            .fetchall()
        )
        if not rows:
            return (0, 0.0, 0.0)
        data = np.asarray([(r[0], r[1]) for r in rows], dtype=np.float64)
        return (len(rows), float(np.median(data[:, 0])), float(np.median(data[:, 1])))

    # --- writes ---------------------------------------------------------------
    def insert(
        self, id: str, item: EpisodeInput, vector: np.ndarray[Any, Any] | None, now: float
    ) -> None:
        """Insert a running episode (one transaction)."""
        with self.pool.write() as conn:
            conn.execute(
                "INSERT INTO episodes(id, namespace, task_description, domain, task_type, "
                "context, status, agent_id, tags, metadata, started_at, updated_at, vector) "
                "VALUES (?,?,?,?,?,?, 'running', ?,?,?,?,?,?)",
                (
                    id,
                    item.namespace,
                    item.task_description,
                    item.domain,
                    item.task_type,
                    item.context.model_dump_json(),
                    item.agent_id,
                    dumps(item.tags),
                    dumps(item.metadata),
                    now,
                    now,
                    None if vector is None else encode_vector(vector),
                ),
            )

    def _running(self, conn: sqlite3.Connection, id: str, namespace: str) -> sqlite3.Row:
        row = self._row(conn, id, namespace)
        if row["status"] != "running":
            raise EpisodeAlreadyCompleted(
                f"episode {id} is already completed", id=id, namespace=namespace
            )
        return row

    def append_steps(
        self, id: str, namespace: str, steps: Sequence[StepInput], now: float
    ) -> builtins.list[Step]:
        """Append steps (numbered after the last one) in one transaction; returns them.

        Raises:
            EpisodeNotFound, EpisodeAlreadyCompleted.
        """
        with self.pool.write() as conn:
            row = self._running(conn, id, namespace)
            first = int(row["step_count"]) + 1
            out: builtins.list[Step] = []
            for number, step in enumerate(steps, start=first):
                conn.execute(
                    "INSERT INTO episode_steps VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        id,
                        number,
                        step.tool,
                        step.action,
                        dumps(step.parameters),
                        step.result.status,
                        step.result.output,
                        step.result.message,
                        step.latency_ms,
                        step.tokens,
                        now,
                    ),
                )
                out.append(Step(**step.model_dump(), number=number, created_at=_ts(now)))
            conn.execute(
                "UPDATE episodes SET step_count = ?, updated_at = ? WHERE rowid = ?",
                (first - 1 + len(steps), now, row["rowid"]),
            )
        return out

    def complete(
        self,
        id: str,
        namespace: str,
        *,
        outcome: Outcome,
        reward: RewardScore,
        reflection: Reflection,
        applied: Sequence[str],
        step_count: int,
        vector: np.ndarray[Any, Any] | None,
        queue_reason: str | None,
        now: float,
    ) -> CompletionResult:
        """Mark the episode completed and, unless ``queue_reason`` says why not, queue extraction.

        One transaction: the completion and its ``extraction_queue`` row commit
        together, so a crash never loses the queued work. ``step_count`` must
        still match (a step logged concurrently makes this raise ``Conflict``).

        Raises:
            EpisodeNotFound, EpisodeAlreadyCompleted, Conflict.
        """
        with self.pool.write() as conn:
            row = self._running(conn, id, namespace)
            if int(row["step_count"]) != step_count:
                raise Conflict(
                    f"episode {id} changed while completing; retry", id=id, namespace=namespace
                )
            conn.execute(
                "UPDATE episodes SET status = 'completed', outcome = ?, outcome_type = ?, "
                "reward = ?, reward_total = ?, reflection = ?, applied_patterns = ?, "
                "completed_at = ?, updated_at = ?, vector = coalesce(vector, ?) WHERE rowid = ?",
                (
                    outcome.model_dump_json(),
                    outcome.type,
                    reward.model_dump_json(),
                    reward.total,
                    reflection.model_dump_json(),
                    dumps(list(applied)),
                    now,
                    now,
                    None if vector is None else encode_vector(vector),
                    row["rowid"],
                ),
            )
            if queue_reason is None:
                conn.execute(
                    "INSERT OR IGNORE INTO extraction_queue(episode_id, namespace, enqueued_at) "
                    "VALUES (?,?,?)",
                    (id, namespace, now),
                )
        episode = self.get(id, namespace)
        return CompletionResult(
            episode=episode,
            extraction=ExtractionStatus(queued=queue_reason is None, reason=queue_reason),
        )

    def update(
        self,
        id: str,
        namespace: str,
        tags: builtins.list[str] | None,
        metadata: dict[str, Any] | None,
        now: float,
    ) -> None:
        """Replace tags and/or merge metadata keys. Raises ``EpisodeNotFound``."""
        with self.pool.write() as conn:
            row = self._row(conn, id, namespace)
            merged = {**json.loads(row["metadata"]), **(metadata or {})}
            conn.execute(
                "UPDATE episodes SET tags = ?, metadata = ?, updated_at = ? WHERE rowid = ?",
                (
                    dumps(tags) if tags is not None else row["tags"],
                    dumps(merged),
                    now,
                    row["rowid"],
                ),
            )

    def delete(self, id: str, namespace: str) -> builtins.list[str]:
        """Delete an episode, its steps, checkpoints, queue row and pattern evidence.

        Returns the ids of patterns whose evidence changed; their counts are
        recomputed in the same transaction and those left without evidence
        are archived. Raises ``EpisodeNotFound``.
        """
        with self.pool.write() as conn:
            row = self._row(conn, id, namespace)
            touched = [
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT pattern_id FROM pattern_sources WHERE episode_id = ?", (id,)
                )
            ]
            for table, column in (
                ("episode_steps", "episode_id"),
                ("episode_checkpoints", "episode_id"),
                ("extraction_queue", "episode_id"),
                ("pattern_sources", "episode_id"),
            ):
                conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (id,))  # nosec B608 # constant SQL, '?' marks; values bound
            conn.execute("DELETE FROM episodes WHERE rowid = ?", (row["rowid"],))
            for pattern_id in touched:
                refresh_pattern_counts(conn, pattern_id)
                conn.execute(  # no evidence left: stop recommending it
                    "UPDATE patterns SET archived_at = ? WHERE id = ? AND occurrences = 0",
                    (time.time(), pattern_id),
                )
        return touched

    def add_checkpoint(
        self, id: str, namespace: str, note: str, agent_id: str | None, now: float
    ) -> int:
        """Record a checkpoint of a running episode; returns its sequence number (1-based)."""
        with self.pool.write() as conn:
            row = self._running(conn, id, namespace)
            seq = int(
                conn.execute(
                    "SELECT coalesce(max(seq), 0) + 1 FROM episode_checkpoints "
                    "WHERE episode_id = ?",
                    (id,),
                ).fetchone()[0]
            )
            conn.execute(
                "INSERT INTO episode_checkpoints VALUES (?,?,?,?,?,?)",
                (id, seq, note, agent_id, row["step_count"], now),
            )
            if agent_id is not None:
                conn.execute(
                    "UPDATE episodes SET agent_id = ?, updated_at = ? WHERE rowid = ?",
                    (agent_id, now, row["rowid"]),
                )
        return seq

    def last_checkpoint(self, id: str) -> sqlite3.Row | None:
        """The latest checkpoint row of an episode (``None`` if there is none)."""
        row: sqlite3.Row | None = (
            self.pool.reader()
            .execute(
                "SELECT * FROM episode_checkpoints WHERE episode_id = ? ORDER BY seq DESC LIMIT 1",
                (id,),
            )
            .fetchone()
        )
        return row


def refresh_pattern_counts(conn: sqlite3.Connection, pattern_id: str) -> None:
    """Recompute a pattern's occurrences, successes and reward sum from ``pattern_sources``.

    Counts are derived, never incremented, so processing an episode twice or
    merging patterns cannot double-count (one source row per episode).
    """
    conn.execute(
        "UPDATE patterns SET "
        "occurrences = (SELECT count(DISTINCT episode_id) FROM pattern_sources "
        "  WHERE pattern_id = ?1), "
        "successes = (SELECT count(*) FROM (SELECT episode_id, max(success) s "
        "  FROM pattern_sources WHERE pattern_id = ?1 GROUP BY episode_id) WHERE s = 1), "
        "reward_sum = coalesce((SELECT sum(r) FROM (SELECT max(reward) r FROM pattern_sources "
        "  WHERE pattern_id = ?1 GROUP BY episode_id)), 0), "
        "last_used_at = max(last_used_at, coalesce((SELECT max(seen_at) FROM pattern_sources "
        "  WHERE pattern_id = ?1), 0)) "
        "WHERE id = ?1",
        (pattern_id,),
    )
