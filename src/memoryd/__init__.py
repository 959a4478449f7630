"""memoryd: a local-first memory service for AI agents.

Public surface: :class:`Memory` (in-process engine), :class:`Client` (the
same interface over HTTP), the pydantic models (memories and the
self-learning layer: episodes, steps, rewards, patterns) and the error tree.

``Memory`` and ``Client`` are imported on first access (PEP 562), so a
process that needs only one of them (``memoryd mcp`` before its first call,
a thin client) does not pay for loading the other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memoryd.config import Settings, load_settings
from memoryd.errors import (
    BackendUnavailable,
    ConfigError,
    Conflict,
    DimensionMismatch,
    EpisodeAlreadyCompleted,
    EpisodeNotFound,
    Forbidden,
    IdConflict,
    InvalidQuery,
    InvalidSeries,
    MemorydError,
    NotFound,
    PatternNotFound,
    PayloadTooLarge,
    RateLimited,
    StorageError,
    StorageFull,
    StorageReadOnly,
    StoreCorrupted,
    StoreMismatch,
    Timeout,
    Unauthorized,
    ValidationError,
)
from memoryd.learning.models import (
    CompletionResult,
    ContextResult,
    Episode,
    EpisodeMatch,
    HandoffPack,
    Pattern,
    PatternMatch,
    Reflection,
    RewardScore,
    Step,
)
from memoryd.reports import IntegrityProblem, IntegrityReport, IntegrityStatus, StoreStats
from memoryd.types import (
    Condition,
    Filter,
    MemoryEntry,
    MemoryInput,
    MemoryPatch,
    Page,
    ScoreExplain,
    SearchHit,
    SearchParams,
    SearchResult,
)

if TYPE_CHECKING:
    from memoryd.client import Client
    from memoryd.engine import Memory

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "Memory":
        from memoryd.engine import Memory

        return Memory
    if name == "Client":
        from memoryd.client import Client

        return Client
    raise AttributeError(f"module 'memoryd' has no attribute {name!r}")


__all__ = [
    "BackendUnavailable",
    "Client",
    "CompletionResult",
    "Condition",
    "ConfigError",
    "Conflict",
    "ContextResult",
    "DimensionMismatch",
    "Episode",
    "EpisodeAlreadyCompleted",
    "EpisodeMatch",
    "EpisodeNotFound",
    "Filter",
    "Forbidden",
    "HandoffPack",
    "IdConflict",
    "IntegrityProblem",
    "IntegrityReport",
    "IntegrityStatus",
    "InvalidQuery",
    "InvalidSeries",
    "Memory",
    "MemoryEntry",
    "MemoryInput",
    "MemoryPatch",
    "MemorydError",
    "NotFound",
    "Page",
    "Pattern",
    "PatternMatch",
    "PatternNotFound",
    "PayloadTooLarge",
    "RateLimited",
    "Reflection",
    "RewardScore",
    "ScoreExplain",
    "SearchHit",
    "SearchParams",
    "SearchResult",
    "Settings",
    "Step",
    "StorageError",
    "StorageFull",
    "StorageReadOnly",
    "StoreCorrupted",
    "StoreMismatch",
    "StoreStats",
    "Timeout",
    "Unauthorized",
    "ValidationError",
    "load_settings",
]
