"""What the engine reports about its store: statistics, integrity, erasure.

Pydantic models of ``stats`` (:class:`StoreStats`), store verification
(:class:`IntegrityReport`, :class:`IntegrityStatus`) and ``forget``
(:class:`ForgetScope`, :class:`ForgetResult`); the records and search models
are in :mod:`memoryd.types`. Imports nothing of ours but ``memoryd.types``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from memoryd.types import NAMESPACE_PATTERN, KeywordBackend, _Model

__all__ = [
    "ForgetResult",
    "ForgetScope",
    "IntegrityProblem",
    "IntegrityReport",
    "IntegrityStatus",
    "StoreStats",
]


class IntegrityProblem(_Model):
    """One piece of damage found by a store verification.

    ``check`` names what found it (``wal_header``, ``quick_check``,
    ``integrity_check``, ``fts_integrity_check``, ``checksum``,
    ``consistency``); ``table`` and ``rowid`` say where, when known.
    """

    check: str
    detail: str
    table: str | None = None
    rowid: int | None = None


class IntegrityReport(_Model):
    """The result of verifying a store file (``memoryd storage verify``, ``verify_storage``).

    ``mode`` is ``quick`` (``PRAGMA quick_check`` and the ``-wal`` header, at
    open) or ``full`` (also ``PRAGMA integrity_check``, the FTS5
    ``integrity-check``, every row and vector checksum and the id sets of the
    tables). ``checks`` maps each check run to ``ok``, ``failed`` or
    ``skipped``; ``rows`` counts the rows verified per table; ``duration_s``
    is in seconds. ``problems`` lists at most 100 findings.
    """

    ok: bool
    mode: Literal["quick", "full"]
    path: str
    checked_at: datetime
    duration_s: float
    checks: dict[str, str]
    rows: dict[str, int] = Field(default_factory=dict)
    problems: list[IntegrityProblem] = Field(default_factory=list)


class IntegrityStatus(_Model):
    """The store's corruption latch and last verification, as ``stats`` shows it.

    ``status``: ``ok`` (the last check passed), ``corrupted`` (damage found:
    writes are refused), ``checking``, or ``unchecked``.
    """

    status: Literal["ok", "corrupted", "checking", "unchecked"]
    checked_at: datetime | None = None
    check: Literal["quick", "full"] | None = None
    source: str | None = None
    detail: str | None = None
    corrupted_since: datetime | None = None


class StoreStats(_Model):
    """Counts and sizes of a store (``/v1/stats``, ``memoryd stats``).

    On a damaged store whose tables cannot be counted, ``total``, ``vectors``
    and ``pending_embeddings`` are ``None`` and the per-kind and per-namespace
    counts empty; ``integrity`` says what is wrong.
    """

    total: int | None
    by_kind: dict[str, int]
    by_namespace: dict[str, int]
    vectors: int | None
    pending_embeddings: int | None
    embedding_model: str | None
    dim: int | None
    db_path: str
    db_bytes: int
    wal_bytes: int
    index_ready: bool
    index_size: int
    keyword_backend: KeywordBackend = Field(
        default="fts5",
        description="What ranks keyword searches: the in-memory BM25 index, FTS5 while "
        "that index is being built, or FTS5 (settings.keyword_index = fts5).",
    )
    schema_version: int
    store_id: str | None = Field(
        default=None,
        description="The store's id (a UUID kept in the database, set once); a daemon "
        "reports it so that clients can tell which store it serves.",
    )
    deferred_writes: int = Field(
        default=0,
        description="Rows this engine committed with a backfill-queue entry instead of a "
        "vector since it started, because of settings.write_embed_budget_ms; the backfill "
        "worker embeds them.",
    )
    integrity: IntegrityStatus | None = Field(
        default=None,
        description="Whether the store file was found damaged, and its last verification.",
    )


class ForgetScope(_Model):
    """Whose data :meth:`memoryd.Memory.forget` erases: every given field must match.

    At least one of ``namespace``, ``user_id`` and ``agent_id`` is required.
    ``namespace`` alone erases the whole namespace (every kind, episodes and
    patterns included); ``user_id`` matches memories (episodes carry no user);
    ``agent_id`` matches memories and episodes. Given together they are AND-ed
    (``namespace="team", agent_id="bot"``: that agent's data in that namespace).
    """

    namespace: str | None = Field(default=None, pattern=NAMESPACE_PATTERN)
    user_id: str | None = Field(default=None, min_length=1, max_length=256)
    agent_id: str | None = Field(default=None, min_length=1, max_length=256)

    @model_validator(mode="after")
    def _something(self) -> ForgetScope:
        if self.namespace is None and self.user_id is None and self.agent_id is None:
            raise ValueError("give at least one of namespace, user_id, agent_id")
        return self


class ForgetResult(_Model):
    """What :meth:`memoryd.Memory.forget` removed (counts of rows) and whether it is off disk.

    ``erased`` is true once the store's on-disk copies are gone too: the FTS5
    index merged without the deleted postings, the vector-index checkpoint
    rewritten without their vectors and the WAL truncated (``PRAGMA
    wal_checkpoint(TRUNCATE)``); it is false when another connection's read
    kept the WAL from being truncated (the background erasure pass retries,
    within ``settings.erase_interval_s``).
    """

    scope: ForgetScope
    memories: dict[str, int] = Field(description="Entries removed, by kind.")
    episodes: int = 0
    steps: int = 0
    checkpoints: int = 0
    patterns_deleted: int = Field(default=0, description="Patterns learned only from them.")
    patterns_updated: int = Field(
        default=0, description="Patterns that keep other evidence; their counts are recomputed."
    )
    feedback: int = 0
    embedding_cache: int = Field(default=0, description="Cached vectors no other row uses.")
    embedding_queue: int = 0
    erased: bool = False

    @property
    def total(self) -> int:
        """Every row removed (entries, episodes, steps, checkpoints, patterns, feedback)."""
        return (
            sum(self.memories.values())
            + self.episodes
            + self.steps
            + self.checkpoints
            + self.patterns_deleted
            + self.feedback
        )
