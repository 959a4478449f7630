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
"""

from __future__ import annotations

from memoryd.client.collections import ConversationsMixin, StateMixin
from memoryd.client.learning import EpisodesMixin, PatternsMixin

__all__ = ["Client"]


class Client(ConversationsMixin, StateMixin, EpisodesMixin, PatternsMixin):
    """HTTP client for a running memoryd daemon, with the methods of :class:`memoryd.Memory`.

    Memories: ``add``, ``add_many``, ``get``, ``update``, ``delete``, ``list``,
    ``search``, ``supersede``, ``history``, ``export``, ``import_entries``,
    ``stats``. Conversations: ``append``, ``last_messages``,
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
        transport: an httpx transport (e.g. ``httpx.ASGITransport`` for in-process tests).

    Example: ``Client(base_url="http://127.0.0.1:7077", token="...", timeout_s=5.0)``.
    """
