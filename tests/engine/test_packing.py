"""``Memory.pack_context`` with the real model: the budget (counted with the model's own
tokenizer), near-duplicates merged and cited, reading order, truncation, bad budgets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from memoryd import Memory
from memoryd.bounds import MAX_BUDGET_TOKENS, MIN_BUDGET_TOKENS
from memoryd.errors import ValidationError
from memoryd.packing import DUPLICATE_COSINE

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def _count(memory: Memory, text: str) -> int:
    """Tokens of ``text`` by the model's tokenizer.json, loaded independently of memoryd."""
    from tokenizers import Tokenizer

    export = memory.embedder.directory  # type: ignore[attr-defined]
    tokenizer = Tokenizer.from_file(str(export / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return len(tokenizer.encode(text, add_special_tokens=False).ids)


def _add(memory: Memory, text: str, days: float, **fields: Any) -> str:
    return str(memory.add(text, created_at=T0 + timedelta(days=days), **fields).id)


def test_the_budget_is_respected_counted_with_the_models_tokenizer(memory: Memory) -> None:
    for i in range(30):
        _add(memory, f"Note {i}: the tea shop on street {i} sells oolong and sencha blends", i)
    for budget in (MIN_BUDGET_TOKENS, 50, 120, 400):
        packed = memory.pack_context("which tea shop sells oolong", budget_tokens=budget)
        counts = [_count(memory, s.text) for s in packed.snippets]
        assert [s.tokens for s in packed.snippets] == counts
        assert packed.tokens_used == sum(counts) <= budget == packed.budget_tokens
        assert len(packed.snippets) + packed.left_out + packed.merged == 30
        # each note is 17-18 tokens: only a budget below that cuts one (the best), alone
        cut = [s.truncated for s in packed.snippets]
        assert cut == ([True] if budget == MIN_BUDGET_TOKENS else [False] * len(cut))
    small = memory.pack_context("which tea shop sells oolong", budget_tokens=50)
    assert small.left_out > 0 and small.snippets
    # The best-ranked snippet is always taken first: what search ranks first is packed.
    best = memory.search("which tea shop sells oolong", limit=1).hits[0].entry.id
    assert any(s.ids[0] == best and s.rank == 1 for s in small.snippets)


def test_near_duplicates_are_merged_citing_every_id(memory: Memory) -> None:
    contained = _add(memory, "Ann drinks green tea", 0)
    longer = _add(memory, "Ann drinks green tea, every single morning.", 1)
    reworded = _add(memory, "Ann prefers green tea in the morning", 2)
    reordered = _add(memory, "In the morning Ann prefers green tea.", 3)
    friday = _add(memory, "The meeting with Carol moved to Friday", 4)
    thursday = _add(memory, "The meeting with Carol moved to Thursday", 5)
    packed = memory.pack_context("Ann green tea morning meeting Carol", budget_tokens=500)
    cited = {frozenset(str(i) for i in s.ids) for s in packed.snippets}
    # containment at word boundaries; the same words reordered with a cosine >= the threshold
    assert frozenset({contained, longer}) in cited
    assert frozenset({reworded, reordered}) in cited
    # a one-word change of a date: similar vectors (cosine 0.97), different words: kept apart
    assert frozenset({friday}) in cited and frozenset({thursday}) in cited
    assert packed.merged == 2 and len(packed.snippets) == 4
    texts = ["Ann prefers green tea in the morning", "In the morning Ann prefers green tea."]
    vectors = memory.embedder.embed(texts)
    assert float(vectors[0] @ vectors[1]) >= DUPLICATE_COSINE
    for snippet in packed.snippets:
        shown = memory.get(snippet.ids[0])
        assert snippet.text == shown.content and snippet.created_at == shown.created_at


def test_snippets_are_ordered_for_reading(memory: Memory) -> None:
    """Sessions together and chronological; sessions and lone snippets by earliest time."""
    late = _add(memory, "Berlin trip: the hotel is near Alexanderplatz", 2.5)
    a2 = _add(memory, "Berlin trip: we fly back on Sunday", 3, kind="message", session_id="a")
    a1 = _add(memory, "Berlin trip: we land at BER on Friday", 1, kind="message", session_id="a")
    b1 = _add(memory, "Berlin trip: book the museum tickets", 2, kind="message", session_id="b")
    first = _add(memory, "Berlin trip: the budget is 900 euros", 0)
    packed = memory.pack_context("Berlin trip", budget_tokens=1000)
    order = [str(s.ids[0]) for s in packed.snippets]
    assert order == [first, a1, a2, b1, late]
    assert [s.session_id for s in packed.snippets] == [None, "a", "a", "b", None]


def test_a_snippet_alone_over_the_budget_is_cut_at_a_token_boundary(memory: Memory) -> None:
    log = "The lighthouse keeper's log: " + "waves rolled under a grey sky all night. " * 60
    big = _add(memory, log, 0)
    packed = memory.pack_context("lighthouse keeper's log", budget_tokens=40)
    (snippet,) = packed.snippets
    assert str(snippet.ids[0]) == big and snippet.truncated
    assert log.startswith(snippet.text) and len(snippet.text) < len(log)
    assert snippet.tokens == _count(memory, snippet.text) == packed.tokens_used <= 40
    assert snippet.tokens >= 39  # cut at the budget, not far below it
    whole = memory.pack_context("lighthouse keeper's log", budget_tokens=MAX_BUDGET_TOKENS)
    assert whole.snippets[0].text == log and not whole.snippets[0].truncated


def test_nothing_found_is_an_empty_pack(memory: Memory) -> None:
    packed = memory.pack_context("anything at all", budget_tokens=100)
    assert packed.snippets == [] and packed.tokens_used == 0 and packed.left_out == 0


@pytest.mark.parametrize(
    ("budget", "limit"),
    [(MIN_BUDGET_TOKENS - 1, 50), (MAX_BUDGET_TOKENS + 1, 50), (0, 50), (-5, 50), (100, 0)],
)
def test_bad_budgets_and_limits_are_refused(memory: Memory, budget: int, limit: int) -> None:
    with pytest.raises(ValidationError) as raised:
        memory.pack_context("tea", budget_tokens=budget, limit=limit)
    assert raised.value.code == "validation_error"


def test_a_budget_that_is_not_an_integer_is_refused(memory: Memory) -> None:
    for bad in (True, 10.5, "100"):
        with pytest.raises(ValidationError):
            memory.pack_context("tea", budget_tokens=bad)  # type: ignore[arg-type]
