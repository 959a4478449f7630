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

from memoryd.forget import ForgetMixin
from memoryd.kinds import ConversationsMixin, StateMixin
from memoryd.learning.episodes import EpisodesMixin
from memoryd.learning.patterns import PatternsMixin
from memoryd.revisions import RevisionsMixin
from memoryd.transfer import TransferMixin

__all__ = ["Memory"]


class Memory(
    RevisionsMixin,
    ConversationsMixin,
    StateMixin,
    TransferMixin,
    EpisodesMixin,
    PatternsMixin,
    ForgetMixin,
):
    """The memory engine over one data directory.

    Memories: ``add``, ``add_many``, ``get``, ``update``, ``delete``, ``list``,
    ``search``, ``supersede``, ``history``, ``export``, ``import_entries``,
    ``stats``, ``forget`` (erase a namespace, user or agent). Conversations:
    ``append``, ``last_messages``, ``session_messages``. Session state:
    ``set_state``, ``get_state``, ``delete_state``. Key/value with TTL:
    ``kv_set``, ``kv_get``, ``kv_delete``.
    Episodes (``memoryd.learning``): ``start_episode``, ``log_step``,
    ``log_steps``, ``complete_episode``, ``get_episode``, ``list_episodes``,
    ``update_episode``, ``delete_episode``, ``checkpoint_episode``,
    ``resume_episode``, ``retrieve_context``. Patterns: ``recommend_patterns``,
    ``search_patterns``, ``get_pattern``, ``list_patterns``,
    ``record_feedback``, ``extract_patterns``, ``decay_patterns``,
    ``analyze_patterns``, ``advanced_pattern_analysis``.

    Args:
        settings: full settings; if omitted they are loaded from env/TOML and
            ``**overrides`` (e.g. ``Memory(data_dir=path)``).
        embedder: an embedding provider to use instead of the configured one.
        background: start the TTL-purge, embedding-backfill and index
            checkpoint workers (default true; without them every write embeds
            before its commit).

    Raises:
        ConfigError: unsafe config file or SQLite refused the required PRAGMAs.
    """
