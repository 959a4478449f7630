"""The patterns component of ``Memory``: recommend, search, feedback, list, extract, decay, analyse.

Example::

    matches = memory.recommend_patterns("Fix a flaky checkout test", domain="web")
    best = matches[0].pattern                      # with .reasons for the ranking
    memory.record_feedback(best.id, applied=True, success=False, reward=0.1)
    memory.analyze_patterns(task_type="debugging", min_success_rate=0.6)
    memory.advanced_pattern_analysis("trend", {"reward": rewards})
"""

from __future__ import annotations

import builtins
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args
from uuid import UUID

from memoryd.bounds import MAX_PAGE_LIMIT, check_count
from memoryd.errors import ValidationError
from memoryd.learning.analysis import advanced_pattern_analysis as run_analysis
from memoryd.learning.base import LearningParts
from memoryd.learning.models import (
    DecayReport,
    ExtractionReport,
    FeedbackInput,
    Pattern,
    PatternAnalysis,
    PatternKind,
    PatternMatch,
    SeriesAnalysis,
    TaskType,
    coerce_model,
)
from memoryd.learning.pattern_rows import row_to_pattern
from memoryd.learning.recommend import rank_patterns

__all__ = ["Patterns"]


class Patterns:
    """Recommendations with feedback, pattern reads, extraction, decay and analysis.

    Args:
        learning: the pattern store, extractor and retrieval counters shared
            with the episodes component.
    """

    def __init__(self, learning: LearningParts) -> None:
        self.learning = learning
        self.pattern_store = learning.pattern_store

    def _rank(
        self,
        task: str,
        *,
        mode: Literal["recommend", "search"],
        namespace: str,
        domain: str | None,
        task_type: str | None,
        kinds: Sequence[PatternKind] | None,
        limit: int,
    ) -> builtins.list[PatternMatch]:
        check_count(limit, "limit", high=100)
        matches = rank_patterns(
            self.pattern_store,
            self.learning.query_vector(task),
            namespace=namespace,
            domain=domain,
            task_type=task_type,
            kinds=list(kinds or []) or None,
            limit=limit,
            mode=mode,
            pending=self.learning.pending_retrievals(),
        )
        if mode == "recommend":
            self.learning.count_retrievals([str(m.pattern.id) for m in matches])
        return matches

    def recommend_patterns(
        self,
        task: str,
        *,
        domain: str | None = None,
        task_type: str | None = None,
        kinds: Sequence[PatternKind] | None = None,
        limit: int = 5,
        namespace: str = "default",
    ) -> builtins.list[PatternMatch]:
        """Patterns for a task, best first: relevance, effectiveness (with feedback), recency.

        Each match carries its score parts and reasons (formula in
        ``learning/recommend.py``). Counts as a retrieval of each returned pattern.

        Raises:
            ValidationError (empty task, limit outside 1..100), BackendUnavailable, Timeout.
        """
        return self._rank(
            task,
            mode="recommend",
            namespace=namespace,
            domain=domain,
            task_type=task_type,
            kinds=kinds,
            limit=limit,
        )

    def search_patterns(
        self,
        query: str,
        *,
        domain: str | None = None,
        kinds: Sequence[PatternKind] | None = None,
        limit: int = 10,
        namespace: str = "default",
    ) -> builtins.list[PatternMatch]:
        """Patterns whose description is closest to ``query`` (cosine similarity only)."""
        return self._rank(
            query,
            mode="search",
            namespace=namespace,
            domain=domain,
            task_type=None,
            kinds=kinds,
            limit=limit,
        )

    def get_pattern(self, pattern_id: UUID | str, *, namespace: str = "default") -> Pattern:
        """The pattern (a merged pattern's id gives the pattern it was merged into).

        Raises:
            PatternNotFound.
        """
        row = self.pattern_store.row(str(pattern_id), namespace)
        pending = self.learning.pending_retrievals().get(row["id"], 0)
        return row_to_pattern(row, now=time.time(), retrieved_pending=pending)

    def list_patterns(
        self,
        *,
        namespace: str = "default",
        kinds: Sequence[PatternKind] | None = None,
        domain: str | None = None,
        task_type: str | None = None,
        include_archived: bool = False,
        limit: int = 100,
    ) -> builtins.list[Pattern]:
        """Live patterns, best Wilson lower bound first (ties: more occurrences, then id).

        Raises ``ValidationError`` (limit outside 1..1000).
        """
        check_count(limit, "limit", high=MAX_PAGE_LIMIT)
        return self._all_patterns(
            namespace, kinds=kinds, domain=domain, task_type=task_type, archived=include_archived
        )[:limit]

    def _all_patterns(
        self,
        namespace: str,
        *,
        kinds: Sequence[PatternKind] | None = None,
        domain: str | None = None,
        task_type: str | None = None,
        archived: bool = False,
    ) -> builtins.list[Pattern]:
        """Every matching pattern, best Wilson lower bound first (no limit)."""
        now, pending = time.time(), self.learning.pending_retrievals()
        rows = self.pattern_store.rows(
            namespace,
            kinds=list(kinds or []) or None,
            domain=domain,
            task_type=task_type,
            include_archived=archived,
        )
        patterns = [
            row_to_pattern(r, now=now, retrieved_pending=pending.get(r["id"], 0)) for r in rows
        ]
        patterns.sort(key=lambda p: (-p.wilson_lower_bound, -p.occurrences, str(p.id)))
        return patterns

    def record_feedback(
        self,
        pattern_id: UUID | str,
        *,
        applied: bool = True,
        success: bool | None = None,
        reward: float | None = None,
        episode_id: UUID | str | None = None,
        namespace: str = "default",
    ) -> Pattern:
        """Record whether a recommended pattern was applied and how it went; returns the pattern.

        Feedback with a known ``success`` counts in the pattern's
        effectiveness (weighted, see ``learning/scoring.py``) and so in the
        ranking; ``reward`` feeds ``mean_reward_when_applied``/``reward_delta``.

        Raises:
            PatternNotFound, ValidationError.
        """
        item = coerce_model(
            FeedbackInput,
            {"applied": applied, "success": success, "reward": reward, "episode_id": episode_id},
            "feedback",
        )
        row = self.pattern_store.row(str(pattern_id), namespace)
        self.pattern_store.add_feedback(
            row["id"],
            applied=item.applied,
            success=item.success,
            reward=item.reward,
            episode_id=None if item.episode_id is None else str(item.episode_id),
            now=time.time(),
        )
        return self.get_pattern(row["id"], namespace=namespace)

    def extract_patterns(self, *, limit: int | None = None) -> ExtractionReport:
        """Drain the extraction queue now (all namespaces), ``limit`` episodes at most.

        The background worker does the same continuously; this is for
        ``background=False`` engines, the CLI and tests. Returns what was done.
        """
        if limit is not None and limit < 1:
            raise ValidationError("limit must be positive", limit=limit)
        return self.learning.extractor.run(limit)

    def decay_patterns(
        self,
        *,
        namespace: str = "default",
        min_score: float = 0.05,
        min_age_days: float = 30.0,
        dry_run: bool = False,
    ) -> DecayReport:
        """Archive patterns whose decayed effectiveness fell below ``min_score``.

        A pattern is archived when ``wilson_lower_bound × decay < min_score``
        and it was last used at least ``min_age_days`` days ago. Archived
        patterns keep their evidence but are no longer recommended.

        Raises:
            ValidationError: ``min_score`` outside 0..1 or negative ``min_age_days``.
        """
        if not 0 <= min_score <= 1 or min_age_days < 0:
            raise ValidationError("min_score must be in 0..1 and min_age_days >= 0")
        now = time.time()
        patterns = self._all_patterns(namespace)
        stale = [
            p
            for p in patterns
            if p.wilson_lower_bound * p.decay < min_score
            and now - p.last_used_at.timestamp() >= min_age_days * 86_400.0
        ]
        if not dry_run:
            self.pattern_store.archive([str(p.id) for p in stale], now)
        return DecayReport(checked=len(patterns), archived=[p.id for p in stale])

    def analyze_patterns(
        self,
        *,
        task_type: str | None = None,
        min_success_rate: float = 0.0,
        limit: int = 20,
        domain: str | None = None,
        namespace: str = "default",
    ) -> PatternAnalysis:
        """Patterns with ``success_rate >= min_success_rate`` and statistics over them.

        Raises ``ValidationError`` (``min_success_rate`` outside 0..1, limit outside 1..1000).
        """
        if not 0 <= min_success_rate <= 1:
            raise ValidationError("min_success_rate must be between 0 and 1")
        if task_type is not None and task_type not in get_args(TaskType):
            raise ValidationError(f"unknown task_type {task_type!r}", task_type=task_type)
        check_count(limit, "limit", high=MAX_PAGE_LIMIT)
        patterns = [
            p
            for p in self._all_patterns(namespace, task_type=task_type, domain=domain)
            if p.success_rate >= min_success_rate
        ]
        n = len(patterns)
        return PatternAnalysis.model_validate(
            {
                "task_type": task_type,
                "min_success_rate": min_success_rate,
                "count": n,
                "by_kind": Counter(p.kind for p in patterns),
                "total_occurrences": sum(p.occurrences for p in patterns),
                "mean_success_rate": sum(p.success_rate for p in patterns) / n if n else None,
                "mean_wilson_lower_bound": (
                    sum(p.wilson_lower_bound for p in patterns) / n if n else None
                ),
                "patterns": patterns[:limit],
            }
        )

    def advanced_pattern_analysis(
        self,
        kind: str,
        series: Mapping[str, Sequence[float]],
        config: Mapping[str, Any] | None = None,
    ) -> SeriesAnalysis:
        """Statistics, trend, forecast, anomalies, change points or Granger causality on series.

        See ``learning/analysis.py`` for kinds, config and sources.

        Raises:
            ValidationError (unknown kind, bad config), InvalidSeries (lengths, NaN, too short).
        """
        return run_analysis(kind, series, config)
