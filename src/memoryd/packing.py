"""``pack_context``: the best memories for a query, packed into a token budget.

The component behind ``Memory.pack_context`` (:class:`ContextPacker`). What it does:

1. **Ranks with search.** The hits are those of the hybrid search
   (``Memory.search``, the same pipeline; nothing is ranked again), at most
   ``limit`` of them.
2. **Merges near-duplicates.** In rank order each hit joins the first kept
   snippet it nearly duplicates, else starts one. Two texts are near
   duplicates when one's normalised text (casefolded, every run of
   non-alphanumeric characters one space) occurs in the other's at word
   boundaries, or when the cosine of their stored embeddings is at least
   :data:`DUPLICATE_COSINE` and they share at least :data:`DUPLICATE_WORDS`
   of their words (Jaccard of the normalised word sets): a copy re-cased,
   re-punctuated or reordered merges; "moved to Friday" and "moved to
   Thursday" (cosine 0.97) do not, nor do notes that differ in a number.
   One changed word in a text of 20 or more words does merge: the merged
   snippet cites that entry's id too.
   A merged snippet shows its best-ranked hit's text and cites every merged
   id (``ids``, best-ranked first).
3. **Packs into the budget**, best-ranked snippet first: a snippet whose
   tokens fit in what is left of the budget is taken; one that does not is
   left out (``left_out`` counts them) and smaller ones after it may still
   fit, except that a snippet that alone exceeds the whole budget is cut to
   what is left, at a token boundary, and marked ``truncated``. Tokens are
   those of the embedding model's own tokenizer (its ``tokenizer.json``,
   without special tokens), counted over the snippets' text only (ids and
   dates are not counted).
4. **Orders for reading**: the snippets of one session together and
   chronologically (``created_at``, then rank); sessions, and snippets
   without a session, by their earliest ``created_at``.

Example::

    packed = memory.pack_context("what does Ann drink?", budget_tokens=500)
    prompt = "\\n".join(f"[{s.ids[0]}] {s.text}" for s in packed.snippets)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

import numpy as np

from memoryd.bounds import (
    DEFAULT_BUDGET_TOKENS,
    MAX_BUDGET_TOKENS,
    MAX_PAGE_LIMIT,
    MIN_BUDGET_TOKENS,
    check_count,
)
from memoryd.embeddings import Embedder
from memoryd.errors import BackendUnavailable
from memoryd.memories import Memories
from memoryd.store.filters import SqlWhere
from memoryd.store.sqlite import SQLiteStore
from memoryd.types import ContextSnippet, Filter, Kind, PackedContext, SearchHit, SearchMode

__all__ = ["DUPLICATE_COSINE", "DUPLICATE_WORDS", "ContextPacker", "Tokenizing"]

#: Least cosine of two stored embeddings for their entries to be near-duplicates (with words).
DUPLICATE_COSINE = 0.95
#: Least share of words (Jaccard of the normalised word sets) that near-duplicates have in common.
DUPLICATE_WORDS = 0.9
_NON_WORD = re.compile(r"[\W_]+")


@runtime_checkable
class Tokenizing(Protocol):
    """An embedder that has its model's tokenizer (:class:`~memoryd.embeddings.OnnxEmbedder`)."""

    def tokenizer(self) -> Any:
        """The model's ``tokenizers.Tokenizer``, without truncation."""
        ...


@dataclass
class _Group:
    """Hits merged into one snippet; ``hits[0]`` is the shown one."""

    hits: list[SearchHit]
    rank: int
    words: frozenset[str]
    normal: str
    vector: np.ndarray[Any, np.dtype[np.float32]] | None


def _normal(text: str) -> str:
    """Casefolded, every run of non-word characters one space, padded for word-bounded ``in``."""
    return f" {_NON_WORD.sub(' ', text.casefold()).strip()} "


def _duplicates(a: _Group, normal: str, words: frozenset[str], vector: Any) -> bool:
    if a.normal.strip() and normal.strip() and (a.normal in normal or normal in a.normal):
        return True
    if a.vector is None or vector is None or not (a.words | words):
        return False
    shared = len(a.words & words) / len(a.words | words)
    return shared >= DUPLICATE_WORDS and float(a.vector @ vector) >= DUPLICATE_COSINE


