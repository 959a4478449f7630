"""Which engine a CLI command talks to: the daemon (HTTP) or the store in-process.

:func:`open_backend` probes ``GET <url>/healthz`` (0.3 s by default). If a
daemon answers, commands go through :class:`memoryd.Client`; otherwise the
store in ``settings.data_dir`` is opened in-process with :class:`memoryd.Memory`.
Both expose the same methods (:class:`Backend`).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol
from uuid import UUID

from memoryd.config import Settings
from memoryd.errors import BackendUnavailable
from memoryd.lifecycle.runtime import discover, healthz
from memoryd.types import (
    ForgetResult,
    Kind,
    MemoryEntry,
    MemoryInput,
    Page,
    SearchParams,
    SearchResult,
    StoreStats,
)

__all__ = ["PROBE_TIMEOUT_S", "Backend", "daemon_answers", "open_backend"]

#: How long the daemon probe waits for ``/healthz``. Unit is seconds.
PROBE_TIMEOUT_S = 0.3
#: Seconds a daemon we know of (``--url``, a live ``daemon.json``) gets to answer.
KNOWN_DAEMON_TIMEOUT_S = 2.0


class Backend(Protocol):
    """The methods the CLI uses; :class:`memoryd.Memory` and :class:`memoryd.Client` have them."""

    def add(self, content: str | MemoryInput | dict[str, Any], **fields: Any) -> MemoryEntry: ...

    def add_many(
        self, items: Iterable[MemoryInput | dict[str, Any]], *, batch_size: int = ...
    ) -> builtins.list[MemoryEntry]: ...

    def get(self, id: UUID | str, *, namespace: str = ...) -> MemoryEntry: ...

    def delete(self, id: UUID | str, *, namespace: str = ...) -> None: ...

    def list(
        self,
        *,
        namespace: str = ...,
        kinds: Sequence[Kind] | None = ...,
        session_id: str | None = ...,
        limit: int = ...,
        cursor: str | None = ...,
    ) -> Page: ...

    def search(self, query: str | SearchParams | dict[str, Any], **params: Any) -> SearchResult: ...

    def stats(self) -> StoreStats: ...

    def forget(
        self,
        *,
        namespace: str | None = ...,
        user_id: str | None = ...,
        agent_id: str | None = ...,
    ) -> ForgetResult: ...

    def export(self, *, namespace: str | None = ...) -> Iterator[MemoryEntry]: ...

    def import_entries(self, entries: Iterable[MemoryEntry | dict[str, Any]]) -> int: ...

    def close(self) -> None: ...


def daemon_answers(url: str, *, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """True if ``GET <url>/healthz`` answers 200 within ``timeout_s`` seconds."""
    return healthz(url, timeout_s=timeout_s)


def _client(url: str, token: str | None, settings: Settings) -> Backend:
    from memoryd.client import Client  # imported only when a daemon answers

    return Client(settings, base_url=url, token=token)


def open_backend(
    settings: Settings,
    *,
    url: str | None = None,
    token: str | None = None,
    local: bool = False,
    probe_timeout_s: float = PROBE_TIMEOUT_S,
) -> Backend:
    """The daemon's client if one answers, else an in-process :class:`Memory`.

    Args:
        settings: where the store is (``data_dir``); its daemon is found through
            ``<data_dir>/daemon.json`` (any port), else probed at ``base_url``.
        url: an explicit daemon URL; if given and nobody answers there, this
            raises instead of falling back.
        token: bearer token; default: the client reads ``settings.resolved_token_file``.
        local: skip the probe and always open the store in-process.
        probe_timeout_s: how long to wait for ``/healthz``. Unit is seconds.

    Raises:
        BackendUnavailable: ``url`` was given and no daemon answers there.
        ConfigError: the store cannot be opened with these settings.
    """
    if not local:
        # A daemon named by --url, or whose pid in daemon.json is alive, gets
        # KNOWN_DAEMON_TIMEOUT_S to answer (it may be busy right after start);
        # only the guess at the default port is probed briefly.
        patient = max(probe_timeout_s, KNOWN_DAEMON_TIMEOUT_S)
        running = discover(settings, timeout_s=patient) if url is None else None
        target = url or (running.url if running is not None else settings.base_url)
        known = url is not None or running is not None
        if daemon_answers(target, timeout_s=patient if known else probe_timeout_s):
            return _client(target, token, settings)
        if url is not None:
            raise BackendUnavailable(f"no memoryd daemon answers at {url}", url=url)
    from memoryd.engine import Memory  # the engine loads only for in-process commands

    return Memory(settings, background=False)
