"""memoryd: a local-first memory service for AI agents.

Public surface: :class:`Memory` (in-process engine), :class:`Client` (the
same interface over HTTP), the pydantic models and the error tree.
"""

from memoryd.client import Client
from memoryd.config import Settings, load_settings
from memoryd.engine import Memory
from memoryd.errors import (
    BackendUnavailable,
    ConfigError,
    Conflict,
    DimensionMismatch,
    Forbidden,
    InvalidQuery,
    MemorydError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    StorageError,
    StorageFull,
    StoreCorrupted,
    Timeout,
    Unauthorized,
    ValidationError,
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
    "Condition",
    "ConfigError",
    "Conflict",
    "DimensionMismatch",
    "Filter",
    "Forbidden",
    "InvalidQuery",
    "Memory",
    "MemoryEntry",
    "MemoryInput",
    "MemoryPatch",
    "MemorydError",
    "NotFound",
    "Page",
    "PayloadTooLarge",
    "RateLimited",
    "ScoreExplain",
    "SearchHit",
    "SearchParams",
    "SearchResult",
    "Settings",
    "StorageError",
    "StorageFull",
    "StoreCorrupted",
    "StoreStats",
    "Timeout",
    "Unauthorized",
    "ValidationError",
    "load_settings",
]
