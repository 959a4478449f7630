"""The operations of :class:`memoryd.Client`: generated, do not edit.

Written by ``scripts/generate_client.py`` from the operation registry
(:mod:`memoryd.operations`) and ``Memory``'s signatures and docstrings; each
method hands its arguments (``locals()``) to ``ClientBase._call``, which builds the request
(:mod:`memoryd.client.requests`) and routes it. Regenerate with
``python scripts/generate_client.py``; ``tests/test_generated_client.py`` fails
when this file is stale.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from memoryd.client.base import ClientBase
from memoryd.inputs import MISSING
from memoryd.learning.models import (
    CompletionResult,
    ContextResult,
    DecayReport,
    Episode,
    EpisodeInput,
    EpisodePage,
    EpisodePatch,
    ExtractionReport,
    HandoffPack,
    Outcome,
    Pattern,
    PatternAnalysis,
    PatternKind,
    PatternMatch,
    SeriesAnalysis,
    Step,
    StepInput,
    TaskContext,
)
from memoryd.reports import ForgetResult, IntegrityReport, StoreStats
from memoryd.types import (
    Filter,
    Kind,
    MemoryEntry,
    MemoryInput,
    MemoryPatch,
    PackedContext,
    Page,
    SearchMode,
    SearchParams,
    SearchResult,
)

__all__ = ["Client"]


class Client(ClientBase):
    """The methods of :class:`memoryd.Memory` over a running daemon's REST API.

    Arguments, errors, routing and lifecycle are :class:`~memoryd.client.base.ClientBase`'s;
    each method's full documentation is its ``Memory`` namesake's.
    """

    def add(self, content: str | MemoryInput | dict[str, Any], **fields: Any) -> MemoryEntry:
        """Save one memory; returns the stored entry (or the existing duplicate)."""
        return self._call("add", locals(), "fields")

    def add_many(
        self, items: Iterable[MemoryInput | dict[str, Any]], *, batch_size: int = 256
    ) -> builtins.list[MemoryEntry]:
        """Save many memories; each batch of up to ``batch_size`` is one transaction."""
        return self._call("add_many", locals())

    def get(self, id: UUID | str, *, namespace: str = "default") -> MemoryEntry:
        """The entry ``id`` in ``namespace`` (superseded entries included)."""
        return self._call("get", locals())

    def update(
        self,
        id: UUID | str,
        patch: MemoryPatch | dict[str, Any] | None = None,
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> MemoryEntry:
        """Change an entry in place (same id); new content is re-embedded and re-indexed."""
        return self._call("update", locals(), "fields")

    def delete(self, id: UUID | str, *, namespace: str = "default") -> None:
        """Delete an entry for good, with what only it used. Raises ``NotFound``."""
        self._call("delete", locals())

    def supersede(
        self,
        id: UUID | str,
        content: str | MemoryInput | dict[str, Any],
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> MemoryEntry:
        """Replace entry ``id`` by a new entry, keeping the old one as history."""
        return self._call("supersede", locals(), "fields")

    def history(self, id: UUID | str, *, namespace: str = "default") -> builtins.list[MemoryEntry]:
        """The supersede chain containing ``id``, oldest first. Raises ``NotFound``."""
        return self._call("history", locals())

    def list(
        self,
        *,
        namespace: str = "default",
        kinds: Sequence[Kind] | None = None,
        session_id: str | None = None,
        tags: Sequence[str] | None = None,
        filter: Filter | dict[str, Any] | None = None,
        limit: int = 50,
        cursor: str | None = None,
        include_superseded: bool = False,
    ) -> Page:
        """A page of entries, newest first (``created_at``, then insertion order)."""
        return self._call("list", locals())

    def search(self, query: str | SearchParams | dict[str, Any], **params: Any) -> SearchResult:
        """Search memories (hybrid by default); see :class:`~memoryd.types.SearchParams`."""
        return self._call("search", locals(), "params")

    def pack_context(
        self,
        query: str,
        *,
        budget_tokens: int = 2000,
        namespace: str = "default",
        kinds: Sequence[Kind] | None = None,
        tags: Sequence[str] | None = None,
        session_id: str | None = None,
        filter: Filter | dict[str, Any] | None = None,
        mode: SearchMode = "hybrid",
        limit: int = 50,
    ) -> PackedContext:
        """The best memories for ``query``, packed into ``budget_tokens``, in reading order."""
        return self._call("pack_context", locals())

    def forget(
        self,
        *,
        namespace: str | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
    ) -> ForgetResult:
        """Erase everything of a subject; returns the counts removed."""
        return self._call("forget", locals())

    def append(
        self,
        session_id: str,
        content: str,
        *,
        role: str = "user",
        namespace: str = "default",
        created_at: datetime | None = None,
        **fields: Any,
    ) -> MemoryEntry:
        """Append one conversation turn to ``session_id``; returns the stored entry."""
        return self._call("append", locals(), "fields")

    def session_messages(
        self, session_id: str, *, namespace: str = "default"
    ) -> builtins.list[MemoryEntry]:
        """Every turn of a session, oldest first."""
        return self._call("session_messages", locals())

    def last_messages(
        self, session_id: str, n: int = 10, *, namespace: str = "default"
    ) -> builtins.list[MemoryEntry]:
        """The last ``n`` turns of a session, oldest first."""
        return self._call("last_messages", locals())

    def set_state(
        self, session_id: str, key: str, value: Any, *, namespace: str = "default"
    ) -> MemoryEntry:
        """Save a JSON ``value`` under ``(session_id, key)``; returns the entry."""
        return self._call("set_state", locals())

    def get_state(
        self, session_id: str, key: str, default: Any = MISSING, *, namespace: str = "default"
    ) -> Any:
        """The value under ``(session_id, key)``; ``default`` if given, else ``NotFound``."""
        return self._call("get_state", locals())

    def delete_state(self, session_id: str, key: str, *, namespace: str = "default") -> bool:
        """Delete a state value; ``False`` if there was none."""
        return self._call("delete_state", locals())

    def kv_set(
        self, key: str, value: Any, *, ttl_seconds: float | None = None, namespace: str = "default"
    ) -> MemoryEntry:
        """Save a JSON ``value`` under ``key``, optionally expiring after ``ttl_seconds``."""
        return self._call("kv_set", locals())

    def kv_get(self, key: str, default: Any = MISSING, *, namespace: str = "default") -> Any:
        """The value under ``key``; ``default`` if given, else ``NotFound``."""
        return self._call("kv_get", locals())

    def kv_delete(self, key: str, *, namespace: str = "default") -> bool:
        """Delete a key; ``False`` if there was none."""
        return self._call("kv_delete", locals())

    def start_episode(
        self,
        task_description: str | EpisodeInput | dict[str, Any],
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> Episode:
        """Start an episode for a task; returns it (status ``running``, no steps)."""
        return self._call("start_episode", locals(), "fields")

    def list_episodes(
        self,
        *,
        namespace: str = "default",
        domain: str | None = None,
        task_type: str | None = None,
        status: str | None = None,
        outcome: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> EpisodePage:
        """A page of episodes (without steps), newest first, filtered by the given fields."""
        return self._call("list_episodes", locals())

    def get_episode(
        self, episode_id: UUID | str, *, namespace: str = "default", include_steps: bool = True
    ) -> Episode:
        """The episode with its steps (``include_steps=False`` skips them)."""
        return self._call("get_episode", locals())

    def update_episode(
        self,
        episode_id: UUID | str,
        patch: EpisodePatch | dict[str, Any] | None = None,
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> Episode:
        """Replace ``tags`` and/or merge ``metadata`` keys."""
        return self._call("update_episode", locals(), "fields")

    def delete_episode(self, episode_id: UUID | str, *, namespace: str = "default") -> None:
        """Delete an episode, its steps and its evidence in patterns. Raises ``EpisodeNotFound``."""
        self._call("delete_episode", locals())

    def log_steps(
        self,
        episode_id: UUID | str,
        steps: Iterable[StepInput | dict[str, Any]],
        *,
        namespace: str = "default",
    ) -> builtins.list[Step]:
        """Append several steps in one transaction (committed before returning); returns them."""
        return self._call("log_steps", locals())

    def log_step(
        self,
        episode_id: UUID | str,
        step: StepInput | dict[str, Any] | None = None,
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> Step:
        """Append one step (``tool``, ``action``, ``result``, ``parameters``, latency, tokens)."""
        return self._call("log_step", locals(), "fields")

    def complete_episode(
        self,
        episode_id: UUID | str,
        outcome: Outcome | dict[str, Any],
        *,
        applied_patterns: Iterable[UUID | str] = (),
        namespace: str = "default",
    ) -> CompletionResult:
        """Complete an episode: reward, reflection, and queue pattern extraction (one
        transaction).
        """
        return self._call("complete_episode", locals())

    def checkpoint_episode(
        self,
        episode_id: UUID | str,
        *,
        note: str = "",
        agent_id: str | None = None,
        namespace: str = "default",
    ) -> HandoffPack:
        """Record a checkpoint of a running episode and return its hand-off pack."""
        return self._call("checkpoint_episode", locals())

    def resume_episode(
        self, episode_id: UUID | str, *, agent_id: str | None = None, namespace: str = "default"
    ) -> HandoffPack:
        """The hand-off pack to continue a running episode (``agent_id`` takes it over)."""
        return self._call("resume_episode", locals())

    def retrieve_context(
        self,
        task: str,
        *,
        domain: str | None = None,
        task_type: str | None = None,
        context: TaskContext | dict[str, Any] | None = None,
        limit: int = 5,
        namespace: str = "default",
    ) -> ContextResult:
        """The most useful past episodes and patterns for a new task, with the reasons."""
        return self._call("retrieve_context", locals())

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
        """Live patterns, best Wilson lower bound first (ties: more occurrences, then id)."""
        return self._call("list_patterns", locals())

    def get_pattern(self, pattern_id: UUID | str, *, namespace: str = "default") -> Pattern:
        """The pattern (a merged pattern's id gives the pattern it was merged into)."""
        return self._call("get_pattern", locals())

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
        return self._call("search_patterns", locals())

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
        """Patterns for a task, best first: relevance, effectiveness (with feedback), recency."""
        return self._call("recommend_patterns", locals())

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
        """Record whether a recommended pattern was applied and how it went; returns the pattern."""
        return self._call("record_feedback", locals())

    def analyze_patterns(
        self,
        *,
        task_type: str | None = None,
        min_success_rate: float = 0.0,
        limit: int = 20,
        domain: str | None = None,
        namespace: str = "default",
    ) -> PatternAnalysis:
        """Patterns with ``success_rate >= min_success_rate`` and statistics over them."""
        return self._call("analyze_patterns", locals())

    def extract_patterns(self, *, limit: int | None = None) -> ExtractionReport:
        """Drain the extraction queue now (all namespaces), ``limit`` episodes at most."""
        return self._call("extract_patterns", locals())

    def decay_patterns(
        self,
        *,
        namespace: str = "default",
        min_score: float = 0.05,
        min_age_days: float = 30.0,
        dry_run: bool = False,
    ) -> DecayReport:
        """Archive patterns whose decayed effectiveness fell below ``min_score``."""
        return self._call("decay_patterns", locals())

    def advanced_pattern_analysis(
        self,
        kind: str,
        series: Mapping[str, Sequence[float]],
        config: Mapping[str, Any] | None = None,
    ) -> SeriesAnalysis:
        """Statistics, trend, forecast, anomalies, change points or Granger causality on series."""
        return self._call("advanced_pattern_analysis", locals())

    def stats(self) -> StoreStats:
        """Counts, sizes, index state and integrity of the store; this engine's deferred writes."""
        return self._call("stats", locals())

    def verify_storage(self) -> IntegrityReport:
        """Verify the store file now: the full check of ``store/integrity.py``."""
        return self._call("verify_storage", locals())

    def export(self, *, namespace: str | None = None, batch: int = 500) -> Iterator[MemoryEntry]:
        """Every entry (all kinds, superseded included, expired excluded) with its vector."""
        return self._call("export", locals())

    def import_entries(
        self, entries: Iterable[MemoryEntry | dict[str, Any]], *, batch: int = 500
    ) -> int:
        """Restore exported entries losslessly (ids, times, history links, vectors)."""
        return self._call("import_entries", locals())
