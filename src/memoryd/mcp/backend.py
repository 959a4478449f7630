"""Where an MCP tool call runs.

Both backends take a method name of the :class:`memoryd.Memory` interface
and its arguments and return a :class:`~memoryd.client.routing.Routed`
value. Calls run in worker threads (``anyio.to_thread``), so the event loop
that serves MCP never blocks on SQLite or the embedding model.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import anyio.to_thread

from memoryd.client.routing import Routed

if TYPE_CHECKING:  # the engine loads only in the daemon, or on a stdio fallback
    from memoryd.client import Client
    from memoryd.engine import Memory

__all__ = ["ToolBackend", "ClientBackend", "EngineBackend"]


class ToolBackend(Protocol):
    """Runs one call of the ``Memory`` interface."""

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Routed[Any]:
        """Run method ``name``; raise its ``MemorydError`` unchanged."""
        ...


class EngineBackend:
    """The daemon's own engine (``served_by="daemon"``).

    Args:
        memory: returns the open engine; raises ``BackendUnavailable`` while it opens.
    """

    def __init__(self, memory: Callable[[], Memory]) -> None:
        self._memory = memory

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Routed[Any]:
        """Run ``Memory.<name>(*args, **kwargs)`` in a worker thread."""
        method = getattr(self._memory(), name)
        value = await anyio.to_thread.run_sync(functools.partial(method, *args, **kwargs))
        return Routed(value, "daemon")


class ClientBackend:
    """A lifecycle :class:`memoryd.Client` (daemon, restart, in-process fallback).

    Args:
        factory: builds the client on the first call, so nothing (daemon
            discovery, model load) happens before the MCP handshake.
    """

    def __init__(self, factory: Callable[[], Client]) -> None:
        self._factory = factory
        self._client: Client | None = None
        self._lock = threading.Lock()

    def client(self) -> Client:
        """The client, built on first use."""
        with self._lock:
            if self._client is None:
                self._client = self._factory()
            return self._client

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Routed[Any]:
        """``Client.routed(name, ...)`` in a worker thread."""

        def run() -> Routed[Any]:
            return self.client().routed(name, *args, **kwargs)

        return await anyio.to_thread.run_sync(run)

    def close(self) -> None:
        """Close the client and its fallback engine, if any."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
