"""In-memory BM25 index over ``memories_fts`` (the keyword leg of search without FTS5 ranking).

FTS5's ranked query evaluates ``bm25()`` row by row for every row that
matches any OR-ed term (about 18 ms for a 10-term query at 100k rows); this
index keeps postings as numpy arrays and scores a whole term at a time
(about 1 ms). It computes the same function as FTS5's ``bm25()``
(https://sqlite.org/fts5.html#the_bm25_function, after Robertson &
Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond", 2009)::

    score(D) = sum over query terms t of
        idf(t) * tf(t, D) * (k1 + 1) / (tf(t, D) + k1 * (1 - b + b * |D| / avgdl))
    idf(t)   = log((N - n(t) + 0.5) / (n(t) + 0.5)), or 1e-6 where that is <= 0

with ``k1 = 1.2``, ``b = 0.75``; ``tf`` is the column-weighted count
(``body`` 1.0, ``context`` 0.5, ``ns`` 0.0); ``|D|`` counts the tokens of all
columns (the namespace token included, as FTS5 does); ``N``, ``n(t)`` and
``avgdl`` are over the whole table (every namespace), as in FTS5. Scores are
the positive ``-bm25()`` value that :meth:`Candidates.keyword`
returns.

Layout: a document is a *slot* (``rowid``, length, namespace id, alive flag,
arrays of ``N_slots``). Postings of the bulk-built *base* are CSR arrays
(``offsets[tid]..offsets[tid+1]`` into ``docs`` int32 / ``tfs`` float32);
rows written later go to per-term *delta* lists. Updating a row kills its
slot and adds a new one; when the delta grows past :data:`COMPACT_POSTINGS`
(or a tenth of the base) base and delta are merged and dead slots dropped.

Thread-safe: every method takes the index lock.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from memoryd.store.analyzer import analyze, analyze_many, token_ids_many

__all__ = [
    "B",
    "BODY_WEIGHT",
    "COMPACT_POSTINGS",
    "CONTEXT_WEIGHT",
    "K1",
    "KeywordIndex",
    "TextRow",
    "query_tokens",
]

K1 = 1.2
B = 0.75
BODY_WEIGHT = 1.0
CONTEXT_WEIGHT = 0.5
#: Delta postings that trigger a merge into the base arrays.
COMPACT_POSTINGS = 50_000

_I32 = npt.NDArray[np.int32]
_I64 = npt.NDArray[np.int64]
_F32 = npt.NDArray[np.float32]
_F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TextRow:
    """One ``memories_fts`` row: ``rowid``, ``body``, ``context`` and the ``ns`` token."""

    rowid: int
    body: str
    context: str
    ns: str


class KeywordIndex:
    """BM25 postings of every FTS row; see the module docstring for the layout.

    Args:
        applied_seq: the ``keyword_log`` sequence number the contents reflect.
    """

    def __init__(self, applied_seq: int = 0) -> None:
        self.applied_seq = applied_seq
        self._lock = threading.Lock()
        self._terms: dict[str, int] = {}
        self._namespaces: dict[str, int] = {}
        self._slot_of: dict[int, int] = {}
        self._n = 0
        self._rowid: _I64 = np.zeros(0, np.int64)
        self._dl: _F64 = np.zeros(0, np.float64)
        self._ns: _I32 = np.zeros(0, np.int32)
        self._alive = np.zeros(0, bool)
        self._n_alive = 0
        self._total_len = 0.0
        self._offsets: _I64 = np.zeros(1, np.int64)
        self._docs: _I32 = np.zeros(0, np.int32)
        self._tfs: _F32 = np.zeros(0, np.float32)
        self._delta: dict[int, tuple[list[int], list[float]]] = {}
        self._delta_postings = 0

    # --- size -------------------------------------------------------------
    def __len__(self) -> int:
        """Live documents (rows of ``memories_fts``)."""
        return self._n_alive

    @property
    def postings(self) -> int:
        """Stored postings, base and delta, live and dead (a memory-size measure)."""
        return int(self._docs.shape[0]) + self._delta_postings

    def document_frequencies(self) -> dict[str, int]:
        """Live rows holding each term (``n(t)`` of the formula; terms of dead rows give 0)."""
        with self._lock:
            alive = self._alive[: self._n]
            return {
                term: int(np.count_nonzero(alive[self._postings(tid)[0]]))
                for term, tid in self._terms.items()
            }

    # --- building -----------------------------------------------------------
    @classmethod
    def build(cls, batches: Iterable[Sequence[TextRow]], applied_seq: int) -> KeywordIndex:
        """An index over the rows of ``batches`` (distinct rowids), vectorised per batch.

        Batches (e.g. 10,000 rows from a cursor) bound the build's temporary
        memory; timings in docs/PERFORMANCE.md.
        """
        index = cls(applied_seq)
        terms, namespaces = index._terms, index._namespaces
        known: dict[str, tuple[str, ...]] = {}
        parts: list[tuple[_I64, _I64, _F32]] = []
        rowids: list[int] = []
        ns: list[int] = []
        lengths: list[_I64] = []
        for rows in batches:
            base = len(rowids)
            for texts, weight in (
                ([r.body for r in rows], BODY_WEIGHT),
                ([r.context for r in rows], CONTEXT_WEIGHT),
            ):
                tids, docs, length = token_ids_many(texts, terms, known)
                parts.append((tids, docs + base, np.full(len(tids), weight, np.float32)))
                lengths.append(length)
            rowids.extend(r.rowid for r in rows)
            ns.extend(namespaces.setdefault(r.ns, len(namespaces)) for r in rows)
        n = len(rowids)
        if n == 0:
            return index
        index._set_base(
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
            len(terms),
            n,
        )
        index._grow(n)
        index._n = n
        index._rowid[:n] = rowids
        index._dl[:n] = np.concatenate(lengths[0::2]) + np.concatenate(lengths[1::2]) + 1.0
        index._ns[:n] = ns
        index._alive[:n] = True
        index._slot_of = {rowid: i for i, rowid in enumerate(rowids)}
        index._n_alive = n
        index._total_len = float(index._dl[:n].sum())
        return index

    def _set_base(self, tids: _I64, docs: _I64, weights: _F32, n_terms: int, n_docs: int) -> None:
        """Sum ``weights`` per (term, doc) and store them as CSR postings sorted by term."""
        key = tids * max(n_docs, 1) + docs
        order = np.argsort(key, kind="stable")
        key = key[order]
        starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        self._tfs = np.add.reduceat(weights[order], starts).astype(np.float32)
        unique = key[starts]
        self._docs = (unique % max(n_docs, 1)).astype(np.int32)
        counts = np.bincount(unique // max(n_docs, 1), minlength=n_terms)
        self._offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)

    def _grow(self, need: int) -> None:
        size = self._rowid.shape[0]
        if need <= size:
            return
        new = max(need, 2 * size, 1024)
        self._rowid = np.resize(self._rowid, new)
        self._dl = np.resize(self._dl, new)
        self._ns = np.resize(self._ns, new)
        alive = np.zeros(new, bool)
        alive[:size] = self._alive
        self._alive = alive

    # --- changes ------------------------------------------------------------
    def apply(self, upserts: Sequence[TextRow], deletes: Sequence[int], applied_seq: int) -> None:
        """Replace/insert ``upserts``, drop ``deletes`` (rowids; unknown ones are ignored)."""
        analyzed = _split(analyze_many([r.body for r in upserts] + [r.context for r in upserts]))
        bodies, contexts = analyzed[: len(upserts)], analyzed[len(upserts) :]
        with self._lock:
            for rowid in deletes:
                self._kill(rowid)
            for row, body, context in zip(upserts, bodies, contexts, strict=True):
                self._kill(row.rowid)
                self._add(row, body, context)
            self.applied_seq = max(self.applied_seq, applied_seq)
            if self._delta_postings > max(COMPACT_POSTINGS, self._docs.shape[0] // 10):
                self._compact()

    def _kill(self, rowid: int) -> None:
        slot = self._slot_of.pop(rowid, None)
        if slot is None:
            return
        self._alive[slot] = False
        self._n_alive -= 1
        self._total_len -= float(self._dl[slot])

    def _add(self, row: TextRow, body: list[str], context: list[str]) -> None:
        slot = self._n
        self._grow(slot + 1)
        self._n += 1
        tf: dict[str, float] = {}
        for tok in body:
            tf[tok] = tf.get(tok, 0.0) + BODY_WEIGHT
        for tok in context:
            tf[tok] = tf.get(tok, 0.0) + CONTEXT_WEIGHT
        for tok, weight in tf.items():
            tid = self._terms.setdefault(tok, len(self._terms))
            docs, tfs = self._delta.setdefault(tid, ([], []))
            docs.append(slot)
            tfs.append(weight)
        self._delta_postings += len(tf)
        self._rowid[slot] = row.rowid
        self._dl[slot] = len(body) + len(context) + 1.0
        self._ns[slot] = self._namespaces.setdefault(row.ns, len(self._namespaces))
        self._alive[slot] = True
        self._slot_of[row.rowid] = slot
        self._n_alive += 1
        self._total_len += float(self._dl[slot])

    def _compact(self) -> None:
        """Merge delta into base and drop dead slots (renumbering the live ones)."""
        n_base_terms = self._offsets.shape[0] - 1
        base_tids = np.repeat(np.arange(n_base_terms, dtype=np.int64), np.diff(self._offsets))
        delta_tids = [np.full(len(d), tid, np.int64) for tid, (d, _) in self._delta.items()]
        delta_docs = [np.asarray(d, np.int64) for d, _ in self._delta.values()]
        delta_tfs = [np.asarray(t, np.float32) for _, t in self._delta.values()]
        tids = np.concatenate([base_tids, *delta_tids])
        docs = np.concatenate([self._docs.astype(np.int64), *delta_docs])
        tfs = np.concatenate([self._tfs, *delta_tfs])
        alive = self._alive[: self._n]
        keep = alive[docs]
        new_slot = np.cumsum(alive) - 1
        n_live = int(alive.sum())
        self._set_base(tids[keep], new_slot[docs[keep]], tfs[keep], len(self._terms), n_live)
        self._rowid = self._rowid[: self._n][alive].copy()
        self._dl = self._dl[: self._n][alive].copy()
        self._ns = self._ns[: self._n][alive].copy()
        self._alive = np.ones(n_live, bool)
        self._n = n_live
        self._slot_of = {int(r): i for i, r in enumerate(self._rowid.tolist())}
        self._delta.clear()
        self._delta_postings = 0

    # --- scoring ------------------------------------------------------------
    def _postings(self, tid: int) -> tuple[_I64 | _I32, _F32]:
        if tid + 1 < self._offsets.shape[0]:
            lo, hi = int(self._offsets[tid]), int(self._offsets[tid + 1])
            docs: _I64 | _I32 = self._docs[lo:hi]
            tfs = self._tfs[lo:hi]
        else:
            docs, tfs = np.zeros(0, np.int32), np.zeros(0, np.float32)
        extra = self._delta.get(tid)
        if extra is not None:
            docs = np.concatenate([docs, np.asarray(extra[0], np.int32)])
            tfs = np.concatenate([tfs, np.asarray(extra[1], np.float32)])
        return docs, tfs

    def score(self, terms: Sequence[str], ns: str) -> tuple[_I64, _F64]:
        """BM25 of every live document of namespace token ``ns`` matching any of ``terms``.

        ``terms`` are analysed tokens (:func:`~memoryd.store.analyzer.analyze`
        of each query term; a repeated term counts twice, as a repeated
        phrase does in FTS5). Returns ``(rowids int64[M], scores float64[M])``
        in no particular order; scores are positive.
        """
        with self._lock:
            nsid = self._namespaces.get(ns)
            n_rows = self._n_alive
            if nsid is None or n_rows == 0:
                return np.zeros(0, np.int64), np.zeros(0, np.float64)
            avgdl = self._total_len / n_rows
            alive = self._alive[: self._n]
            scores = np.zeros(self._n, np.float64)
            touched = False
            for term in terms:
                tid = self._terms.get(term)
                if tid is None:
                    continue
                docs, tfs = self._postings(tid)
                hits = int(np.count_nonzero(alive[docs]))
                if hits == 0:
                    continue
                idf = math.log((n_rows - hits + 0.5) / (hits + 0.5))
                idf = idf if idf > 0.0 else 1e-6
                norm = K1 * (1.0 - B) + (K1 * B / avgdl) * self._dl[docs]
                scores[docs] += idf * (tfs * (K1 + 1.0)) / (tfs + norm)
                touched = True
            if not touched:
                return np.zeros(0, np.int64), np.zeros(0, np.float64)
            slots = np.flatnonzero((scores > 0.0) & alive & (self._ns[: self._n] == nsid))
            return self._rowid[slots].copy(), scores[slots]


def _split(analyzed: tuple[list[str], list[int]]) -> list[list[str]]:
    flat, counts = analyzed
    out: list[list[str]] = []
    start = 0
    for count in counts:
        out.append(flat[start : start + count])
        start += count
    return out


def query_tokens(terms: Sequence[str]) -> list[str] | None:
    """Analysed tokens of :func:`~memoryd.store.fts.query_terms` output, or ``None``.

    ``None`` means some term is a phrase of several tokens (a CJK run, or
    ``snake_case`` that unicode61 splits): phrases need token positions,
    which this index does not keep, so the caller uses FTS5 for that query.
    """
    tokens: list[str] = []
    for term in terms:
        parts = analyze(term)
        if len(parts) > 1:
            return None
        tokens.extend(parts)
    return tokens
