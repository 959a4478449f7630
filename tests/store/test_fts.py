"""FTS text preparation and query building: any user string is safe."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from memoryd.store.fts import build_match_query, index_text, namespace_token, query_terms


def test_query_terms_drop_stopwords_and_keep_content() -> None:
    assert query_terms("What did Ann say about the TRIP?") == ["ann", "say", "trip"]


def test_query_terms_keep_stopwords_when_nothing_else() -> None:
    assert query_terms("what is it") == ["what", "is", "it"]


def test_cjk_split_into_character_phrases() -> None:
    assert index_text("我爱东京") == " 我  爱  东  京 "
    assert query_terms("东京 tower") == ["东 京", "tower"]
    assert build_match_query("东京") == '{body context} : ("东 京")'


def test_match_query_quotes_every_term() -> None:
    assert build_match_query('ann "AND" NEAR(x') == '{body context} : ("ann" OR "near" OR "x")'
    assert build_match_query('"NOT"') == '{body context} : ("not")'
    assert build_match_query("tea", "team-a") == (
        f'ns : "{namespace_token("team-a")}" AND {{body context}} : ("tea")'
    )
    assert build_match_query("?!* ^") is None


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=80))
def test_any_string_is_a_valid_fts_query(text: str) -> None:
    import sqlite3

    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5(body, context, ns, tokenize='porter unicode61')"
    )
    conn.execute(
        "INSERT INTO t(body, context, ns) VALUES (?, '', ?)",
        (index_text("hello world 东京 " + text), namespace_token("n/1")),
    )
    match = build_match_query(text, "n/1")
    if match is None:
        return
    conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (match,)).fetchall()


def test_namespace_token_matches_migration_sql() -> None:
    import sqlite3

    conn = sqlite3.connect(":memory:")
    for namespace in ("default", "Team-A/x:1", "ünïcode.ns"):
        got = conn.execute("SELECT 'n' || lower(hex(?))", (namespace,)).fetchone()[0]
        assert got == namespace_token(namespace)


def test_keyword_search_stays_in_its_namespace(memory) -> None:  # type: ignore[no-untyped-def]
    for i in range(30):
        memory.add(f"green tea note {i}", namespace="big")
    only = memory.add("green tea in the small namespace", namespace="small")
    hits = memory.search("green tea", mode="keyword", namespace="small").hits
    assert [h.entry.id for h in hits] == [only.id]
