"""``memoryd.Client``: the :class:`~memoryd.Memory` interface over the daemon's REST API.

Example::

    from memoryd import Client
    with Client() as memory:                       # base URL and token from Settings
        entry = memory.add("Ann prefers tea", tags=["prefs"])
        hits = memory.search("what does Ann drink?").hits

Same methods, arguments and return types as ``Memory``; errors are rebuilt from
the wire ``code`` with :func:`memoryd.errors.error_from_code`, so callers catch
the same classes. A refused or reset connection raises ``BackendUnavailable``,
an elapsed timeout ``Timeout``. One keep-alive connection pool per client;
thread-safe.

With ``lifecycle=True`` the client finds the daemon of ``settings.data_dir``
itself, starts one when none runs (``settings.auto_start``) and serves a call
in-process when the daemon fails (``settings.fallback_local``); see
:mod:`memoryd.client.routing`. ``client.served_by`` and ``client.degraded``
say how this thread's last call was served::

    with Client(lifecycle=True) as memory:
        memory.search("tea")
        memory.served_by          # "daemon" or "local"
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from memoryd.client.collections import ClientConversations, ClientState
from memoryd.client.learning import ClientEpisodes, ClientPatterns
from memoryd.client.routing import Routed, Router, ServedBy
from memoryd.config import Settings
from memoryd.errors import ValidationError

__all__ = ["ROUTED_METHODS", "Client", "Routed", "ServedBy"]

#: Methods that follow the lifecycle (daemon, restart, in-process fallback).
#: ``export`` and ``import_entries`` stream and always need the daemon.
ROUTED_METHODS = (
    "add",
    "add_many",
    "get",
    "update",
    "delete",
    "list",
    "search",
    "supersede",
    "history",
    "stats",
    "forget",
    "append",
    "last_messages",
    "session_messages",
    "set_state",
    "get_state",
    "delete_state",
    "kv_set",
    "kv_get",
    "kv_delete",
    # self-learning layer
    "start_episode",
    "log_step",
    "log_steps",
    "complete_episode",
    "get_episode",
    "list_episodes",
    "update_episode",
    "delete_episode",
    "checkpoint_episode",
    "resume_episode",
    "retrieve_context",
    "recommend_patterns",
    "search_patterns",
    "get_pattern",
    "list_patterns",
    "record_feedback",
    "extract_patterns",
    "decay_patterns",
    "analyze_patterns",
    "advanced_pattern_analysis",
)


class Client(ClientConversations, ClientState, ClientEpisodes, ClientPatterns):
    """HTTP client for a running memoryd daemon, with the methods of :class:`memoryd.Memory`.

    Memories: ``add``, ``add_many``, ``get``, ``update``, ``delete``, ``list``,
    ``search``, ``supersede``, ``history``, ``export``, ``import_entries``,
    ``stats``, ``forget``. Conversations: ``append``, ``last_messages``,
    ``session_messages``. Session state: ``set_state``, ``get_state``,
    ``delete_state``. Key/value with TTL: ``kv_set``, ``kv_get``, ``kv_delete``.
    Episodes and patterns: the same methods as ``Memory`` (``start_episode``,
    ``log_step``, ``complete_episode``, ``retrieve_context``,
    ``recommend_patterns``, ``record_feedback``, ... see ``client/learning.py``).

    Args:
        settings: where the daemon is (``base_url``), its token file
            (``resolved_token_file``), ``client_timeout_s`` (seconds) and
            ``max_body_bytes`` (bytes); loaded from env/TOML and ``**overrides`` if omitted.
        base_url: e.g. ``"http://127.0.0.1:7077"`` (overrides ``settings``).
        token: the bearer token (default: read from the token file on first call).
        timeout_s: per-request timeout in seconds (default ``settings.client_timeout_s``).
        lifecycle: find the daemon of ``settings.data_dir`` (``daemon.json``), start it
            when allowed and fall back to an in-process engine (per-call timeout
            ``settings.daemon_timeout_s`` unless ``timeout_s`` is given). Only a daemon
            that serves the store of ``data_dir`` is used (:mod:`memoryd.lifecycle.identity`).
        verify_store: with ``base_url``, check once before the first request that the
            daemon serves the store of ``settings.data_dir`` (when ``data_dir`` was set
            explicitly and holds a store); ``StoreMismatch`` if not.

    Raises:
        ValidationError: ``lifecycle=True`` together with ``base_url``.

    Example: ``Client(base_url="http://127.0.0.1:7077", token="...", timeout_s=5.0)``.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        base_url: str | None = None,
        token: str | None = None,
        timeout_s: float | None = None,
        lifecycle: bool = False,
        verify_store: bool = True,
        **overrides: Any,
    ) -> None:
        if lifecycle and base_url is not None:
            raise ValidationError("lifecycle=True finds the daemon itself: omit base_url")
        super().__init__(
            settings,
            base_url=base_url,
            token=token,
            timeout_s=timeout_s,
            verify_store=verify_store and not lifecycle,  # the router verifies what it finds
            **overrides,
        )
        if lifecycle:
            if timeout_s is None:
                self._t.timeout_s = self.settings.daemon_timeout_s
            self._router = Router(self.settings, retarget=self._retarget)

    def routed(self, name: str, *args: Any, **kwargs: Any) -> Routed[Any]:
        """Call method ``name`` and return its value with how it was served.

        Raises:
            ValidationError: ``name`` is not one of :data:`ROUTED_METHODS`.
            MemorydError: whatever the method raises.
        """
        if name not in ROUTED_METHODS:
            raise ValidationError(f"unknown method {name!r}", method=name)
        method = _HTTP_METHODS[name]
        if self._router is None:
            routed: Routed[Any] = Routed(method(self, *args, **kwargs), "daemon")
        else:
            routed = self._router.call(name, lambda: method(self, *args, **kwargs), *args, **kwargs)
        self._served.last = routed
        return routed


_HTTP_METHODS: dict[str, Callable[..., Any]] = {
    name: getattr(Client, name) for name in ROUTED_METHODS
}


def _routed_method(name: str) -> Callable[..., Any]:
    @functools.wraps(_HTTP_METHODS[name])
    def method(self: Client, *args: Any, **kwargs: Any) -> Any:
        if self._router is None:
            return _HTTP_METHODS[name](self, *args, **kwargs)
        return self.routed(name, *args, **kwargs).value

    return method


for _name in ROUTED_METHODS:
    setattr(Client, _name, _routed_method(_name))
