"""One exception tree for every face of memoryd.

Every error carries a stable ``code`` (a short snake_case string that clients
can switch on), an ``http_status`` used by the REST face, a human ``message``
and a ``details`` dict with context (the id, the namespace, the backend...).

::

    MemorydError                      code                 HTTP
    ├── ValidationError               validation_error     422
    │   ├── InvalidQuery              invalid_query        400
    │   ├── InvalidPath               invalid_path         400
    │   │   └── PathOutsideRoot       path_outside_root    403
    │   └── InvalidSeries             invalid_series       422
    ├── NotFound                      not_found            404
    │   ├── EpisodeNotFound           episode_not_found    404
    │   └── PatternNotFound           pattern_not_found    404
    ├── Conflict                      conflict             409
    │   ├── IdConflict                id_conflict          409
    │   ├── DimensionMismatch         dimension_mismatch   409
    │   └── EpisodeAlreadyCompleted   episode_already_completed 409
    ├── PayloadTooLarge               payload_too_large    413
    ├── Unauthorized                  unauthorized         401
    ├── Forbidden                     forbidden            403
    ├── RateLimited                   rate_limited         429
    ├── StoreMismatch                 store_mismatch       421
    ├── BackendUnavailable            backend_unavailable  503
    ├── Timeout                       timeout              504
    ├── StorageFull                   storage_full         507
    ├── StorageError                  storage_error        500
    │   ├── StoreCorrupted            storage_corrupted    503
    │   └── StorageReadOnly           storage_read_only    503
    ├── ConfigError                   config_error         500
    │   ├── AlreadyRunning            already_running      500
    │   └── PortInUse                 port_in_use          500
    └── ServiceError                  service_error        500

The CLI prints ``error[code]: message`` on one line and exits non-zero; MCP
returns an ``isError`` result carrying the code.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AlreadyRunning",
    "BackendUnavailable",
    "ConfigError",
    "Conflict",
    "DimensionMismatch",
    "EpisodeAlreadyCompleted",
    "EpisodeNotFound",
    "Forbidden",
    "IdConflict",
    "InvalidPath",
    "InvalidQuery",
    "InvalidSeries",
    "MemorydError",
    "NotFound",
    "PathOutsideRoot",
    "PatternNotFound",
    "PayloadTooLarge",
    "PortInUse",
    "RateLimited",
    "ServiceError",
    "StorageError",
    "StorageFull",
    "StorageReadOnly",
    "StoreCorrupted",
    "StoreMismatch",
    "Timeout",
    "Unauthorized",
    "ValidationError",
    "error_from_code",
]


class MemorydError(Exception):
    """Base of every memoryd error.

    Args:
        message: one human-readable sentence.
        **details: JSON-serialisable context (``id=...``, ``namespace=...``).
    """

    code: ClassVar[str] = "internal_error"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def to_dict(self) -> dict[str, Any]:
        """Wire form: ``{"code": str, "message": str, "details": dict}``."""
        return {"code": self.code, "message": self.message, "details": self.details}

    def __str__(self) -> str:
        return self.message


class ValidationError(MemorydError):
    """Input that does not fit the schema or the store's rules."""

    code = "validation_error"
    http_status = 422


class InvalidQuery(ValidationError):
    """A search query or filter that cannot be executed."""

    code = "invalid_query"
    http_status = 400


class InvalidPath(ValidationError):
    """A file path that cannot be used: NUL byte, missing file, a directory or a FIFO
    where a file is expected, unreadable, over-long, or malformed.

    ``details`` carry ``path`` (as given, ``repr`` form when it holds a NUL),
    ``purpose`` (what the path was for: ``import``, ``export``, ``config`` ...)
    and ``reason`` (a stable word: ``nul_byte``, ``missing``, ``is_directory``,
    ``not_regular_file``, ``unreadable``, ``too_long``, ``absolute``,
    ``encoded_traversal``, ``symlink``, ``parent_missing``, ``not_directory``,
    ``empty``). See :mod:`memoryd.paths`.
    """

    code = "invalid_path"
    http_status = 400


class PathOutsideRoot(InvalidPath):
    """A caller-supplied relative path that leads outside its allowlisted root
    (``..`` after normalization, or a symlink whose target is outside).

    HTTP 403: the path is well formed, the policy refuses it. ``details``
    carry ``path`` and ``reason`` (``dot_dot`` or ``symlink_escape``); the
    root and the resolved target are not echoed to the caller.
    """

    code = "path_outside_root"
    http_status = 403


class InvalidSeries(ValidationError):
    """A time series for analysis is too short, has NaN/inf values or mismatched lengths."""

    code = "invalid_series"
    http_status = 422


class NotFound(MemorydError):
    """No entry with that id in that namespace (foreign ids also give this)."""

    code = "not_found"
    http_status = 404

    @classmethod
    def entry(cls, id: object, namespace: str) -> NotFound:
        """The one answer for an entry id absent from ``namespace``.

        The same message and details whether the id was never used, was
        deleted, expired, or exists in another namespace (no existence leak).
        """
        return cls(f"no entry {id} in namespace {namespace!r}", id=str(id), namespace=namespace)


