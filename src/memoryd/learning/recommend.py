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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from memoryd.learning.models import Pattern, PatternMatch
from memoryd.learning.pattern_rows import pattern_scores, row_to_pattern
from memoryd.learning.reward import REWARD_HALF_LIFE_DAYS
from memoryd.store.episodes import EpisodeStore
from memoryd.store.patterns import PatternStore
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
    ranked: list[tuple[float, str, float, float, float, float, sqlite3.Row]] = []
    for row in store.rows(namespace, kinds=kinds):
        vectors = (store.vector(row), store.task_centroid(row))
        sim = max(0.0, *(float(v @ query) for v in vectors if v is not None))
        if task_type is None:
            type_match = 0.0
        else:
            type_match = 0.5 if row["task_type"] is None else float(row["task_type"] == task_type)
        relevance = (
            0.6 * sim
            + 0.25 * float(domain is not None and row["domain"] == domain)
            + 0.15 * type_match
        )
        effectiveness, recency = pattern_scores(row, now=now)
        full = 0.45 * relevance + 0.40 * effectiveness + 0.15 * recency
        score = sim if mode == "search" else full
        ranked.append((score, row["id"], sim, relevance, effectiveness, recency, row))
    ranked.sort(key=lambda r: (-r[0], r[1]))
    scored: list[PatternMatch] = []
    for score, id, sim, relevance, effectiveness, recency, row in ranked[:limit]:
        pattern = row_to_pattern(row, now=now, retrieved_pending=(pending or {}).get(id, 0))
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
    return scored


@dataclass
class _Matrix:
    key: tuple[int, float] = (0, 0.0)
    ids: list[str] = field(default_factory=list)
    vectors: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((0, 0), dtype=np.float32)
    )
    domains: list[str] = field(default_factory=list)
    task_types: list[str] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    completed: list[float] = field(default_factory=list)
    without_vector: set[str] = field(default_factory=set)
    arrays: dict[str, npt.NDArray[Any]] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)

    def add(
        self, row: sqlite3.Row, position: dict[str, int], new: list[npt.NDArray[np.float32]]
    ) -> None:
        """Insert or replace one episode row (vector rows appended to ``new``)."""
        id = row["id"]
        if row["vector"] is None:
            self.without_vector.add(id)
            return
        self.without_vector.discard(id)
        vec = decode_vector(row["vector"])
        values = (row["domain"], row["task_type"], row["reward_total"] or 0.0, row["completed_at"])
        if id in position:
            i = position[id]
            self.vectors[i] = vec
            self.domains[i], self.task_types[i], self.rewards[i], self.completed[i] = values
            return
        position[id] = len(self.ids)
        self.ids.append(id)
        self.domains.append(values[0])
        self.task_types.append(values[1])
        self.rewards.append(values[2])
        self.completed.append(values[3])
        new.append(vec)

    def load(self, rows: Iterable[sqlite3.Row]) -> None:
        """Add or replace ``rows``, then rebuild the column arrays used by queries."""
        position = {id: i for i, id in enumerate(self.ids)}
        new: list[npt.NDArray[np.float32]] = []
        for row in rows:
            self.add(row, position, new)
        if new:
            stacked = np.vstack(new).astype(np.float32)
            self.vectors = stacked if self.vectors.size == 0 else np.vstack([self.vectors, stacked])
        self.codes = {v: i for i, v in enumerate(sorted({*self.domains, *self.task_types}))}
        self.arrays = {
            "domains": np.asarray([self.codes[d] for d in self.domains], dtype=np.int32),
            "task_types": np.asarray([self.codes[t] for t in self.task_types], dtype=np.int32),
            "rewards": np.asarray(self.rewards, dtype=np.float64),
            "completed": np.asarray(self.completed, dtype=np.float64),
        }


@dataclass(frozen=True)
class EpisodeScore:
    """One candidate episode: its id, score and the parts behind it."""

    id: str
    score: float
    similarity: float
    same_domain: bool
    same_task_type: bool
    decayed_reward: float


class EpisodeIndex:
    """Per-namespace in-memory matrix of completed episodes' task embeddings.

    Refreshed lazily on query: rows whose ``updated_at`` is above the cached
    maximum are loaded incrementally; a count that still differs (a
    deletion, another process) triggers a full reload. Episodes stored
    without a vector (embedding provider down) are tracked and picked up
    when they get one. Thread-safe.
    """

    def __init__(self, episodes: EpisodeStore) -> None:
        self.episodes = episodes
        self._lock = threading.Lock()
        self._matrices: dict[str, _Matrix] = {}

    def _refresh(self, namespace: str) -> _Matrix:
        key = self.episodes.completed_key(namespace)
        current = self._matrices.get(namespace)
        if current is not None and current.key == key:
            return current
        matrix = current if current is not None else _Matrix()
        matrix.load(
            self.episodes.completed_rows(
                namespace, updated_after=None if current is None else current.key[1]
            )
        )
        matrix.key = key
        if len(matrix.ids) + len(matrix.without_vector) != key[0]:
            # a deletion, or rows another process wrote with older times: reload everything
            return self._reload(namespace, key)
        self._matrices[namespace] = matrix
        return matrix

    def _reload(self, namespace: str, key: tuple[int, float]) -> _Matrix:
        matrix = _Matrix(key=key)
        matrix.load(self.episodes.completed_rows(namespace))
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
        a = m.arrays
        sims = np.clip(m.vectors @ query, 0.0, 1.0)
        same_domain = (a["domains"] == m.codes.get(domain or "", -1)).astype(np.float64)
        same_type = (a["task_types"] == m.codes.get(task_type or "", -1)).astype(np.float64)
        age_days = np.maximum(0.0, time.time() - a["completed"]) / 86_400.0
        decayed = a["rewards"] * np.power(0.5, age_days / REWARD_HALF_LIFE_DAYS)
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
