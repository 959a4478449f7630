"""The operations of :class:`memoryd.Client`: generated, do not edit.

Written by ``scripts/generate_client.py`` from the operation registry
(:mod:`memoryd.operations`: summaries) and ``Memory``'s signatures; each
method hands its arguments to ``ClientBase._call``, which builds the request
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
        return self._call("add", {"content": content, **fields})

    def add_many(
        self, items: Iterable[MemoryInput | dict[str, Any]], *, batch_size: int = 256
    ) -> builtins.list[MemoryEntry]:
        """Save many memories in order, one transaction per batch."""
        return self._call("add_many", {"items": items, "batch_size": batch_size})

    def get(self, id: UUID | str, *, namespace: str = "default") -> MemoryEntry:
        """One entry by id (superseded entries included)."""
        return self._call("get", {"id": id, "namespace": namespace})

    def update(
        self,
        id: UUID | str,
        patch: MemoryPatch | dict[str, Any] | None = None,
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> MemoryEntry:
        """Change an entry in place (same id); new content is re-embedded."""
        return self._call("update", {"id": id, "patch": patch, "namespace": namespace, **fields})

    def delete(self, id: UUID | str, *, namespace: str = "default") -> None:
        """Delete an entry for good."""
        self._call("delete", {"id": id, "namespace": namespace})

    def supersede(
        self,
        id: UUID | str,
        content: str | MemoryInput | dict[str, Any],
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> MemoryEntry:
        """Replace an entry by a new one, keeping the old as history."""
        return self._call(
            "supersede", {"id": id, "content": content, "namespace": namespace, **fields}
        )

    def history(self, id: UUID | str, *, namespace: str = "default") -> builtins.list[MemoryEntry]:
        """The supersede chain of an entry, oldest first."""
        return self._call("history", {"id": id, "namespace": namespace})

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
        return self._call(
            "list",
            {
                "namespace": namespace,
                "kinds": kinds,
                "session_id": session_id,
                "tags": tags,
                "filter": filter,
                "limit": limit,
                "cursor": cursor,
                "include_superseded": include_superseded,
            },
        )

    def search(self, query: str | SearchParams | dict[str, Any], **params: Any) -> SearchResult:
        """Hybrid (BM25 + vector, fused by RRF), vector or keyword search, best first."""
        return self._call("search", {"query": query, **params})

    def forget(
        self,
        *,
        namespace: str | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
    ) -> ForgetResult:
        """Erase a namespace, user or agent completely (with the derived data)."""
        return self._call(
            "forget", {"namespace": namespace, "user_id": user_id, "agent_id": agent_id}
        )

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
        return self._call(
            "append",
            {
                "session_id": session_id,
                "content": content,
                "role": role,
                "namespace": namespace,
                "created_at": created_at,
                **fields,
            },
        )

    def session_messages(
        self, session_id: str, *, namespace: str = "default"
    ) -> builtins.list[MemoryEntry]:
        """Every turn of a session, oldest first."""
        return self._call("session_messages", {"session_id": session_id, "namespace": namespace})

    def last_messages(
        self, session_id: str, n: int = 10, *, namespace: str = "default"
    ) -> builtins.list[MemoryEntry]:
        """The last N turns of a session, oldest first."""
        return self._call(
            "last_messages", {"session_id": session_id, "n": n, "namespace": namespace}
        )

    def set_state(
        self, session_id: str, key: str, value: Any, *, namespace: str = "default"
    ) -> MemoryEntry:
        """Save a JSON value under (session, key)."""
        return self._call(
            "set_state",
            {"session_id": session_id, "key": key, "value": value, "namespace": namespace},
        )

    def get_state(
        self, session_id: str, key: str, default: Any = MISSING, *, namespace: str = "default"
    ) -> Any:
        """The value under (session, key)."""
        return self._call(
            "get_state",
            {"session_id": session_id, "key": key, "default": default, "namespace": namespace},
        )

    def delete_state(self, session_id: str, key: str, *, namespace: str = "default") -> bool:
        """Delete a session value; false if there was none."""
        return self._call(
            "delete_state", {"session_id": session_id, "key": key, "namespace": namespace}
        )

    def kv_set(
        self, key: str, value: Any, *, ttl_seconds: float | None = None, namespace: str = "default"
    ) -> MemoryEntry:
        """Save a JSON value under a key, optionally expiring."""
        return self._call(
            "kv_set",
            {"key": key, "value": value, "ttl_seconds": ttl_seconds, "namespace": namespace},
        )

    def kv_get(self, key: str, default: Any = MISSING, *, namespace: str = "default") -> Any:
        """The value under a key."""
        return self._call("kv_get", {"key": key, "default": default, "namespace": namespace})

    def kv_delete(self, key: str, *, namespace: str = "default") -> bool:
        """Delete a key; false if there was none."""
        return self._call("kv_delete", {"key": key, "namespace": namespace})

    def start_episode(
        self,
        task_description: str | EpisodeInput | dict[str, Any],
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> Episode:
        """Start an episode for a task (status running, no steps)."""
        return self._call(
            "start_episode",
            {"task_description": task_description, "namespace": namespace, **fields},
        )

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
        return self._call(
            "list_episodes",
            {
                "namespace": namespace,
                "domain": domain,
                "task_type": task_type,
                "status": status,
                "outcome": outcome,
                "limit": limit,
                "cursor": cursor,
            },
        )

    def get_episode(
        self, episode_id: UUID | str, *, namespace: str = "default", include_steps: bool = True
    ) -> Episode:
        """One episode with its steps."""
        return self._call(
            "get_episode",
            {"episode_id": episode_id, "namespace": namespace, "include_steps": include_steps},
        )

    def update_episode(
        self,
        episode_id: UUID | str,
        patch: EpisodePatch | dict[str, Any] | None = None,
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> Episode:
        """Replace an episode's tags and/or merge metadata keys."""
        return self._call(
            "update_episode",
            {"episode_id": episode_id, "patch": patch, "namespace": namespace, **fields},
        )

    def delete_episode(self, episode_id: UUID | str, *, namespace: str = "default") -> None:
        """Delete an episode, its steps and its evidence in patterns."""
        self._call("delete_episode", {"episode_id": episode_id, "namespace": namespace})

    def log_steps(
        self,
        episode_id: UUID | str,
        steps: Iterable[StepInput | dict[str, Any]],
        *,
        namespace: str = "default",
    ) -> builtins.list[Step]:
        """Append several steps to a running episode in one transaction."""
        return self._call(
            "log_steps", {"episode_id": episode_id, "steps": steps, "namespace": namespace}
        )

    def log_step(
        self,
        episode_id: UUID | str,
        step: StepInput | dict[str, Any] | None = None,
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> Step:
        """Append one step (tool, action, result, parameters, latency, tokens)."""
        return self._call(
            "log_step", {"episode_id": episode_id, "step": step, "namespace": namespace, **fields}
        )

    def complete_episode(
        self,
        episode_id: UUID | str,
        outcome: Outcome | dict[str, Any],
        *,
        applied_patterns: Iterable[UUID | str] = (),
        namespace: str = "default",
    ) -> CompletionResult:
        """Complete an episode: reward, reflection, queued pattern extraction."""
        return self._call(
            "complete_episode",
            {
                "episode_id": episode_id,
                "outcome": outcome,
                "applied_patterns": applied_patterns,
                "namespace": namespace,
            },
        )

    def checkpoint_episode(
        self,
        episode_id: UUID | str,
        *,
        note: str = "",
        agent_id: str | None = None,
        namespace: str = "default",
    ) -> HandoffPack:
        """Record a checkpoint of a running episode; returns its hand-off pack."""
        return self._call(
            "checkpoint_episode",
            {"episode_id": episode_id, "note": note, "agent_id": agent_id, "namespace": namespace},
        )

    def resume_episode(
        self, episode_id: UUID | str, *, agent_id: str | None = None, namespace: str = "default"
    ) -> HandoffPack:
        """The hand-off pack to continue a running episode (optionally taking it over)."""
        return self._call(
            "resume_episode",
            {"episode_id": episode_id, "agent_id": agent_id, "namespace": namespace},
        )

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
        return self._call(
            "retrieve_context",
            {
                "task": task,
                "domain": domain,
                "task_type": task_type,
                "context": context,
                "limit": limit,
                "namespace": namespace,
            },
        )

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
        return self._call(
            "list_patterns",
            {
                "namespace": namespace,
                "kinds": kinds,
                "domain": domain,
                "task_type": task_type,
                "include_archived": include_archived,
                "limit": limit,
            },
        )

    def get_pattern(self, pattern_id: UUID | str, *, namespace: str = "default") -> Pattern:
        """One pattern (a merged pattern's id gives the one it was merged into)."""
        return self._call("get_pattern", {"pattern_id": pattern_id, "namespace": namespace})

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
        return self._call(
            "search_patterns",
            {
                "query": query,
                "domain": domain,
                "kinds": kinds,
                "limit": limit,
                "namespace": namespace,
            },
        )

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
        return self._call(
            "recommend_patterns",
            {
                "task": task,
                "domain": domain,
                "task_type": task_type,
                "kinds": kinds,
                "limit": limit,
                "namespace": namespace,
            },
        )

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
        return self._call(
            "record_feedback",
            {
                "pattern_id": pattern_id,
                "applied": applied,
                "success": success,
                "reward": reward,
                "episode_id": episode_id,
                "namespace": namespace,
            },
        )

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
        return self._call(
            "analyze_patterns",
            {
                "task_type": task_type,
                "min_success_rate": min_success_rate,
                "limit": limit,
                "domain": domain,
                "namespace": namespace,
            },
        )

    def extract_patterns(self, *, limit: int | None = None) -> ExtractionReport:
        """Drain the pattern-extraction queue now."""
        return self._call("extract_patterns", {"limit": limit})

    def decay_patterns(
        self,
        *,
        namespace: str = "default",
        min_score: float = 0.05,
        min_age_days: float = 30.0,
        dry_run: bool = False,
    ) -> DecayReport:
        """Archive patterns whose decayed effectiveness fell below a score."""
        return self._call(
            "decay_patterns",
            {
                "namespace": namespace,
                "min_score": min_score,
                "min_age_days": min_age_days,
                "dry_run": dry_run,
            },
        )

    def advanced_pattern_analysis(
        self,
        kind: str,
        series: Mapping[str, Sequence[float]],
        config: Mapping[str, Any] | None = None,
    ) -> SeriesAnalysis:
        """Statistics, trend, forecast, anomalies, change points or Granger causality on series."""
        return self._call(
            "advanced_pattern_analysis", {"kind": kind, "series": series, "config": config}
        )

    def stats(self) -> StoreStats:
        """Counts, sizes, index state and integrity of the store."""
        return self._call("stats", {})

    def verify_storage(self) -> IntegrityReport:
        """Verify the store file now (SQLite's and FTS5's checks, checksums, id sets)."""
        return self._call("verify_storage", {})

    def export(self, *, namespace: str | None = None, batch: int = 500) -> Iterator[MemoryEntry]:
        """Every entry with its vector (superseded included, expired excluded), streamed."""
        return self._call("export", {"namespace": namespace, "batch": batch})

    def import_entries(
        self, entries: Iterable[MemoryEntry | dict[str, Any]], *, batch: int = 500
    ) -> int:
        """Restore exported entries losslessly; existing ids are skipped."""
        return self._call("import_entries", {"entries": entries, "batch": batch})
