"""How closely the in-memory BM25 index's tokens agree with FTS5's, on a real store.

Method
------
Opens the store in ``--data-dir`` read-only, builds the in-memory keyword
index from ``memories_fts`` and compares, term by term, the number of rows
holding each term in the ``body``/``context`` columns: FTS5's own count (an
``fts5vocab`` table of type ``col`` over ``memories_fts``) against the
index's postings. A term counts as agreeing when both counts are equal.
Then, for ``--queries`` texts (the store's own first rows' content, as
questions), the top-10 rowids of both backends are compared.

Usage::

    .venv/bin/python benchmarks/keyword_parity.py --data-dir /path/to/store
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from collections import Counter
from pathlib import Path

from memoryd.store.fts import match_expression, namespace_token, query_terms
from memoryd.store.keyword_index import KeywordIndex, TextRow, query_tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True, type=Path)
    ap.add_argument("--queries", type=int, default=500)
    args = ap.parse_args()
    conn = sqlite3.connect(f"file:{args.data_dir / 'memoryd.db'}?mode=ro", uri=True)
    conn.execute("CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, memories_fts, col)")
    fts: Counter[str] = Counter()
    for term, col, docs in conn.execute("SELECT term, col, doc FROM temp.v"):
        if col in ("body", "context"):
            fts[term] += docs  # a term in both columns of a row is counted twice on both sides
    rows = [
        TextRow(r[0], r[1], r[2] or "", r[3])
        for r in conn.execute("SELECT rowid, body, context, ns FROM memories_fts")
    ]
    t0 = time.perf_counter()
    index = KeywordIndex.build([rows], 0)
    build_s = time.perf_counter() - t0
    ours: Counter[str] = Counter()
    per_col = KeywordIndex.build([[TextRow(r.rowid, r.body, "", r.ns) for r in rows]], 0)
    ctx = KeywordIndex.build([[TextRow(r.rowid, r.context, "", r.ns) for r in rows]], 0)
    for part in (per_col, ctx):
        ours.update(part.document_frequencies())
    terms = set(fts) | set(ours)
    same = sum(1 for t in terms if fts[t] == ours[t])
    postings_fts = sum(fts.values())
    postings_same = sum(fts[t] for t in terms if fts[t] == ours[t])
    print(f"rows {len(rows):,}; build {build_s:.2f} s; postings {index.postings:,}")
    print(f"terms: FTS5 {len(fts):,}, ours {len(ours):,}, equal counts {same / len(terms):.2%}")
    print(f"FTS5 postings under equally counted terms: {postings_same / postings_fts:.2%}")
    worst = sorted(terms, key=lambda t: -abs(fts[t] - ours[t]))[:15]
    print("largest differences (term: fts5 / ours):")
    print("  " + ", ".join(f"{t}: {fts[t]} / {ours[t]}" for t in worst))
    agree = total = 0
    for content, ns in conn.execute(
        "SELECT m.content, m.namespace FROM memories m LIMIT ?", (args.queries,)
    ):
        terms_q = query_terms(content)
        tokens = query_tokens(terms_q)
        match = match_expression(terms_q, ns)
        if tokens is None or match is None:
            continue
        want = [
            r[0]
            for r in conn.execute(
                "SELECT rowid FROM memories_fts WHERE memories_fts MATCH ? "
                "ORDER BY bm25(memories_fts, 1.0, 0.5, 0.0), rowid LIMIT 10",
                (match,),
            )
        ]
        rowids, scores = index.score(tokens, namespace_token(ns))
        order = sorted(
            zip(scores.tolist(), rowids.tolist(), strict=True), key=lambda p: (-p[0], p[1])
        )
        got = [r for _, r in order[:10]]
        agree += len(set(got) & set(want))
        total += len(want)
    print(f"top-10 overlap with FTS5 over {args.queries} queries: {agree / max(total, 1):.2%}")


if __name__ == "__main__":
    main()
