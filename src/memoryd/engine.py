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

import functools
import os
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, Protocol, Self, TypeVar

from memoryd.config import Settings, load_settings
from memoryd.embeddings import Embedder, QueryEmbeddingCache, create_embedder
from memoryd.forget import Forgetting
from memoryd.kinds import Conversations, KeyedState
from memoryd.learning.base import LearningParts
from memoryd.learning.episodes import Episodes
from memoryd.learning.patterns import Patterns
from memoryd.learning.reflection import Reflector
from memoryd.memories import Memories, full_storage_check
from memoryd.packing import ContextPacker
from memoryd.revisions import Revisions
from memoryd.store.connection import Pragmas
from memoryd.store.space import SpaceReserve
from memoryd.store.sqlite import SQLiteStore
from memoryd.transfer import Transfer
from memoryd.workers import Workers
from memoryd.write_vectors import WriteVectors

__all__ = ["Memory"]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_R_co = TypeVar("_R_co", covariant=True)


class _Method(Protocol[_P, _R_co]):
    """A component's method as its class holds it: ``self`` (named, as declared), then ``_P``.

    ``Callable[Concatenate[Any, _P], _R]`` would not do: it wants ``self``
    positional-only, which a method taking ``**fields`` does not declare.
    """

    def __call__(_method, self: Any, *args: _P.args, **kwargs: _P.kwargs) -> _R_co: ...


