"""Parity: search modes, filters, time bounds, explain, min_score, diversity."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from memoryd import Client, Filter, Memory, SearchParams
from memoryd.errors import ValidationError

Backend = Memory | Client

APOLLO = {"name": "apollo"}
CORPUS = [
    ("Ann prefers green tea in the morning", {"speaker": "Ann", "n": 1, "topics": ["drinks"]}),
    ("Bob drinks black coffee every day", {"speaker": "Bob", "n": 2, "topics": ["drinks"]}),
    ("The quarterly report is due on Friday", {"speaker": "Ann", "n": 3, "project": APOLLO}),
    ("Carol is learning to play the violin", {"speaker": "Carol", "n": 4}),
    (
        "Deploy the apollo service after the tests pass",
        {"speaker": "Bob", "n": 5, "project": APOLLO},
    ),
]
TAGS = [["prefs"], ["prefs"], ["work"], ["hobby"], ["work"]]


def _seed(backend: Backend, ns: str) -> None:
    backend.add_many(
        [
            {
                "content": text,
                "namespace": ns,
                "metadata": meta,
                "tags": tags,
                "created_at": datetime(2024, month, 10, tzinfo=UTC),
            }
            for month, ((text, meta), tags) in enumerate(zip(CORPUS, TAGS, strict=True), start=1)
        ]
    )


def _contents(backend: Backend, ns: str, query: str, **params: object) -> list[str]:
    return [h.entry.content for h in backend.search(query, namespace=ns, **params).hits]


@pytest.mark.parametrize("mode", ["hybrid", "keyword", "vector"])
def test_modes_find_the_answer(backend: Backend, ns: str, mode: str) -> None:
    _seed(backend, ns)
    result = backend.search("what does Bob drink? coffee", namespace=ns, mode=mode, limit=3)
    assert result.mode == mode and not result.degraded
    assert result.hits[0].entry.content == "Bob drinks black coffee every day"
    assert all(0.0 <= h.score <= 1.0 for h in result.hits)
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)


def test_vector_mode_is_semantic(backend: Backend, ns: str) -> None:
    _seed(backend, ns)
    top = _contents(backend, ns, "musical instrument practice", mode="vector", limit=1)
    assert top == ["Carol is learning to play the violin"]
    assert _contents(backend, ns, "musical instrument practice", mode="keyword") == []


def test_metadata_operators(backend: Backend, ns: str) -> None:
    _seed(backend, ns)
    q = "anything at all"
    assert len(_contents(backend, ns, q, filter={"field": "speaker", "value": "Ann"})) == 2
    assert (
        len(_contents(backend, ns, q, filter={"field": "speaker", "op": "ne", "value": "Ann"})) == 3
    )
    assert len(_contents(backend, ns, q, filter={"field": "n", "op": "in", "value": [1, 5]})) == 2
    assert len(_contents(backend, ns, q, filter={"field": "n", "op": "nin", "value": [1, 5]})) == 3
    assert len(_contents(backend, ns, q, filter={"field": "n", "op": "gt", "value": 3})) == 2
    assert len(_contents(backend, ns, q, filter={"field": "n", "op": "lte", "value": 3})) == 3
    drinks = {"field": "topics", "op": "contains", "value": "drinks"}
    assert len(_contents(backend, ns, q, filter=drinks)) == 2
    apollo_by_bob = Filter.model_validate(
        {
            "and": [
                {"field": "project.name", "value": "apollo"},
                {"field": "speaker", "value": "Bob"},
            ]
        }
    )
    assert _contents(backend, ns, q, filter=apollo_by_bob) == [
        "Deploy the apollo service after the tests pass"
    ]
    either = {
        "or": [
            {"field": "speaker", "value": "Carol"},
            {"not": {"field": "n", "op": "lt", "value": 5}},
        ]
    }
    assert len(_contents(backend, ns, q, filter=either)) == 2


def test_tags_kinds_session_and_time(backend: Backend, ns: str) -> None:
    _seed(backend, ns)
    backend.append("s1", "Bob said coffee is his favourite", namespace=ns)
    q = "coffee"
    assert len(_contents(backend, ns, q, tags=["work"])) == 2
    assert len(_contents(backend, ns, q, tags=["work", "hobby"])) == 3
    assert _contents(backend, ns, q, kinds=["message"]) == ["Bob said coffee is his favourite"]
    assert _contents(backend, ns, q, session_id="s1") == ["Bob said coffee is his favourite"]
    bounded = _contents(
        backend,
        ns,
        "report violin coffee tea",
        kinds=["memory"],
        since=datetime(2024, 2, 10, tzinfo=UTC),
        until=datetime(2024, 4, 10, tzinfo=UTC),
    )
    assert sorted(bounded) == [
        "Bob drinks black coffee every day",
        "The quarterly report is due on Friday",
    ]


def test_explain_min_score_and_diversity(backend: Backend, ns: str) -> None:
    _seed(backend, ns)
    result = backend.search("green tea", namespace=ns, explain=True, limit=5)
    top = result.hits[0]
    assert top.entry.content.startswith("Ann prefers green tea")
    assert top.explain is not None and top.explain.bm25_rank == 1
    assert top.explain.vector_rank is not None and top.explain.final == pytest.approx(top.score)
    assert backend.search("green tea", namespace=ns).hits[0].explain is None
    floor = result.hits[0].score
    kept = backend.search("green tea", namespace=ns, min_score=floor).hits
    assert [h.entry.id for h in kept] == [top.entry.id]
    diverse = backend.search(SearchParams(query="drinks", namespace=ns, diversity=0.3, limit=3))
    assert 1 <= len(diverse.hits) <= 3
    assert len({h.entry.id for h in diverse.hits}) == len(diverse.hits)


def test_search_results_agree(memory_backend: Memory, client_backend: Client) -> None:
    """Same corpus, same query: same contents in the same order with the same scores."""
    for target in (memory_backend, client_backend):
        _seed(target, "agree")
    for mode in ("hybrid", "keyword", "vector"):
        here = memory_backend.search("who works on apollo", namespace="agree", mode=mode)
        there = client_backend.search("who works on apollo", namespace="agree", mode=mode)
        assert [h.entry.content for h in here.hits] == [h.entry.content for h in there.hits]
        assert [h.score for h in here.hits] == pytest.approx([h.score for h in there.hits])


def test_params_over_a_model_are_validated(backend: Backend, ns: str) -> None:
    """Keyword arguments on top of a ``SearchParams`` are held to its bounds too."""
    query = SearchParams(query="anything", namespace=ns)
    with pytest.raises(ValidationError) as caught:
        backend.search(query, limit=5000)
    assert caught.value.code == "validation_error"
    assert "limit" in str(caught.value)
