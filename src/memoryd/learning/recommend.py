"""Ranking past episodes and patterns for a new task.

Pattern score (each part 0..1)::

    similarity    = max(cos(task, pattern description),
                        cos(task, mean task embedding of the pattern's source episodes))
    relevance     = 0.6 × similarity + 0.25 × [same domain] + 0.15 × [same task type]
    effectiveness = Wilson lower bound of sources + weighted feedback
                    (``learning/scoring.py``)
    recency       = 0.5 ** (days since last use / 30)
    score         = 0.45 × relevance + 0.40 × effectiveness + 0.15 × recency

A pattern "used on tasks like yours" is relevant even when its own text (a
list of tool names) says little: descriptions of tool sequences sit at
cosine 0.0–0.1 from a task text, their source tasks at 0.5–0.8. Patterns
without a task type (decision points, error recoveries) get half the task
type term. ``mode="search"`` ranks by similarity alone (``memoryd pattern
search``).

Episode score (completed episodes with a task embedding)::

    score = 0.6 × cos(task, episode task) + 0.15 × [same domain]
          + 0.05 × [same task type] + 0.2 × clip(decayed reward / 1.2, 0, 1)

with the reward time decay of ``learning/reward.py``. The episode vectors
of a namespace are kept as one in-memory float32 matrix, refreshed when the
``(count, max(updated_at))`` of its completed episodes changes, so a query
is one matrix-vector product (about 1 ms for 10,000 episodes).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from memoryd.learning.models import Pattern, PatternMatch
from memoryd.learning.pattern_store import PatternStore, row_to_pattern
from memoryd.learning.reward import REWARD_HALF_LIFE_DAYS
from memoryd.store.connection import ConnectionPool
from memoryd.store.rows import decode_vector

__all__ = ["EpisodeIndex", "EpisodeScore", "rank_patterns"]


def _reasons(pattern: Pattern, sim: float, domain: str | None, task_type: str | None) -> list[str]:
    out = [f"similar to the task (cosine {sim:.2f})"]
    if domain is not None and pattern.domain == domain:
        out.append(f"same domain {domain!r}")
    if task_type is not None and pattern.task_type == task_type:
        out.append(f"same task type {task_type!r}")
    out.append(
        f"succeeded in {pattern.successes} of {pattern.occurrences} episodes "
        f"(Wilson lower bound {pattern.wilson_lower_bound:.2f})"
    )
    eff = pattern.effectiveness
    if eff.applied:
        worked = eff.applied_successes
        out.append(f"applied {eff.applied} time(s) by agents, worked {worked} time(s)")
    days = (time.time() - pattern.last_used_at.timestamp()) / 86_400.0
    out.append(f"last used {days:.1f} days ago")
    return out


def rank_patterns(
    store: PatternStore,
    query: npt.NDArray[np.float32],
    *,
    namespace: str,
    domain: str | None,
    task_type: str | None,
    kinds: Sequence[str] | None,
    limit: int,
    mode: Literal["recommend", "search"] = "recommend",
    pending: dict[str, int] | None = None,
) -> list[PatternMatch]:
    """Live patterns of ``namespace`` ranked for a task (formula in the module docstring).

    Args:
        store: the pattern store.
        query: ``(dim,)`` unit embedding of the task text.
        namespace, domain, task_type, kinds: scope and preferences (``kinds``
            restricts, ``domain``/``task_type`` only boost).
        limit: how many to return.
        mode: ``recommend`` (full score) or ``search`` (relevance only).
        pending: retrieval counts not yet flushed, per pattern id.
    """
    now = time.time()
    rows = store.rows(namespace, kinds=kinds)
    scored: list[PatternMatch] = []
    for row in rows:
        pattern = row_to_pattern(row, now=now, retrieved_pending=(pending or {}).get(row["id"], 0))
        sims = [
            float(v @ query) for v in (store.vector(row), store.task_centroid(row)) if v is not None
        ]
        sim = max(0.0, *sims)
        if task_type is None:
            type_match = 0.0
        else:
            type_match = 0.5 if pattern.task_type is None else float(pattern.task_type == task_type)
        relevance = (
            0.6 * sim
            + 0.25 * float(domain is not None and pattern.domain == domain)
            + 0.15 * type_match
        )
        effectiveness = pattern.wilson_lower_bound
        recency = pattern.decay
        full = 0.45 * relevance + 0.40 * effectiveness + 0.15 * recency
        score = sim if mode == "search" else full
        scored.append(
            PatternMatch(
                pattern=pattern,
                score=round(score, 6),
                relevance=round(relevance, 6),
                effectiveness=round(effectiveness, 6),
                recency=round(recency, 6),
                reasons=_reasons(pattern, sim, domain, task_type),
            )
        )
    scored.sort(key=lambda m: (-m.score, str(m.pattern.id)))
    return scored[:limit]


@dataclass
class _Matrix:
    key: tuple[int, float] = (0, 0.0)
    ids: list[str] = field(default_factory=list)
    vectors: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((0, 0), dtype=np.float32)
    )
    domains: list[str] = field(default_factory=list)
    task_types: list[str] = field(default_factory=list)
    rewards: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    completed: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))


@dataclass(frozen=True)
class EpisodeScore:
    """One candidate episode: its id, score and the parts behind it."""

    id: str
    score: float
    similarity: float
    same_domain: bool
    same_task_type: bool
    decayed_reward: float


_KEY_SQL = (
    "SELECT count(*), coalesce(max(updated_at), 0) FROM episodes "
    "WHERE namespace = ? AND status = 'completed' AND vector IS NOT NULL"
)
_ROWS_SQL = (
    "SELECT id, domain, task_type, reward_total, completed_at, vector FROM episodes "
    "WHERE namespace = ? AND status = 'completed' AND vector IS NOT NULL"
)


class EpisodeIndex:
    """Per-namespace in-memory matrix of completed episodes' task embeddings.

    Refreshed lazily on query: new or changed rows (``updated_at`` above the
    cached maximum) are loaded incrementally; a count that still differs
    (a deletion, another process) triggers a full reload. Thread-safe.
    """

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self._lock = threading.Lock()
        self._matrices: dict[str, _Matrix] = {}

    def _load(
        self, conn: sqlite3.Connection, namespace: str, since: float | None
    ) -> list[sqlite3.Row]:
        if since is None:
            return conn.execute(_ROWS_SQL + " ORDER BY rowid", (namespace,)).fetchall()
        return conn.execute(
            _ROWS_SQL + " AND updated_at > ? ORDER BY rowid", (namespace, since)
        ).fetchall()

    def _refresh(self, namespace: str) -> _Matrix:
        conn = self.pool.reader()
        count, max_updated = conn.execute(_KEY_SQL, (namespace,)).fetchone()
        key = (int(count), float(max_updated))
        current = self._matrices.get(namespace)
        if current is not None and current.key == key:
            return current
        rows = self._load(conn, namespace, current.key[1] if current and current.ids else None)
        matrix = _Matrix() if current is None or not current.ids else current
        position = {id: i for i, id in enumerate(matrix.ids)}
        new_vectors: list[npt.NDArray[np.float32]] = []
        rewards = list(matrix.rewards)
        completed = list(matrix.completed)
        vectors = matrix.vectors
        for row in rows:
            vec = decode_vector(row["vector"])
            if row["id"] in position:
                i = position[row["id"]]
                vectors[i] = vec
                rewards[i], completed[i] = row["reward_total"] or 0.0, row["completed_at"]
                matrix.domains[i], matrix.task_types[i] = row["domain"], row["task_type"]
                continue
            matrix.ids.append(row["id"])
            matrix.domains.append(row["domain"])
            matrix.task_types.append(row["task_type"])
            rewards.append(row["reward_total"] or 0.0)
            completed.append(row["completed_at"])
            new_vectors.append(vec)
        if new_vectors:
            stacked = np.vstack(new_vectors).astype(np.float32)
            vectors = stacked if vectors.size == 0 else np.vstack([vectors, stacked])
        matrix.vectors = vectors
        matrix.rewards = np.asarray(rewards, dtype=np.float64)
        matrix.completed = np.asarray(completed, dtype=np.float64)
        matrix.key = key
        if len(matrix.ids) != key[0]:
            matrix = _Matrix()  # deletions or a concurrent writer: reload everything
            self._matrices.pop(namespace, None)
            return self._refresh_full(namespace, key)
        self._matrices[namespace] = matrix
        return matrix

    def _refresh_full(self, namespace: str, key: tuple[int, float]) -> _Matrix:
        rows = self._load(self.pool.reader(), namespace, None)
        matrix = _Matrix(
            key=key,
            ids=[r["id"] for r in rows],
            vectors=(
                np.vstack([decode_vector(r["vector"]) for r in rows]).astype(np.float32)
                if rows
                else np.zeros((0, 0), dtype=np.float32)
            ),
            domains=[r["domain"] for r in rows],
            task_types=[r["task_type"] for r in rows],
            rewards=np.asarray([r["reward_total"] or 0.0 for r in rows], dtype=np.float64),
            completed=np.asarray([r["completed_at"] for r in rows], dtype=np.float64),
        )
        self._matrices[namespace] = matrix
        return matrix

    def invalidate(self, namespace: str) -> None:
        """Drop the cached matrix of ``namespace`` (next query reloads it)."""
        with self._lock:
            self._matrices.pop(namespace, None)

    def query(
        self,
        namespace: str,
        query: npt.NDArray[np.float32],
        *,
        domain: str | None,
        task_type: str | None,
        limit: int,
    ) -> list[EpisodeScore]:
        """The ``limit`` best completed episodes for a task (formula in the module docstring)."""
        with self._lock:
            m = self._refresh(namespace)
        if not m.ids:
            return []
        sims = np.clip(m.vectors @ query, 0.0, 1.0)
        same_domain = np.asarray([d == domain for d in m.domains], dtype=np.float64)
        same_type = np.asarray([t == task_type for t in m.task_types], dtype=np.float64)
        now = time.time()
        age_days = np.maximum(0.0, now - m.completed) / 86_400.0
        decayed = m.rewards * np.power(0.5, age_days / REWARD_HALF_LIFE_DAYS)
        scores = (
            0.6 * sims + 0.15 * same_domain + 0.05 * same_type + 0.2 * np.clip(decayed / 1.2, 0, 1)
        )
        k = min(limit, len(m.ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [
            EpisodeScore(
                id=m.ids[i],
                score=float(scores[i]),
                similarity=float(sims[i]),
                same_domain=bool(same_domain[i]),
                same_task_type=bool(same_type[i]),
                decayed_reward=float(decayed[i]),
            )
            for i in top.tolist()
        ]
