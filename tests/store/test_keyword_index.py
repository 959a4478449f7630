"""The in-memory BM25 index: same ranking as FTS5, every write visible in every process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

import waits
from memoryd import Memory
from memoryd.config import Settings
from memoryd.embeddings import Embedder
from memoryd.store.analyzer import analyze
from memoryd.store.filters import scope_where
from memoryd.store.fts import query_terms
from memoryd.store.keyword_index import KeywordIndex, TextRow, query_tokens

CORPUS = [
    "Caroline went running in the park on Sunday morning",
    "Melanie painted a sunrise over the lake last year",
    "Caroline is researching adoption agencies for her family",
    "The support group for LGBTQ people meets every Tuesday",
    "Melanie runs a charity race for cancer research",
    "We ran into an old friend at the café near the museum",
    "Pottery class: Melanie made a bowl and a mug",
    "Caroline gave a speech at the school about her transition",
    "The camping trip in the mountains was cancelled by rain",
    "Running shoes were on sale; Caroline bought two pairs",
    "A painting of horses hangs in Melanie's living room",
    "Research on adoption: counselling, agencies and paperwork",
]
QUERIES = [
    "When did Caroline go running?",
    "What did Melanie paint?",
    "adoption agencies research",
    "cafe museum friend",
    "pottery bowl mug class",
    "cancer charity race",
    "camping mountains rain",
    "xyzzy unknown words",
]


def _ranking(memory: Memory, query: str, k: int = 50) -> list[tuple[int, float]]:
    where = scope_where(namespace="default", now=time.time())
    return memory.store.candidates.keyword(query_terms(query), "default", where, k)


def _key(ranked: list[tuple[int, float]]) -> list[tuple[float, int]]:
    return sorted((-round(score, 9), rowid) for rowid, score in ranked)


def test_analyzer_gives_fts5_tokens() -> None:
    assert analyze("Running, café!") == ["run", "cafe"]
    assert analyze("snake_case-word ÉCOLE") == ["snake", "case", "word", "ecol"]
    assert analyze("incredibly technology") == ["incred", "technolog"]  # Porter's revisions
    assert analyze("a🤘b 東 京") == ["a🤘b", "東", "京"]
    assert analyze("?!* ^") == []
    assert query_tokens(["running", "東 京"]) is None  # a phrase: FTS5 handles it
    assert query_tokens(["running", "東"]) == ["run", "東"]


def test_ranking_equals_fts5(settings: Settings, embedder: Embedder) -> None:
    with Memory(settings, embedder=embedder) as fast:
        fast.add_many([{"content": text} for text in CORPUS])
        for i in range(3):  # the context column (weight 0.5) and namespaces other than default
            fast.append("s1", f"Caroline said she loves running {i}")
            fast.add("running caroline elsewhere", namespace="other")
        assert fast.store.keywords.wait(60)
        # Equal scores once the follower has replayed the log (a tail's rows are ranked by
        # FTS5 meanwhile, against the index's statistics of before them).
        deadline = time.monotonic() + waits.budget(30)
        while (view := fast.store.keywords.current()) is None or view.tail:
            assert time.monotonic() < deadline, "the follower did not catch up"
            time.sleep(0.05)
        fts_settings = settings.model_copy(update={"keyword_index": "fts5"})
        with Memory(fts_settings, embedder=embedder) as fts:
            assert fts.store.keywords.index is None
            for query in QUERIES:
                got, want = _ranking(fast, query), _ranking(fts, query)
                assert fast.store.keywords.index is not None
                assert [r for _, r in _key(got)] == [r for _, r in _key(want)], query
                for (g, _), (w, _) in zip(_key(got), _key(want), strict=True):
                    assert g == pytest.approx(w, rel=1e-5), query


def test_writes_deletes_and_history_are_reflected(memory: Memory) -> None:
    assert memory.store.keywords.wait(60)
    first = memory.add("the quokka lives on Rottnest island")
    assert [h.entry.id for h in memory.search("quokka", mode="keyword").hits] == [first.id]
    memory.update(first.id, content="the wombat digs burrows")
    assert memory.search("quokka", mode="keyword").hits == []
    assert [h.entry.id for h in memory.search("wombats", mode="keyword").hits] == [first.id]
    newer = memory.supersede(first.id, "the wombat sleeps all day")
    hits = memory.search("wombat", mode="keyword").hits
    assert [h.entry.id for h in hits] == [newer.id]
    memory.delete(newer.id)
    assert [h.entry.id for h in memory.search("wombat", mode="keyword").hits] == [first.id]
    short = memory.add("the platypus lays eggs", ttl_seconds=1)
    assert [h.entry.id for h in memory.search("platypus", mode="keyword").hits] == [short.id]
    assert memory.store.writes.purge_expired(time.time() + 5) == 1
    assert memory.search("platypus", mode="keyword").hits == []
    index = memory.store.keywords.index
    rows = memory.store.pool.reader().execute("SELECT count(*) FROM memories").fetchone()[0]
    deadline = time.monotonic() + waits.budget(30)  # the follower replays the log after writes
    while index is not None and len(index) != rows and time.monotonic() < deadline:
        time.sleep(0.01)
    assert index is not None and len(index) == rows == 1


_CHILD = textwrap.dedent(
    """
    import sys
    from memoryd import Memory
    with Memory(data_dir=sys.argv[1], background=False) as m:
        m.add("a narwhal was seen near Svalbard")
        m.update(sys.argv[2], content="the okapi is a forest giraffe")
        m.delete(sys.argv[3])
    """
)


def test_write_in_another_process_is_found_on_next_search(
    settings: Settings, embedder: Embedder
) -> None:
    with Memory(settings, embedder=embedder) as parent:
        assert parent.store.keywords.wait(60)
        keep = parent.add("a capybara swims in the river")
        gone = parent.add("a tapir eats fruit")
        assert parent.search("tapir", mode="keyword").hits
        env = {**os.environ, "MEMORYD_MODEL_CACHE_DIR": str(settings.model_cache_dir)}
        subprocess.run(
            [sys.executable, "-c", _CHILD, str(settings.data_dir), str(keep.id), str(gone.id)],
            check=True,
            env=env,
            timeout=waits.budget(120),
        )
        assert parent.store.keywords.index is not None
        assert [h.entry.content for h in parent.search("narwhal", mode="keyword").hits] == [
            "a narwhal was seen near Svalbard"
        ]
        assert [h.entry.id for h in parent.search("okapi", mode="keyword").hits] == [keep.id]
        assert parent.search("capybara", mode="keyword").hits == []
        assert parent.search("tapir", mode="keyword").hits == []
        assert parent.store.keywords.index is not None  # the in-memory path answered


def test_behind_a_log_compaction_rebuilds(memory: Memory) -> None:
    assert memory.store.keywords.wait(60)
    memory.add("an axolotl regrows its legs")
    with memory.store.pool.write() as conn:  # as if another process compacted far ahead
        newest = conn.execute("SELECT MAX(seq) FROM keyword_log").fetchone()[0]
        conn.execute("DELETE FROM keyword_log")
        conn.execute(
            "INSERT OR REPLACE INTO meta VALUES ('keyword_log_compacted', ?)", (str(newest + 10),)
        )
        conn.execute("INSERT INTO keyword_log(seq, rowid) VALUES (?, 1)", (newest + 11,))
    # FTS5 answers while the index is rebuilt, then the rebuilt index does.
    assert len(memory.search("axolotl", mode="keyword").hits) == 1
    assert memory.store.keywords.wait(60)
    assert len(memory.search("axolotl", mode="keyword").hits) == 1
    assert memory.store.keywords.index is not None


def test_cjk_and_any_user_string(memory: Memory) -> None:
    assert memory.store.keywords.wait(60)
    tokyo = memory.add("東京タワーは赤い")
    assert [h.entry.id for h in memory.search("東京", mode="keyword").hits] == [tokyo.id]
    assert [h.entry.id for h in memory.search("赤", mode="keyword").hits] == [tokyo.id]
    memory.add('quotes "AND" NEAR(x OR y) * ^ snake_case')
    nasty = ['"', "NEAR(", "*", "_", "\x00", "💥 emoji", "running " * 100, " ", "ñ̃", "snake_case"]
    for text in nasty:
        memory.search(text, mode="keyword")
        memory.search(text, mode="hybrid")


def test_index_build_and_incremental_agree() -> None:
    rows = [TextRow(i + 1, text, "", "n00") for i, text in enumerate(CORPUS)]
    built = KeywordIndex.build([rows], 0)
    grown = KeywordIndex()
    for row in rows:
        grown.apply([row], [], row.rowid)
    for query in QUERIES:
        tokens = query_tokens(query_terms(query))
        assert tokens is not None
        a, b = built.score(tokens, "n00"), grown.score(tokens, "n00")
        assert dict(zip(a[0].tolist(), a[1].tolist(), strict=True)) == pytest.approx(
            dict(zip(b[0].tolist(), b[1].tolist(), strict=True))
        )


def test_filters_widen_the_window(memory: Memory) -> None:
    assert memory.store.keywords.wait(60)
    memory.add_many([{"content": f"kiwi note number {i}", "tags": ["bulk"]} for i in range(300)])
    # Long, so it ranks last of the 301 matches: found only after the window widens.
    rare = memory.add("kiwi note " + "filler words " * 40, tags=["rare"])
    hits = memory.search("kiwi note", mode="keyword", tags=["rare"]).hits
    assert [h.entry.id for h in hits] == [rare.id]
    assert memory.store.keywords.index is not None
