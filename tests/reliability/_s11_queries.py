"""The tables of RELIABILITY.md S11's search half, shared by the REST and MCP tests.

``NASTY_QUERIES`` must be searched as plain text (200 / a normal result);
``REFUSED`` queries and ``BAD_FILTERS`` must be refused with a 4xx and a
stable code; ``ODD_FILTERS`` are well formed and may go either way, but
never to a 500.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BAD_FILTERS", "MODES", "NASTY_QUERIES", "ODD_FILTERS", "REFUSED", "SEED"]

#: Memories the daemon holds while the tables run (one holds FTS5 syntax itself).
SEED = [
    "Ann adopted a zebra named Stripes",
    "東京タワー is in Minato",
    'quotes " and stars * and NEAR(a b) AND OR NOT ^col : {x}',
    "snake_case and kebab-case and naïve café",
]
#: Queries that break a naive FTS5 MATCH (or the JSON/text layers before it).
NASTY_QUERIES = [
    '"', '""', '"unclosed', "'", "''", "*", "a*", "^", "^a", "-", "-a", "+", "a+b",
    "(", ")", "()", "((a)", "a)", "AND", "OR", "NOT", "a AND", "OR b", "a OR OR b",
    "NOT NOT", "NEAR", "NEAR(", "NEAR(a b", "NEAR(a b, -1)", "NEAR/3 a", "a NEAR b",
    "body:zebra", "ns:x", "{body context}: zebra", "{}:x", ":", "::", "a:b:c", "col : ",
    "zebra\x00", "\x00", "\x00OR\x00", "\uffff", "\ufffe",
    "\U0001f993 zebra", "e\u0301te\u0301", "\u202eoffice", "東京\"タワー", "東京 OR タワー",
    "'; DROP TABLE memories; --", "\" OR 1=1 --", "%", "%%", "\\", "\\\"", "_", "__init__",
    "snake_case kebab-case", "a.b.c", "rowid", "memories_fts", "bm25(memories_fts)",
    "   a   ", "\t\n\r", "zebra " * 40, "x" * 4096, " ".join(str(i) for i in range(200)),
]  # fmt: skip
#: Refused by the request model (422): empty, too long, lone surrogates (not Unicode text).
REFUSED = ["", "x" * 4097, "\ud800", "zebra \udfff office"]
MODES = ["hybrid", "keyword", "vector"]
BAD_FILTERS: list[Any] = [
    {"field": "a'b", "value": 1},
    {"field": 'metadata."x', "value": 1},
    {"field": "a..b", "value": 1},
    {"field": "", "value": 1},
    {"field": "speaker", "op": "like", "value": "%"},
    {"field": "speaker", "op": "in", "value": []},
    {"field": "speaker", "op": "eq", "value": {"$ne": 1}},
    {"and": [{"field": "a", "value": 1}], "or": [{"field": "a", "value": 1}]},
    {"not": None},
    {"field": "speaker", "value": "\ud800"},
    {"field": "speaker", "op": "contains", "value": "a\udfffb"},
    {"field": "kind", "op": "in", "value": ["memory", "\ud800"]},
    {"field": "importance", "op": "gt", "value": 10**30},
    {"field": "count", "op": "nin", "value": [-(10**30)]},
    "field = 1",
    [1, 2],
]
#: Well-formed but odd filters: searched (200) or refused (4xx), never a 500.
ODD_FILTERS: list[Any] = [
    {"and": []},
    {"field": "importance", "op": "gt", "value": "NaN"},
    {"field": "importance", "op": "gt", "value": 1e308},
    {"field": "importance", "op": "contains", "value": "\x00"},
    {"field": "x" * 128, "value": "%_"},
    {"field": "metadata.a.b.c.d.e.f", "op": "nin", "value": [None, True, 1.5, "\x00"]},
]
