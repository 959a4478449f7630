"""Tokens exactly as ``memories_fts`` makes them, for the in-memory BM25 index.

``memories_fts`` uses ``tokenize = 'porter unicode61 remove_diacritics 2'``
(https://sqlite.org/fts5.html#tokenizers): unicode61 splits on space and
punctuation, case-folds and strips diacritics; porter applies Porter's
stemmer (M. F. Porter, "An algorithm for suffix stripping", 1980, with the
two later revisions of his reference code, e.g. "incredibly" -> "incred").
A Python re-implementation would differ in corner cases (we measured 0.4 %
of LoCoMo's terms with PyStemmer's Porter), so the tokens come from SQLite
itself: whitespace-separated chunks (whitespace always separates tokens in
unicode61) are written to an in-memory FTS5 table with the same tokenizer
and read back through an ``fts5vocab`` ``instance`` table. Each distinct
chunk is tokenized once and cached (:data:`CACHE_LIMIT` entries).
"""

from __future__ import annotations

import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterable
from itertools import count

import numpy as np
import numpy.typing as npt

__all__ = ["CACHE_LIMIT", "TOKENIZE", "analyze", "analyze_many", "token_ids_many"]

#: The tokenizer of ``memories_fts`` (migration 1).
TOKENIZE = "porter unicode61 remove_diacritics 2"
#: Distinct chunks whose tokens are kept between calls (the cache is cleared past it).
CACHE_LIMIT = 200_000
_BATCH = 50_000
_SEP = "\uffff"  # a noncharacter, never a token: marks text boundaries in bulk splitting

_lock = threading.Lock()
_conn: sqlite3.Connection | None = None
_cache: dict[str, tuple[str, ...]] = {}


def _connection() -> sqlite3.Connection:
    global _conn
    if _conn is None:
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        conn.execute(f"CREATE VIRTUAL TABLE tok USING fts5(x, tokenize = '{TOKENIZE}')")
        conn.execute("CREATE VIRTUAL TABLE tok_v USING fts5vocab(tok, instance)")
        _conn = conn
    return _conn


def _tokenize(chunks: list[str]) -> dict[str, tuple[str, ...]]:
    """FTS5's tokens of each of ``chunks`` (distinct strings), in order."""
    out: dict[str, tuple[str, ...]] = {}
    with _lock:
        conn = _connection()
        for start in range(0, len(chunks), _BATCH):
            part = chunks[start : start + _BATCH]
            conn.execute("BEGIN")
            try:
                conn.executemany("INSERT INTO tok(rowid, x) VALUES (?, ?)", enumerate(part))
                rows = conn.execute("SELECT doc, offset, term FROM tok_v").fetchall()
            finally:
                conn.execute("ROLLBACK")  # the table stays empty: small calls stay cheap
            found: dict[int, list[tuple[int, str]]] = {}
            for doc, offset, term in rows:
                found.setdefault(doc, []).append((offset, term))
            for i, chunk in enumerate(part):
                out[chunk] = tuple(term for _, term in sorted(found.get(i, ())))
    return out


def _tokens(chunks: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Tokens of ``chunks`` from the cache, tokenizing (and caching) the missing ones."""
    wanted = set(chunks)
    known = {c: tokens for c in wanted if (tokens := _cache.get(c)) is not None}
    missing = [c for c in wanted if c not in known]
    if missing:
        fresh = _tokenize(missing)
        if len(_cache) + len(fresh) > CACHE_LIMIT:
            _cache.clear()
        if len(fresh) <= CACHE_LIMIT:
            _cache.update(fresh)
        known.update(fresh)
    return known


def analyze(text: str) -> list[str]:
    """The tokens FTS5 indexes for ``text``, in order (empty for text without any).

    Example: ``analyze("Running, café!")`` -> ``["run", "cafe"]``.
    """
    chunks = text.split()
    tokens = _tokens(chunks)
    return [tok for chunk in chunks for tok in tokens[chunk]]


def analyze_many(texts: list[str]) -> tuple[list[str], list[int]]:
    """Tokens of many texts, flattened, and the token count of each text.

    Each distinct chunk is tokenized once, through the cache (the index's
    updates: a conversation turn's words come back as the next turn's context).
    Bulk builds use :func:`token_ids_many`, which does not fill the cache.
    """
    split = [t.split() for t in texts]
    tokens = _tokens(c for chunks in split for c in chunks)
    flat: list[str] = []
    counts: list[int] = []
    for chunks in split:
        before = len(flat)
        for chunk in chunks:
            flat.extend(tokens[chunk])
        counts.append(len(flat) - before)
    return flat, counts


def token_ids_many(
    texts: list[str], terms: dict[str, int], known: dict[str, tuple[str, ...]]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Bulk :func:`analyze` as term ids, vectorised (the index build's hot path).

    New terms are added to ``terms`` (term -> id, ids ``0..len-1``); ``known``
    caches chunk -> tokens across the calls of one build (updated here).

    Returns:
        ``(tids, docs, lengths)``: the term id and text index of every token
        (int64 arrays of equal length, in text order) and each text's token
        count (int64, ``len(texts)``).
    """
    joined = f" {_SEP} ".join(t.replace(_SEP, " ") for t in texts)
    chunk_ids: defaultdict[str, int] = defaultdict(count().__next__)
    chunk_ids[_SEP]  # id 0
    occ = np.fromiter(map(chunk_ids.__getitem__, joined.split()), np.int64)
    is_sep = occ == 0
    doc = np.cumsum(is_sep)[~is_sep]
    occ = occ[~is_sep]
    distinct = list(chunk_ids)[1:]
    known.update(_tokenize([c for c in distinct if c not in known]))
    tokens = known
    ntok = np.zeros(len(distinct) + 1, np.int64)
    flat: list[int] = []
    for i, chunk in enumerate(distinct, start=1):
        toks = tokens[chunk]
        ntok[i] = len(toks)
        flat.extend(terms.setdefault(t, len(terms)) for t in toks)
    tok_ids = np.asarray(flat, np.int64)
    offsets = np.concatenate(([0], np.cumsum(ntok)[:-1]))
    per_occ = ntok[occ]
    ends = np.cumsum(per_occ)
    index = np.repeat(offsets[occ] - (ends - per_occ), per_occ) + np.arange(
        int(ends[-1]) if len(ends) else 0
    )
    docs = np.repeat(doc, per_occ)
    lengths = np.bincount(docs, minlength=len(texts)).astype(np.int64)
    return tok_ids[index], docs, lengths
