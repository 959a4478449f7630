"""The keyword index follows the writes in its own thread; searches see the rows it has not yet.

Issue 17 item 5: the first search after a burst of writes paid for the
in-memory BM25 index catching up with ``keyword_log``. The index's build
thread now replays the log after each write (``KeywordUpkeep.written``),
and a search ranks the rows logged since the index was applied (the
*tail*) through FTS5, so an acknowledged write is found by the next search
whether or not the follower got to it.
"""

from __future__ import annotations

import time

import waits
from memoryd import Memory
from memoryd.config import Settings
from memoryd.embeddings import Embedder
from memoryd.store.candidates import _ranges
from memoryd.store.filters import scope_where
from memoryd.store.fts import query_terms


def _newest(memory: Memory) -> int:
    row = memory.store.pool.reader().execute("SELECT MAX(seq) FROM keyword_log").fetchone()
    return int(row[0])


def _ranked_rowids(memory: Memory, query: str) -> list[int]:
    where = scope_where(namespace="default", now=time.time())
    return [r for r, _ in memory.store.candidates.keyword(query_terms(query), "default", where, 50)]


def test_the_follower_indexes_writes_without_a_search(memory: Memory) -> None:
    assert memory.store.keywords.wait(waits.budget(60))
    memory.add_many([{"content": f"note {i} about the harbour crane"} for i in range(40)])
    newest = _newest(memory)
    deadline = time.monotonic() + waits.budget(30)
    index = memory.store.keywords.index
    assert index is not None
    while index.applied_seq < newest and time.monotonic() < deadline:
        time.sleep(0.01)
    assert index.applied_seq == newest  # caught up with no search asking for it
    view = memory.store.keywords.current()
    assert view is not None and view.tail == []


def test_a_burst_is_found_by_the_very_next_search(memory: Memory) -> None:
    assert memory.store.keywords.wait(waits.budget(60))
    placed = memory.add_many(
        [{"content": f"turn {i}: the token zq{i}x marks it", "kind": "message"} for i in range(600)]
    )
    for i in (599, 300, 0):  # the last rows written are the likeliest not yet indexed
        hits = memory.search(f"zq{i}x", mode="keyword").hits
        assert [h.entry.id for h in hits] == [placed[i].id]


def test_rows_behind_the_index_are_ranked_through_fts5(
    settings: Settings, embedder: Embedder
) -> None:
    with Memory(settings, embedder=embedder) as served:
        assert served.store.keywords.wait(waits.budget(60))
        kept = served.add("a capybara swims in the river")
        gone = served.add("a tapir eats fruit")
        assert served.search("tapir", mode="keyword").hits
        # Another engine's writes do not wake this one's follower: they are its tail.
        with Memory(settings, embedder=embedder, background=False) as other:
            new = other.add("a narwhal was seen near Svalbard")
            other.update(kept.id, content="the okapi is a forest giraffe")
            other.delete(gone.id)
        view = served.store.keywords.current()
        assert view is not None
        rows = served.store.pool.reader().execute("SELECT id, rowid FROM memories").fetchall()
        rowids = {str(r[0]): int(r[1]) for r in rows}
        new_row, kept_row = rowids[str(new.id)], rowids[str(kept.id)]
        assert set(view.tail) >= {new_row, kept_row}
        assert _ranked_rowids(served, "narwhal") == [new_row]
        assert _ranked_rowids(served, "okapi giraffe") == [kept_row]
        assert _ranked_rowids(served, "capybara") == []  # the old text of a re-written row
        assert _ranked_rowids(served, "tapir") == []  # deleted
        assert served.store.keywords.index is not None  # the in-memory path answered


def test_tail_ranges() -> None:
    assert _ranges([]) == []
    assert _ranges([3, 4, 5, 9, 10, 20]) == [(3, 5), (9, 10), (20, 20)]
    assert _ranges(list(range(0, 40, 2)), most=8) == [(0, 38)]  # too many runs: one span
