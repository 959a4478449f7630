"""Full-text helpers: index text preparation and safe FTS5 query building.

FTS5's ``unicode61`` tokenizer keeps a run of CJK characters as one token, so
"東京タワー" would only match itself. We index CJK ideographs, kana and hangul
as one token per character and query them as a phrase of characters, which
finds CJK words inside longer runs (the unigram approach of Lucene's CJK
analyzers).

User queries never reach FTS5 syntax: :func:`build_match_query` extracts word
tokens, quotes each one and joins them with ``OR``; BM25 ranks documents that
match more (and rarer) terms higher. Any string is therefore safe to search.
"""

from __future__ import annotations

import re

__all__ = [
    "STOPWORDS",
    "build_match_query",
    "index_text",
    "match_expression",
    "namespace_token",
    "query_terms",
]

_CJK = (
    r"\u3040-\u30ff"  # hiragana, katakana
    r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    r"\uac00-\ud7af"  # hangul syllables
)
_CJK_CHAR = re.compile(f"([{_CJK}])")
_CJK_RUN = re.compile(f"[{_CJK}]+")
_WORD = re.compile(r"\w+", re.UNICODE)

#: English function words dropped from queries (not from the index) when the
#: query has other terms; they match most documents and only cost time.
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if
    in into is it its itself just me more most my myself no nor not now of off on once
    only or other our ours ourselves out over own same she should so some such than that
    the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves
    """.split()
)
_MAX_TERMS = 32


def index_text(text: str) -> str:
    """Text as stored in FTS: CJK characters separated by spaces."""
    return _CJK_CHAR.sub(r" \1 ", text)


def query_terms(query: str) -> list[str]:
    """Lower-cased search terms of ``query``: words, and CJK runs split into characters.

    Stopwords are dropped unless nothing else remains. At most 32 terms.
    """
    terms: list[str] = []
    for token in _WORD.findall(query.lower()):
        if _CJK_RUN.fullmatch(token):
            terms.append(" ".join(token))
            continue
        for part in _CJK_RUN.split(token):
            if part:
                terms.append(part)
        for run in _CJK_RUN.findall(token):
            terms.append(" ".join(run))
    seen: list[str] = []
    for term in terms:
        if term not in seen:
            seen.append(term)
    content = [t for t in seen if t not in STOPWORDS]
    return (content or seen)[:_MAX_TERMS]


def namespace_token(namespace: str) -> str:
    """The FTS ``ns`` column token of a namespace: ``"n" + hex(utf-8 bytes)``.

    Equal to SQL ``'n' || lower(hex(namespace))`` (used by migration 2).
    """
    return "n" + namespace.encode("utf-8").hex()


def build_match_query(query: str, namespace: str | None = None) -> str | None:
    """An FTS5 MATCH expression for ``query``, or ``None`` if it has no terms.

    Each term becomes a quoted string (a phrase for CJK runs), joined by OR
    and restricted to the ``body`` and ``context`` columns; with
    ``namespace`` the ``ns`` column must hold its token. Example:
    ``'what did Ann say?'`` -> ``'{body context} : ("ann" OR "say")'``.
    """
    return match_expression(query_terms(query), namespace)


def match_expression(terms: list[str], namespace: str | None = None) -> str | None:
    """The MATCH expression of :func:`build_match_query` for already extracted ``terms``."""
    if not terms:
        return None
    text = "{body context} : (" + " OR ".join('"' + t.replace('"', '""') + '"' for t in terms) + ")"
    if namespace is not None:
        text = f'ns : "{namespace_token(namespace)}" AND {text}'
    return text
