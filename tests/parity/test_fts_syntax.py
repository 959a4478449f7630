"""FTS5 syntax in a search query is plain text: what each tricky query finds, on every face.

A query never reaches FTS5 as syntax (:func:`memoryd.store.fts.build_match_query`
quotes every word and joins them with OR). So quotes, ``*``, ``^``, ``-``,
``NEAR(...)``, ``AND``/``OR``/``NOT`` and ``column:`` prefixes do nothing: the
words around them are searched, and an operator word is searched as a word when
it is the only term. A query with no word at all (only punctuation) has no
keyword leg: keyword mode answers no hits (not an error, not degraded) and
hybrid mode answers the vector leg's ranking.

Each case names the seed entries the keyword leg must find, exactly. It runs on
three faces: the library with its in-memory BM25 index (waited for), the
library on FTS5's ``bm25()``, and the daemon over HTTP (``Client``; FTS5 until
its in-memory index is built, which gives the same hits), with the keyword,
hybrid and (for term-less queries) vector modes. The never-a-500 sweep of many more
queries is RELIABILITY.md S11 (``tests/server/test_s11_rest_search_queries.py``).
"""

from __future__ import annotations

import uuid

import pytest

import waits
from memoryd import Client, Memory

Backend = Memory | Client

ZEBRA = "Ann adopted a zebra named Stripes"
TOKYO = "東京タワー is in Minato"
SYNTAX = 'quotes " and stars * and NEAR(a b) AND OR NOT ^col : {x}'
SIGNS = "the caret sign and the minus sign"
PLAIN = "plain text about nothing special"
SEED = [ZEBRA, TOKYO, SYNTAX, SIGNS, PLAIN]

#: (query, the entries its keyword leg finds, why).
FINDS: list[tuple[str, set[str], str]] = [
    ('"zebra"', {ZEBRA}, "quotes are not a phrase: the word inside is searched"),
    ('"unclosed zebra', {ZEBRA}, "an unbalanced quote is no syntax error"),
    ("zebra*", {ZEBRA}, "a trailing star is dropped"),
    ("zeb*", set(), "the star is no prefix operator: 'zeb' is a word of its own"),
    ("^caret", {SIGNS}, "^ is no first-token anchor ('caret' is the second word)"),
    ("-zebra", {ZEBRA}, "a minus does not exclude"),
    ("NOT zebra", {ZEBRA}, "NOT does not exclude (a stopword beside another term)"),
    ("AND", {SYNTAX, SIGNS}, "an operator alone is searched as the word 'and'"),
    ("OR", {SYNTAX}, "an operator alone is searched as the word 'or'"),
    ("NOT", {SYNTAX}, "an operator alone is searched as the word 'not'"),
    ("NEAR(zebra minus, 3)", {ZEBRA, SYNTAX, SIGNS}, "NEAR is a word; its terms are ORed"),
    ("body:zebra", {ZEBRA}, "a column filter is two words ('body' is in no entry)"),
    ("{body context}: zebra", {ZEBRA}, "a column set is words too"),
    ("東京", {TOKYO}, "a CJK word inside a longer run"),
    ('東京"タワー', {TOKYO}, "a quote between CJK characters"),
]
#: Queries with no word in them: nothing for the keyword leg to search.
NO_TERMS = ['"', '""', "*", "(((", "?!* ^", "''", "\\", ":", "{}", "-"]


@pytest.fixture(scope="module", params=["library", "library-fts5", "daemon"])
def seeded(request: pytest.FixtureRequest) -> tuple[Backend, str]:
    """A face holding :data:`SEED` in a namespace of its own, keyword leg ready."""
    if request.param == "library":
        memory: Memory = request.getfixturevalue("memory_backend")
        assert memory.store.keywords.wait(waits.budget(60))
        backend: Backend = memory
    elif request.param == "library-fts5":
        fts5: Memory = request.getfixturevalue("fts5_backend")
        assert fts5.store.keywords.index is None  # every keyword search goes to FTS5
        backend = fts5
    else:
        backend = request.getfixturevalue("client_backend")
    namespace = f"fts-{uuid.uuid4().hex[:12]}"
    backend.add_many([{"content": text, "namespace": namespace} for text in SEED])
    return backend, namespace


@pytest.mark.parametrize(("query", "expected", "why"), FINDS, ids=[case[0] for case in FINDS])
def test_fts_syntax_is_searched_as_words(
    seeded: tuple[Backend, str], query: str, expected: set[str], why: str
) -> None:
    backend, ns = seeded
    keyword = backend.search(query, namespace=ns, mode="keyword", limit=len(SEED))
    assert (keyword.mode, keyword.degraded) == ("keyword", False)
    assert {hit.entry.content for hit in keyword.hits} == expected, why
    assert len(keyword.hits) == len(expected)
    hybrid = backend.search(query, namespace=ns, mode="hybrid", limit=len(SEED), explain=True)
    assert (hybrid.mode, hybrid.degraded) == ("hybrid", False)
    found = {h.entry.content for h in hybrid.hits if h.explain and h.explain.bm25_rank}
    assert found == expected, why  # the hybrid's keyword leg found the same entries
    assert {h.entry.content for h in hybrid.hits} == set(SEED)  # the vector leg ranks them all


@pytest.mark.parametrize("query", NO_TERMS)
def test_query_without_words_has_no_keyword_leg(seeded: tuple[Backend, str], query: str) -> None:
    backend, ns = seeded
    keyword = backend.search(query, namespace=ns, mode="keyword")
    assert (keyword.mode, keyword.degraded, keyword.hits) == ("keyword", False, [])
    hybrid = backend.search(query, namespace=ns, mode="hybrid", limit=len(SEED), explain=True)
    assert (hybrid.mode, hybrid.degraded) == ("hybrid", False)
    assert all(h.explain is not None and h.explain.bm25_rank is None for h in hybrid.hits)
    vector = backend.search(query, namespace=ns, mode="vector", limit=len(SEED))
    assert [h.entry.id for h in hybrid.hits] == [h.entry.id for h in vector.hits]
    assert len(hybrid.hits) == len(SEED)
