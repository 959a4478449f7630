"""``Memory.forget``: erase a subject (a namespace, a user, an agent) completely.

Example::

    with Memory(data_dir="/tmp/mem") as memory:
        result = memory.forget(user_id="ann")
        result.memories, result.erased     # {"memory": 3, "message": 12}, True

Every kind goes (memories, messages, state, key/value, chunks, episodes with
their steps and checkpoints, patterns learned only from them, feedback,
cached vectors, queue entries) in one write transaction
(``memoryd/store/forget.py``); then the erasure pass
(``memoryd/store/erasure.py``) removes the copies SQLite, FTS5 and the
vector index keep on disk, so the subject's text and vectors are in neither
the database file, its free pages, the WAL nor the index checkpoint.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from memoryd.config import Settings
from memoryd.context import successor_contexts
from memoryd.embeddings import QueryEmbeddingCache
from memoryd.inputs import forget_scope
from memoryd.learning.recommend import EpisodeIndex
from memoryd.reports import ForgetResult, ForgetScope
from memoryd.store.forget import forget_subject, subject_rows
from memoryd.store.sqlite import SQLiteStore
from memoryd.types import MemoryEntry

__all__ = ["Forgetting"]

log = logging.getLogger("memoryd.engine")


@dataclass(eq=False)
class Forgetting:
    """``forget`` for :class:`memoryd.Memory` (module docstring has an example).

    Args:
        settings: the engine's settings (``message_context``).
        store: the open store.
        query_cache: the engine's query-embedding cache (cleared: it may hold the subject's text).
        episode_index: the in-memory episode index (namespaces touched are invalidated).
    """

    settings: Settings
    store: SQLiteStore
    query_cache: QueryEmbeddingCache
    episode_index: EpisodeIndex

    def forget(
        self,
        *,
        namespace: str | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
    ) -> ForgetResult:
        """Erase everything of a subject; returns the counts removed.

        Args:
            namespace: a whole namespace, or the namespace to narrow a user/agent to.
            user_id: memories saved with this ``user_id`` (episodes have no user).
            agent_id: memories and episodes of this agent.

        At least one is required; several are AND-ed (see
        :class:`~memoryd.types.ForgetScope`). Expired entries not yet purged
        are included. ``result.erased`` says whether the on-disk copies are
        gone too (false only if another reader kept the WAL; the background
        pass finishes it within ``settings.erase_interval_s``).

        Raises:
            ValidationError: no scope, or an invalid one. StorageFull, StorageError.
        """
        scope = forget_scope(namespace=namespace, user_id=user_id, agent_id=agent_id)
        rows = subject_rows(self.store, scope)
        contexts = self._successors(scope, self._turns(rows))
        deleted, learned = forget_subject(
            self.store, scope, [int(r["rowid"]) for r in rows], contexts
        )
        self.query_cache.clear()
        for ns in learned.namespaces | {str(r["namespace"]) for r in rows}:
            self.episode_index.invalidate(ns)
        erased = self.store.erase_traces()
        result = ForgetResult(
            scope=scope,
            memories=dict(deleted.by_kind),
            episodes=learned.episodes,
            steps=learned.steps,
            checkpoints=learned.checkpoints,
            patterns_deleted=learned.patterns_deleted,
            patterns_updated=learned.patterns_updated,
            feedback=learned.feedback,
            embedding_cache=deleted.embedding_cache + learned.embedding_cache,
            embedding_queue=deleted.embedding_queue,
            erased=erased,
        )
        log.info(
            "forgot", extra={"scope": scope.model_dump(exclude_none=True), "rows": result.total}
        )
        return result

    def _turns(self, rows: Sequence[sqlite3.Row]) -> list[MemoryEntry]:
        """The deleted conversation turns as entries (the only rows with successors)."""
        turns = [int(r["rowid"]) for r in rows if r["kind"] == "message" and r["session_id"]]
        found = self.store.fetch(turns)
        return [found[rowid] for rowid in turns if rowid in found]

    def _successors(self, scope: ForgetScope, turns: Sequence[MemoryEntry]) -> dict[int, str]:
        """FTS contexts to rewrite: none when a whole namespace goes (no turn of it stays)."""
        if scope.user_id is None and scope.agent_id is None:
            return {}
        return successor_contexts(self.store, turns, enabled=self.settings.message_context)
