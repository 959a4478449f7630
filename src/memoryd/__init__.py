"""memoryd: a local-first memory service for AI agents.

Public surface: :class:`Memory` (in-process engine), :class:`Client` (the
same interface over HTTP), the pydantic models (memories and the
self-learning layer: episodes, steps, rewards, patterns) and the error tree.
"""

from memoryd.client import Client
from memoryd.config import Settings, load_settings
from memoryd.engine import Memory
from memoryd.errors import (
    BackendUnavailable,
    ConfigError,
    Conflict,
    DimensionMismatch,
    EpisodeAlreadyCompleted,
    EpisodeNotFound,
    Forbidden,
    InvalidQuery,
    InvalidSeries,
    MemorydError,
    NotFound,
    PatternNotFound,
    PayloadTooLarge,
    RateLimited,
    StorageError,
    StorageFull,
    StoreCorrupted,
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
    StoreStats,
)

__version__ = "0.1.0"

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
    "StoreCorrupted",
    "StoreStats",
    "Timeout",
    "Unauthorized",
    "ValidationError",
    "load_settings",
]
