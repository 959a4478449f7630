"""Request and response bodies of the REST face that are not engine models.

Engine models (``MemoryInput``, ``MemoryPatch``, ``SearchParams``,
``MemoryEntry``, ``Page``, ``SearchResult``, ``StoreStats``) are used as they are.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from memoryd.bounds import (
    DEFAULT_BUDGET_TOKENS,
    MAX_BUDGET_TOKENS,
    MAX_PAGE_LIMIT,
    MIN_BUDGET_TOKENS,
)
from memoryd.reports import StoreStats
from memoryd.types import (
    MAX_CONTENT_CHARS,
    MAX_TAGS,
    MAX_TTL_SECONDS,
    NAMESPACE_PATTERN,
    Filter,
    Kind,
    MemoryInput,
    SearchMode,
)

__all__ = [
    "BatchInput",
    "ContextRequest",
    "DeleteResult",
    "ImportResult",
    "KvInput",
    "MessageInput",
    "ServerStats",
    "StatusOut",
    "ValueInput",
    "ValueOut",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BatchInput(_Body):
    """``POST /v1/memories/batch``: up to 1,000 memories saved in order."""

    items: list[MemoryInput] = Field(max_length=1000)


class ContextRequest(_Body):
    """``POST /v1/search/context``: the best memories for ``query`` packed into ``budget_tokens``.

    ``budget_tokens`` counts tokens of the embedding model's tokenizer; the
    other fields are those of :class:`~memoryd.types.SearchParams`, ``limit``
    the most search hits considered.
    """

    query: str = Field(min_length=1, max_length=4096)
    budget_tokens: int = Field(
        default=DEFAULT_BUDGET_TOKENS, ge=MIN_BUDGET_TOKENS, le=MAX_BUDGET_TOKENS
    )
    namespace: str = Field(default="default", pattern=NAMESPACE_PATTERN)
    kinds: list[Kind] | None = None
    tags: list[str] | None = None
    session_id: str | None = None
    filter: Filter | None = None
    mode: SearchMode = "hybrid"
    limit: int = Field(default=50, ge=1, le=MAX_PAGE_LIMIT)


class MessageInput(_Body):
    """``POST /v1/sessions/{session_id}/messages``: one conversation turn.

    ``role`` is stored as ``metadata["role"]``; the other fields are those of
    :class:`~memoryd.types.MemoryInput`.
    """

    content: str = Field(min_length=1, max_length=MAX_CONTENT_CHARS)
    role: str = Field(default="user", max_length=256)
    created_at: datetime | None = None
    agent_id: str | None = Field(default=None, max_length=256)
    user_id: str | None = Field(default=None, max_length=256)
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS)
    importance: float = Field(default=0.5, ge=0.0, le=1.0)
    expires_at: datetime | None = None
    ttl_seconds: float | None = Field(default=None, gt=0, le=MAX_TTL_SECONDS)
    vector: list[float] | None = None
    id: UUID | None = None


class _ValueBody(_Body):
    value: Any = None

    @field_validator("value")
    @classmethod
    def _json(cls, value: Any) -> Any:
        """The value as JSON would carry it: a set or an object is refused, as the engine does."""
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"value is not JSON-serialisable: {exc}") from exc
        return value


class ValueInput(_ValueBody):
    """``PUT /v1/sessions/{session_id}/state/{key}``: any JSON value."""


class KvInput(_ValueBody):
    """``PUT /v1/kv/{key}``: any JSON value, optionally expiring after ``ttl_seconds`` (seconds)."""

    ttl_seconds: float | None = None


class ValueOut(BaseModel):
    """A stored JSON value."""

    value: Any = None


class DeleteResult(BaseModel):
    """Whether something was deleted (``false``: there was nothing under that key)."""

    deleted: bool


class ImportResult(BaseModel):
    """How many entries an import inserted (existing ids are skipped)."""

    inserted: int


class ServerStats(StoreStats):
    """``GET /v1/stats``: the store's stats plus the daemon's uptime in seconds."""

    uptime_s: float


class StatusOut(BaseModel):
    """``/healthz`` and ``/readyz``: ``status`` is ``ok``/``ready`` or the reason it is not."""

    status: str