def _delegate(component: str, method: _Method[_P, _R]) -> Callable[Concatenate[Memory, _P], _R]:
    """A ``Memory`` method that calls ``method`` on the component held in ``component``.

    The result keeps ``method``'s name, docstring and (through
    ``__wrapped__``) its signature, so ``inspect.signature`` and ``help``
    show the component's declaration, and mypy sees its parameters.
    """

    @functools.wraps(method)
    def call(self: Memory, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        return method(getattr(self, component), *args, **kwargs)

    call.__qualname__ = f"Memory.{call.__name__}"
    return call


class Memory:
    """The memory engine over one data directory.

    Memories, conversations, session state, key/value with TTL, export and
    import, ``forget``, episodes and patterns: the public methods, grouped at
    the end of the class, each delegate (:func:`_delegate`) to one of the
    named components, plain classes holding the parts they need: ``memories``
    (:class:`~memoryd.memories.Memories`), ``packer`` (``pack_context``),
    ``revisions``, ``conversations``, ``keyed`` (state and key/value),
    ``transfer``, ``episodes``, ``patterns`` (both over ``learning``, the shared
    :class:`~memoryd.learning.base.LearningParts`) and ``forgetting``.

    Args:
        settings: full settings; if omitted they are loaded from env/TOML and
            ``**overrides`` (e.g. ``Memory(data_dir=path)``).
        embedder: an embedding provider to use instead of the configured one.
        background: start the TTL-purge, embedding-backfill, index
            checkpoint, storage, erasure, integrity and pattern-extraction
            workers and the in-memory BM25 index build (default true; without
            them keyword search uses FTS5 unless ``store.keywords.start()``
            is called, and every write embeds before its commit: no worker
            would embed deferred ones).
        defer_keyword_index: leave the BM25 index build to the caller
            (``store.keywords.start()``); the daemon starts it once it is
            ready, so the build does not compete with start-up for the GIL.
        defer_index_drain: leave inserting the ``index_log`` tail staged at
            open (after a crash) into the HNSW graphs to the caller
            (``store.vectors.start_drain()``); until then it is searched exactly.

    Raises:
        ConfigError: unsafe config file or SQLite refused the required PRAGMAs.
        StorageFull: the disk is too full to open the store even after giving
            up the space reserve (``Settings.disk_reserve_bytes``).
        StoreCorrupted: the store file is damaged beyond opening (a damaged
            store that opens is served read-only: see :meth:`verify_storage`).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        background: bool = True,
        defer_keyword_index: bool = False,
        defer_index_drain: bool = False,
        **overrides: Any,
    ) -> None:
        self.settings = settings or load_settings(**overrides)
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.settings.data_dir, 0o700)
        self._owns_embedder = embedder is None
        self.embedder = embedder or create_embedder(self.settings)
        self.query_cache = QueryEmbeddingCache()
        reserve = SpaceReserve.for_settings(self.settings)
        reserve.ensure()
        self.store = SQLiteStore(
            self.settings.db_path,
            self.settings.index_dir,
            Pragmas(
                synchronous=self.settings.sqlite_synchronous,
                busy_timeout_ms=self.settings.busy_timeout_ms,
            ),
            model=self.embedder.model,
            dim=self.embedder.dim,
            reserve=reserve,
            long_lived=background,
        )
        try:
            self._open_store(background)
        except BaseException:
            self.store.close()
            if self._owns_embedder:
                self.embedder.close()
            raise
        if self.settings.keyword_index == "memory" and background and not defer_keyword_index:
            # Long-lived engines only: a one-shot CLI engine (background=False)
            # would pay the build (about 1.5 s at 100k rows) for one search.
            self.store.keywords.start()
        if not defer_index_drain:
            self.store.vectors.start_drain()  # a no-op unless a tail was staged (long-lived)
        self._closed = False
        self.write_vectors = WriteVectors(
            self.store,
            self.embedder,
            budget_s=self.settings.write_embed_budget_ms / 1000,
            backlog_max_s=self.settings.embed_backlog_max_s,
            can_defer=background,
        )
        self.workers = Workers(
            self.settings,
            self.store,
            self.write_vectors,
            functools.partial(full_storage_check, self.store),
        )
        self.memories = Memories(
            self.settings,
            self.store,
            self.embedder,
            self.query_cache,
            self.write_vectors,
            self.workers.wake_backfill,
        )
        self.packer = ContextPacker(self.store, self.embedder, self.memories)
        self.revisions = Revisions(self.settings, self.store, self.write_vectors, self.memories)
        self.conversations = Conversations(self.store, self.memories)
        self.keyed = KeyedState(self.store, self.write_vectors, self.memories)
        self.transfer = Transfer(self.settings, self.store, self.write_vectors)
        if background:
            self.workers.start()
        self.learning = LearningParts(self.store, self.embedder, self.query_cache)
        self.episodes = Episodes(self.learning)
        self.patterns = Patterns(self.learning)
        self.forgetting = Forgetting(
            self.settings, self.store, self.query_cache, self.learning.episode_index
        )
        if background:
            self.learning.extraction_worker.start()

    def _open_store(self, background: bool) -> None:
        """Load the vector index; long-lived engines also run the quick check at open.

        The quick check runs while the index loads; the engine then waits for
        it at most ``settings.integrity_open_check_budget_s`` seconds (a longer
        one finishes in the background). One-shot engines skip it: the daemon
        and the periodic full check cover the store.
        """
        if background:
            self.store.integrity.start_open_check(self.settings.integrity_open_check_budget_s)
        self.index_source = self.store.vectors.open()
        self.store.integrity.await_open_check()

    # --- lifecycle ----------------------------------------------------------
    def close(self) -> None:
        """Stop the workers, flush retrieval counts, checkpoint the index, close the store.

        Idempotent. Retrieval counts are not written when the store was found
        damaged (it refuses writes); that is logged.
        """
        if self._closed:
            return
        self.learning.close()
        self._closed = True
        self.workers.stop()
        self.memories.close()
        self.store.close()
        if self._owns_embedder:
            self.embedder.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def ready(self) -> bool:
        """True when the store is open and the vector index is loaded."""
        return not self._closed and self.store.vectors.ready

    @property
    def store_id(self) -> str:
        """The id of this store (a UUID kept in the database; ``memoryd.store.identity``)."""
        return self.store.store_id

    @property
    def reflector(self) -> Reflector | None:
        """Optional provider (e.g. an LLM) that refines the rule-based reflection."""
        return self.episodes.reflector

    @reflector.setter
    def reflector(self, value: Reflector | None) -> None:
        self.episodes.reflector = value

    # --- memories (memories.py, packing.py, revisions.py) --------------------------------
    add = _delegate("memories", Memories.add)
    add_many = _delegate("memories", Memories.add_many)
    get = _delegate("memories", Memories.get)
    delete = _delegate("memories", Memories.delete)
    list = _delegate("memories", Memories.list)
    search = _delegate("memories", Memories.search)
    pack_context = _delegate("packer", ContextPacker.pack_context)
    stats = _delegate("memories", Memories.stats)
    verify_storage = _delegate("memories", Memories.verify_storage)
    update = _delegate("revisions", Revisions.update)
    supersede = _delegate("revisions", Revisions.supersede)
    history = _delegate("revisions", Revisions.history)

    # --- typed kinds (kinds/) -------------------------------------------------
    append = _delegate("conversations", Conversations.append)
    last_messages = _delegate("conversations", Conversations.last_messages)
    session_messages = _delegate("conversations", Conversations.session_messages)
    set_state = _delegate("keyed", KeyedState.set_state)
    get_state = _delegate("keyed", KeyedState.get_state)
    delete_state = _delegate("keyed", KeyedState.delete_state)
    kv_set = _delegate("keyed", KeyedState.kv_set)
    kv_get = _delegate("keyed", KeyedState.kv_get)
    kv_delete = _delegate("keyed", KeyedState.kv_delete)

    # --- export, import, forget (transfer.py, forget.py) ---------------------
    export = _delegate("transfer", Transfer.export)
    import_entries = _delegate("transfer", Transfer.import_entries)
    forget = _delegate("forgetting", Forgetting.forget)

    # --- episodes (learning/episodes.py) ---------------------------------------
    start_episode = _delegate("episodes", Episodes.start_episode)
    log_step = _delegate("episodes", Episodes.log_step)
    log_steps = _delegate("episodes", Episodes.log_steps)
    complete_episode = _delegate("episodes", Episodes.complete_episode)
    get_episode = _delegate("episodes", Episodes.get_episode)
    list_episodes = _delegate("episodes", Episodes.list_episodes)
    update_episode = _delegate("episodes", Episodes.update_episode)
    delete_episode = _delegate("episodes", Episodes.delete_episode)
    checkpoint_episode = _delegate("episodes", Episodes.checkpoint_episode)
    resume_episode = _delegate("episodes", Episodes.resume_episode)
    retrieve_context = _delegate("episodes", Episodes.retrieve_context)
    recommend_for = _delegate("episodes", Episodes.recommend_for)

    # --- patterns (learning/patterns.py, learning/base.py) --------------------
    recommend_patterns = _delegate("patterns", Patterns.recommend_patterns)
    search_patterns = _delegate("patterns", Patterns.search_patterns)
    get_pattern = _delegate("patterns", Patterns.get_pattern)
    list_patterns = _delegate("patterns", Patterns.list_patterns)
    record_feedback = _delegate("patterns", Patterns.record_feedback)
    extract_patterns = _delegate("patterns", Patterns.extract_patterns)
    decay_patterns = _delegate("patterns", Patterns.decay_patterns)
    analyze_patterns = _delegate("patterns", Patterns.analyze_patterns)
    advanced_pattern_analysis = _delegate("patterns", Patterns.advanced_pattern_analysis)
    flush_retrievals = _delegate("learning", LearningParts.flush_retrievals)
