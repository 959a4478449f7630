"""``memoryd.Memory``: the one in-process engine every face calls.

Example::

    from memoryd import Memory
    with Memory(data_dir="/tmp/mem") as memory:
        entry = memory.add("Ann prefers tea", tags=["prefs"])
        hits = memory.search("what does Ann drink?").hits

Thread-safe: writes are serialised by the store's single writer connection,
reads use one connection per thread.
"""

from __future__ import annotations

from memoryd.collections import ConversationsMixin, StateMixin, TransferMixin

__all__ = ["Memory"]


class Memory(ConversationsMixin, StateMixin, TransferMixin):
    """The memory engine over one data directory.

    Memories: ``add``, ``add_many``, ``get``, ``update``, ``delete``, ``list``,
    ``search``, ``supersede``, ``history``, ``export``, ``import_entries``,
    ``stats``. Conversations: ``append``, ``last_messages``,
    ``session_messages``. Session state: ``set_state``, ``get_state``,
    ``delete_state``. Key/value with TTL: ``kv_set``, ``kv_get``, ``kv_delete``.

    Args:
        settings: full settings; if omitted they are loaded from env/TOML and
            ``**overrides`` (e.g. ``Memory(data_dir=path)``).
        embedder: an embedding provider to use instead of the configured one.
        background: start the TTL-purge, embedding-backfill and index
            checkpoint workers (default true).

    Raises:
        ConfigError: unsafe config file or SQLite refused the required PRAGMAs.
    """