class ContextPacker:
    """``pack_context`` over the store, its embedder's tokenizer and the memories' search.

    Args:
        store: the open store (the hits' stored vectors are read from it).
        embedder: the embedding provider; only one with its model's tokenizer
            (:class:`Tokenizing`, the local model) can count tokens.
        memories: the memories component whose ``search`` ranks the hits.
    """

    def __init__(self, store: SQLiteStore, embedder: Embedder, memories: Memories) -> None:
        self.store = store
        self.embedder = embedder
        self.memories = memories

    def pack_context(
        self,
        query: str,
        *,
        budget_tokens: int = DEFAULT_BUDGET_TOKENS,
        namespace: str = "default",
        kinds: Sequence[Kind] | None = None,
        tags: Sequence[str] | None = None,
        session_id: str | None = None,
        filter: Filter | dict[str, Any] | None = None,
        mode: SearchMode = "hybrid",
        limit: int = 50,
    ) -> PackedContext:
        """The best memories for ``query``, packed into ``budget_tokens``, in reading order.

        Ranked by ``search`` (``namespace``, ``kinds``, ``tags``,
        ``session_id``, ``filter``, ``mode`` as there; at most ``limit``
        hits), near-duplicates merged, packed best first into
        ``budget_tokens`` tokens of the embedding model's tokenizer and
        ordered by session and time (the rules: ``memoryd/packing.py``).

        Raises:
            ValidationError: ``budget_tokens`` outside
                ``MIN_BUDGET_TOKENS..MAX_BUDGET_TOKENS`` (16..200,000), ``limit``
                outside 1..1000, or invalid search parameters.
            BackendUnavailable: the embedding provider has no tokenizer here
                (``embedding_provider="openai"``) or its model cannot be loaded.
        """
        check_count(budget_tokens, "budget_tokens", low=MIN_BUDGET_TOKENS, high=MAX_BUDGET_TOKENS)
        check_count(limit, "limit", high=MAX_PAGE_LIMIT)
        if not isinstance(self.embedder, Tokenizing):
            raise BackendUnavailable(
                "pack_context counts tokens with the local model's tokenizer; the "
                f"{self.embedder.model!r} provider has none here",
                model=self.embedder.model,
            )
        tokenizer = self.embedder.tokenizer()
        params = {"kinds": kinds, "tags": tags, "session_id": session_id, "filter": filter}
        result = self.memories.search(
            query,
            namespace=namespace,
            mode=mode,
            limit=limit,
            **{key: value for key, value in params.items() if value is not None},
        )
        groups = self._merge(result.hits, namespace)
        snippets, left_out = _pack(groups, tokenizer, budget_tokens)
        return PackedContext(
            snippets=_reading_order(snippets),
            tokens_used=sum(s.tokens for s in snippets),
            budget_tokens=budget_tokens,
            left_out=left_out,
            merged=len(result.hits) - len(groups),
            mode=result.mode,
            degraded=result.degraded,
            notes=result.notes,
        )

    def _vectors(self, hits: Sequence[SearchHit], namespace: str) -> dict[UUID, Any]:
        """The stored vectors of the hits' entries (entries still queued have none)."""
        if not hits:
            return {}
        where = SqlWhere()
        where.add("m.namespace = ?", namespace)
        ids = [str(hit.entry.id) for hit in hits]
        where.add(f"m.id IN ({', '.join('?' for _ in ids)})", *ids)
        rowids = [int(row["rowid"]) for row in self.store.select(where)]
        entries = self.store.fetch(rowids, with_vectors=True).values()
        return {e.id: np.asarray(e.vector, dtype=np.float32) for e in entries if e.vector}

    def _merge(self, hits: Sequence[SearchHit], namespace: str) -> list[_Group]:
        vectors = self._vectors(hits, namespace)
        groups: list[_Group] = []
        for rank, hit in enumerate(hits, 1):
            normal = _normal(hit.entry.content)
            words = frozenset(normal.split())
            vector = vectors.get(hit.entry.id)
            into = next((g for g in groups if _duplicates(g, normal, words, vector)), None)
            if into is None:
                groups.append(_Group([hit], rank, words, normal, vector))
            else:
                into.hits.append(hit)
        return groups


def _cut(text: str, encoding: Any, keep: int, tokenizer: Any) -> tuple[str, int]:
    """``text`` cut after its first ``keep`` tokens (at a token's end), and its token count.

    Cut again shorter while re-tokenising the cut text gives more than
    ``keep`` tokens (WordPiece may split a cut word's end differently).
    """
    while keep > 0:
        cut = text[: encoding.offsets[keep - 1][1]]
        count = len(tokenizer.encode(cut, add_special_tokens=False).ids)
        if count <= keep:
            return cut, count
        keep -= 1
    return "", 0


def _pack(
    groups: Sequence[_Group], tokenizer: Any, budget: int
) -> tuple[list[ContextSnippet], int]:
    """The snippets that fit ``budget`` tokens (best-ranked first) and how many did not."""
    texts = [g.hits[0].entry.content for g in groups]
    encodings = tokenizer.encode_batch(texts, add_special_tokens=False) if texts else []
    left, out, left_out = budget, [], 0
    for group, text, encoding in zip(groups, texts, encodings, strict=True):
        tokens, truncated = len(encoding.ids), False
        if tokens > left and tokens > budget and left > 0:
            text, tokens = _cut(text, encoding, left, tokenizer)
            truncated = True
        if tokens > left or not text:
            left_out += 1
            continue
        left -= tokens
        best = group.hits[0]
        out.append(
            ContextSnippet(
                ids=[hit.entry.id for hit in group.hits],
                text=text,
                tokens=tokens,
                truncated=truncated,
                kind=best.entry.kind,
                session_id=best.entry.session_id,
                created_at=best.entry.created_at,
                rank=group.rank,
                score=best.score,
            )
        )
    return out, left_out


def _reading_order(snippets: Sequence[ContextSnippet]) -> list[ContextSnippet]:
    """Sessions together and chronological; sessions and lone snippets by earliest time."""
    start: dict[str, datetime] = {}
    for s in snippets:
        if s.session_id is not None:
            start[s.session_id] = min(start.get(s.session_id, s.created_at), s.created_at)

    def key(s: ContextSnippet) -> tuple[datetime, str, datetime, int]:
        session = s.session_id
        first = s.created_at if session is None else start[session]
        return first, "" if session is None else session, s.created_at, s.rank

    return sorted(snippets, key=key)