class EpisodeNotFound(NotFound):
    """No episode with that id in that namespace."""

    code = "episode_not_found"
    http_status = 404


class PatternNotFound(NotFound):
    """No pattern with that id in that namespace."""

    code = "pattern_not_found"
    http_status = 404


class Conflict(MemorydError):
    """The write conflicts with the stored state (e.g. superseding twice)."""

    code = "conflict"
    http_status = 409


class IdConflict(Conflict):
    """The id is taken in that namespace (by another entry, or by an entry of another kind).

    Raised only for the caller's own namespace: an id held in another
    namespace never conflicts (ids are unique per namespace), so this error
    reveals nothing about other namespaces. ``details`` carry ``id`` and
    ``namespace``.
    """

    code = "id_conflict"
    http_status = 409


class DimensionMismatch(Conflict):
    """A vector's length differs from the store's embedding dimension."""

    code = "dimension_mismatch"
    http_status = 409


class EpisodeAlreadyCompleted(Conflict):
    """The episode is completed: no more steps, no second completion."""

    code = "episode_already_completed"
    http_status = 409


class PayloadTooLarge(MemorydError):
    """A request body or a field exceeds the configured size limit."""

    code = "payload_too_large"
    http_status = 413


class Unauthorized(MemorydError):
    """Missing or wrong bearer token."""

    code = "unauthorized"
    http_status = 401


class Forbidden(MemorydError):
    """Request refused by policy (bad Origin or Host header)."""

    code = "forbidden"
    http_status = 403


class RateLimited(MemorydError):
    """Too many requests; retry after ``details['retry_after']`` seconds."""

    code = "rate_limited"
    http_status = 429


class StoreMismatch(MemorydError):
    """The daemon at that address serves another store than the caller's data dir.

    Raised before anything is sent to it (the store ids differ, the daemon
    holds a copy of the store, or it refuses the store's token). HTTP 421 is
    Misdirected Request (RFC 9110 §15.5.20): the request reached a server
    that does not serve it. ``details`` carry ``url`` and ``data_dir``.
    """

    code = "store_mismatch"
    http_status = 421


class BackendUnavailable(MemorydError):
    """A backend (store, embedding provider, daemon) cannot serve now."""

    code = "backend_unavailable"
    http_status = 503


class Timeout(MemorydError):
    """An operation exceeded its deadline."""

    code = "timeout"
    http_status = 504


class StorageFull(MemorydError):
    """The disk (or the store's page limit) is full: reads still work, and writes
    resume by themselves once space is freed, without a restart. ``details``
    has ``path`` and ``free_bytes``."""

    code = "storage_full"
    http_status = 507


class StorageError(MemorydError):
    """The store failed for a reason other than a full disk."""

    code = "storage_error"
    http_status = 500


class StoreCorrupted(StorageError):
    """The store file is damaged (an integrity check failed or a read met a malformed page).

    Writes are refused from then on (nothing is written over the damage);
    reads that do not touch it keep working. The message carries the restore
    hint; ``details`` name the file (``path``) and what found it (``source``:
    ``integrity_check``, ``checksum``, ``wal_header``, ``read`` ...).
    """

    code = "storage_corrupted"
    http_status = 503


class StorageReadOnly(StorageError):
    """Fail-stop: a disk I/O error left the store's on-disk state unknown; writes are refused.

    Raised for the write that met the error (a failed ``write``/``fsync``:
    SQLite's ``SQLITE_IOERR_WRITE``, ``SQLITE_IOERR_FSYNC``, ...) and for every
    later write of that process; reads go on. Only a restart (a new process,
    after checking the disk) writes again: after a failed ``fsync`` the kernel
    may have dropped the dirty pages, so a retry could report success for data
    that never reached the disk (PostgreSQL's "PANIC on fsync() failure", 2018).
    ``details``: ``path``, ``sqlite_error`` (the extended result code's name).
    A full disk is :class:`StorageFull` instead, and recovers without a restart.
    """

    code = "storage_read_only"
    http_status = 503


class ConfigError(MemorydError):
    """The configuration or the effective store settings are unsafe or invalid."""

    code = "config_error"
    http_status = 500


class AlreadyRunning(ConfigError):
    """Another live daemon holds this data dir's lock (its pid is in ``details``)."""

    code = "already_running"


class PortInUse(ConfigError):
    """The daemon's port is held by another program (named in ``details`` when known)."""

    code = "port_in_use"


class ServiceError(MemorydError):
    """The service manager (systemd, launchd) is missing or refused a command."""

    code = "service_error"
    http_status = 500


def error_from_code(code: str, message: str, details: dict[str, Any] | None = None) -> MemorydError:
    """Rebuild the exception for a wire ``code`` (used by the HTTP client).

    Unknown codes become a plain :class:`MemorydError` carrying the code in
    ``details['code']``.
    """
    classes: list[type[MemorydError]] = [MemorydError]
    for cls in classes:  # the whole tree: the list grows by each class's subclasses
        if cls.code == code:
            return cls(message, **(details or {}))
        classes.extend(cls.__subclasses__())
    return MemorydError(message, code=code, **(details or {}))
