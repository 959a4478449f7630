"""The operations of :class:`memoryd.Client`: generated, do not edit.

Written by ``scripts/generate_client.py`` from the operation registry
(:mod:`memoryd.operations`: summaries) and ``Memory``'s signatures; each
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
    Page,
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
        """Save one memory (durable on return); the same content again returns the stored entry."""
        return self._call("add", locals(), "fields")

    def add_many(
        self, items: Iterable[MemoryInput | dict[str, Any]], *, batch_size: int = 256
    ) -> builtins.list[MemoryEntry]:
        """Save many memories in order, one transaction per batch."""
        return self._call("add_many", locals())

    def get(self, id: UUID | str, *, namespace: str = "default") -> MemoryEntry:
        """One entry by id (superseded entries included)."""
        return self._call("get", locals())

    def update(
        self,
        id: UUID | str,
        patch: MemoryPatch | dict[str, Any] | None = None,
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> MemoryEntry:
        """Change an entry in place (same id); new content is re-embedded."""
        return self._call("update", locals(), "fields")

    def delete(self, id: UUID | str, *, namespace: str = "default") -> None:
        """Delete an entry for good."""
        self._call("delete", locals())

    def supersede(
        self,
        id: UUID | str,
        content: str | MemoryInput | dict[str, Any],
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> MemoryEntry:
        """Replace an entry by a new one, keeping the old as history."""
        return self._call("supersede", locals(), "fields")

    def history(self, id: UUID | str, *, namespace: str = "default") -> builtins.list[MemoryEntry]:
        """The supersede chain of an entry, oldest first."""
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
        """A page of entries, newest first, filtered by kind, session, tags or a filter tree."""
        return self._call("list", locals())

    def search(self, query: str | SearchParams | dict[str, Any], **params: Any) -> SearchResult:
        """Hybrid (BM25 + vector, fused by RRF), vector or keyword search, best first."""
        return self._call("search", locals(), "params")

    def forget(
        self,
        *,
        namespace: str | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
    ) -> ForgetResult:
        """Erase a namespace, user or agent completely (with the derived data)."""
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
        """Append one conversation turn to a session."""
        return self._call("append", locals(), "fields")

    def session_messages(
        self, session_id: str, *, namespace: str = "default"
    ) -> builtins.list[MemoryEntry]:
        """Every turn of a session, oldest first."""
        return self._call("session_messages", locals())

    def last_messages(
        self, session_id: str, n: int = 10, *, namespace: str = "default"
    ) -> builtins.list[MemoryEntry]:
        """The last N turns of a session, oldest first."""
        return self._call("last_messages", locals())

    def set_state(
        self, session_id: str, key: str, value: Any, *, namespace: str = "default"
    ) -> MemoryEntry:
        """Save a JSON value under (session, key)."""
        return self._call("set_state", locals())

    def get_state(
        self, session_id: str, key: str, default: Any = MISSING, *, namespace: str = "default"
    ) -> Any:
        """The value under (session, key)."""
        return self._call("get_state", locals())

    def delete_state(self, session_id: str, key: str, *, namespace: str = "default") -> bool:
        """Delete a session value; false if there was none."""
        return self._call("delete_state", locals())

    def kv_set(
        self, key: str, value: Any, *, ttl_seconds: float | None = None, namespace: str = "default"
    ) -> MemoryEntry:
        """Save a JSON value under a key, optionally expiring."""
        return self._call("kv_set", locals())

    def kv_get(self, key: str, default: Any = MISSING, *, namespace: str = "default") -> Any:
        """The value under a key."""
        return self._call("kv_get", locals())

    def kv_delete(self, key: str, *, namespace: str = "default") -> bool:
        """Delete a key; false if there was none."""
        return self._call("kv_delete", locals())

    def start_episode(
        self,
        task_description: str | EpisodeInput | dict[str, Any],
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> Episode:
        """Start an episode for a task (status running, no steps)."""
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
        """A page of episodes (without steps), newest first."""
        return self._call("list_episodes", locals())

    def get_episode(
        self, episode_id: UUID | str, *, namespace: str = "default", include_steps: bool = True
    ) -> Episode:
        """One episode with its steps."""
        return self._call("get_episode", locals())

    def update_episode(
        self,
        episode_id: UUID | str,
        patch: EpisodePatch | dict[str, Any] | None = None,
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> Episode:
        """Replace an episode's tags and/or merge metadata keys."""
        return self._call("update_episode", locals(), "fields")

    def delete_episode(self, episode_id: UUID | str, *, namespace: str = "default") -> None:
        """Delete an episode, its steps and its evidence in patterns."""
        self._call("delete_episode", locals())

    def log_steps(
        self,
        episode_id: UUID | str,
        steps: Iterable[StepInput | dict[str, Any]],
        *,
        namespace: str = "default",
    ) -> builtins.list[Step]:
        """Append several steps to a running episode in one transaction."""
        return self._call("log_steps", locals())

    def log_step(
        self,
        episode_id: UUID | str,
        step: StepInput | dict[str, Any] | None = None,
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> Step:
        """Append one step (tool, action, result, parameters, latency, tokens)."""
        return self._call("log_step", locals(), "fields")

    def complete_episode(
        self,
        episode_id: UUID | str,
        outcome: Outcome | dict[str, Any],
        *,
        applied_patterns: Iterable[UUID | str] = (),
        namespace: str = "default",
    ) -> CompletionResult:
        """Complete an episode: reward, reflection, queued pattern extraction."""
        return self._call("complete_episode", locals())

    def checkpoint_episode(
        self,
        episode_id: UUID | str,
        *,
        note: str = "",
        agent_id: str | None = None,
        namespace: str = "default",
    ) -> HandoffPack:
        """Record a checkpoint of a running episode; returns its hand-off pack."""
        return self._call("checkpoint_episode", locals())

    def resume_episode(
        self, episode_id: UUID | str, *, agent_id: str | None = None, namespace: str = "default"
    ) -> HandoffPack:
        """The hand-off pack to continue a running episode (optionally taking it over)."""
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
        """The most useful past episodes and patterns for a new task, with reasons."""
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
        """Live patterns, best Wilson lower bound first."""
        return self._call("list_patterns", locals())

    def get_pattern(self, pattern_id: UUID | str, *, namespace: str = "default") -> Pattern:
        """One pattern (a merged pattern's id gives the one it was merged into)."""
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
        """Patterns whose description is closest to a query (cosine similarity)."""
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
        """Patterns for a task, best first: relevance, effectiveness, recency."""
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
        """Record whether a recommended pattern was applied and how it went."""
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
        """Patterns above a success rate, with statistics over them."""
        return self._call("analyze_patterns", locals())

    def extract_patterns(self, *, limit: int | None = None) -> ExtractionReport:
        """Drain the pattern-extraction queue now."""
        return self._call("extract_patterns", locals())

    def decay_patterns(
        self,
        *,
        namespace: str = "default",
        min_score: float = 0.05,
        min_age_days: float = 30.0,
        dry_run: bool = False,
    ) -> DecayReport:
        """Archive patterns whose decayed effectiveness fell below a score."""
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
        """Counts, sizes, index state and integrity of the store."""
        return self._call("stats", locals())

    def verify_storage(self) -> IntegrityReport:
        """Verify the store file now (SQLite's and FTS5's checks, checksums, id sets)."""
        return self._call("verify_storage", locals())

    def export(self, *, namespace: str | None = None, batch: int = 500) -> Iterator[MemoryEntry]:
        """Every entry with its vector (superseded included, expired excluded), streamed."""
        return self._call("export", locals())

    def import_entries(
        self, entries: Iterable[MemoryEntry | dict[str, Any]], *, batch: int = 500
    ) -> int:
        """Restore exported entries losslessly; existing ids are skipped."""
        return self._call("import_entries", locals())
