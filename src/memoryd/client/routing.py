"""Daemon discovery, auto-start, in-process fallback and a circuit breaker for ``Client``.

A :class:`Router` sends each call to the daemon serving ``settings.data_dir``
(found through ``<data_dir>/daemon.json``, :mod:`memoryd.lifecycle.runtime`,
and used only once it has said it serves this data dir's store,
:mod:`memoryd.lifecycle.identity`; a daemon of another store is logged and
never sent a call). If none runs and ``settings.auto_start`` is on, it starts one
(:func:`memoryd.lifecycle.start_daemon`). When the daemon fails a call
(refused or reset connection, timeout after ``settings.daemon_timeout_s``,
503 or another 5xx answer):

1. a refused connection with auto-start on means the daemon is gone: it is
   started again once and the call retried there (``served_by="daemon"``,
   ``reason="restarted"``);
2. otherwise, with ``settings.fallback_local`` on, the call runs on an
   in-process :class:`memoryd.Memory` over the same data dir
   (``served_by="local"``, ``degraded=True``) and the circuit opens: the next
   calls go local for ``settings.breaker_cooldown_s`` seconds, then one call
   tries the daemon again (half-open) and a success closes the circuit and
   releases the local engine.

Answers with a 4xx status (``NotFound``, ``ValidationError``...) are the
caller's errors and are raised as they are, never retried elsewhere; so are
507 ``StorageFull`` (the disk is full for every engine on the data dir),
``StorageReadOnly`` (503: the daemon's disk failed under the store, and an
in-process engine on the same data dir must not write there either),
``StoreCorrupted`` (503 ``storage_corrupted``: the store file is damaged, and
an in-process engine on the same file would meet the same damage) and 429
``RateLimited``: the transport has already waited for its ``Retry-After`` as
long as ``settings.rate_limit_max_wait_s`` allows; it is never served
in-process (that would bypass the limit) and never opens the circuit. A write
that timed out may have been committed by the daemon before the local retry:
memories dedup on content hash, so the retry returns the same entry;
conversation turns and key/value writes are idempotent only for the same
content and key.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from memoryd.config import Settings
from memoryd.errors import (
    BackendUnavailable,
    MemorydError,
    RateLimited,
    StorageFull,
    StorageReadOnly,
    StoreCorrupted,
    Timeout,
)
from memoryd.lifecycle.identity import find_daemon
from memoryd.lifecycle.spawn import start_daemon

if TYPE_CHECKING:
    from memoryd.engine import Memory

__all__ = ["Routed", "Router", "ServedBy"]

log = logging.getLogger("memoryd.client")
T = TypeVar("T")
ServedBy = Literal["daemon", "local"]


@dataclass(frozen=True)
class Routed(Generic[T]):
    """A call's result and how it was served.

    Attributes:
        value: what the method returned.
        served_by: ``"daemon"`` or ``"local"`` (the in-process engine).
        degraded: True when the preferred path (the daemon) could not serve it.
        reason: why it was degraded or re-routed (``"restarted"``, an error code and message).
    """

    value: T
    served_by: ServedBy
    degraded: bool = False
    reason: str | None = None


def _daemon_failure(exc: MemorydError) -> bool:
    """Errors that mean "the daemon could not serve this", not "the request was wrong"
    nor "the store is damaged".

    ``StorageFull`` (507) is not one: the daemon is healthy and the disk is
    full for an in-process engine on the same data dir too. Nor is
    ``StorageReadOnly``: the store's disk failed (fail-stop), whoever writes;
    nor ``StoreCorrupted``: the file is damaged for every engine; nor
    ``RateLimited`` (429), which is the caller's.
    """
    if isinstance(exc, StorageFull | StorageReadOnly | StoreCorrupted | RateLimited):
        return False
    return isinstance(exc, BackendUnavailable | Timeout) or exc.http_status >= 500


class Router:
    """Route calls to the daemon of ``settings.data_dir``, else to an in-process engine.

    Args:
        settings: ``data_dir`` (which daemon), ``auto_start``, ``fallback_local``,
            ``start_timeout_s`` and ``breaker_cooldown_s`` are used.
        retarget: called with the daemon's base URL whenever it is (re)discovered.
        memory_factory: opens the in-process engine (default ``Memory(settings)``).

    Thread-safe: calls may run concurrently; discovery, start-up and the local
    engine are guarded by one lock.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        retarget: Callable[[str], None],
        memory_factory: Callable[[], Memory] | None = None,
    ) -> None:
        self.settings = settings
        self._retarget = retarget
        self._memory_factory = memory_factory
        self._lock = threading.RLock()
        self._url: str | None = None
        self._local: Memory | None = None
        self._open_until = 0.0  # circuit open (calls go local) until this monotonic time

    # --- the daemon ---------------------------------------------------------
    def _connect(self, *, restart: bool = False) -> None:
        """Find (or start) the daemon of this store and point the HTTP client at it."""
        with self._lock:
            if self._url is not None and not restart:
                return
            info = find_daemon(self.settings)
            if info is None:
                if not self.settings.auto_start:
                    raise BackendUnavailable(
                        f"no memoryd daemon for {self.settings.data_dir} and auto_start is off",
                        data_dir=str(self.settings.data_dir),
                    )
                info = start_daemon(self.settings)
            self._url = info.url
            self._retarget(info.url)

    @property
    def url(self) -> str | None:
        """Base URL of the daemon last found, or ``None``."""
        return self._url

    # --- the fallback -------------------------------------------------------
    def local(self) -> Memory:
        """The in-process engine over the same data dir, opened on first use."""
        with self._lock:
            if self._local is None:
                if self._memory_factory is not None:
                    self._local = self._memory_factory()
                else:
                    from memoryd.engine import Memory  # loads the model only when needed

                    self._local = Memory(self.settings)
            return self._local

    def _release_local(self) -> None:
        with self._lock:
            memory, self._local = self._local, None
        if memory is not None:
            threading.Thread(target=memory.close, name="memoryd-release-local").start()

    # --- calls --------------------------------------------------------------
    def call(self, name: str, daemon_call: Callable[[], T], *args: Any, **kwargs: Any) -> Routed[T]:
        """Serve one call.

        Args:
            name: the method name, looked up on the local engine for a fallback.
            daemon_call: performs the call over HTTP.
            *args, **kwargs: the method's arguments (for the local engine).

        Raises:
            MemorydError: the caller's error (4xx), or the daemon's failure when
                ``fallback_local`` is off, or the local engine's own error.
        """
        reason = "circuit open after a daemon failure"
        if time.monotonic() >= self._open_until:
            try:
                self._connect()
                value = daemon_call()
            except MemorydError as exc:
                if not _daemon_failure(exc):
                    raise
                restarted = self._retry_after_restart(exc, daemon_call)
                if restarted is not None:
                    return restarted
                if not self.settings.fallback_local:
                    raise
                reason = f"{exc.code}: {exc.message}"
                self._open_until = time.monotonic() + self.settings.breaker_cooldown_s
                log.warning("daemon failed; serving in-process", extra={"code": exc.code})
            else:
                if self._local is not None:
                    self._release_local()  # the daemon is back: half-open probe succeeded
                return Routed(value, "daemon")
        value = getattr(self.local(), name)(*args, **kwargs)
        return Routed(value, "local", degraded=True, reason=reason)

    def _retry_after_restart(
        self, exc: MemorydError, daemon_call: Callable[[], T]
    ) -> Routed[T] | None:
        """Start the daemon again and retry, if the failure says it is gone."""
        gone = isinstance(exc, BackendUnavailable) and exc.details.get("base_url") is not None
        if not (gone and self.settings.auto_start):
            return None
        try:
            self._connect(restart=True)
            return Routed(daemon_call(), "daemon", reason="restarted")
        except MemorydError as retry_exc:
            if not _daemon_failure(retry_exc):
                raise
            log.warning("daemon restart failed", extra={"code": retry_exc.code})
            return None

    def close(self) -> None:
        """Close the local engine, if one was opened (the daemon keeps running)."""
        with self._lock:
            memory, self._local = self._local, None
        if memory is not None:
            memory.close()
