"""Tokens as the FTS5 table makes them, computed in Python for the in-memory BM25 index.

``memories_fts`` uses ``tokenize = 'porter unicode61 remove_diacritics 2'``
(https://sqlite.org/fts5.html#tokenizers):

* unicode61: a token is a run of letters and digits; everything else
  (spaces, punctuation, ``_``) separates tokens; tokens are case-folded and,
  with ``remove_diacritics 2``, stripped of diacritics.
* porter: each token is reduced by Porter's stemmer (M. F. Porter, "An
  algorithm for suffix stripping", Program 14(3), 1980). Like FTS5, tokens
  shorter than 3 or longer than 64 characters are left as they are.

Here letters/digits are Python's ``str.isalnum`` characters, case folding
is ``str.lower``, diacritics are the combining marks U+0300..U+036F after
NFD decomposition, and the stemmer is PyStemmer's ``porter`` (Snowball's
implementation of the original algorithm). Documents and queries of the
in-memory index go through the same function, so the index is consistent
with itself; agreement with FTS5 is measured, not assumed (see
``tests/store/test_keyword_index.py`` and docs/PERFORMANCE.md).
"""

from __future__ import annotations

import re
import threading
import unicodedata

import Stemmer

__all__ = ["analyze", "analyze_many"]

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_DIACRITIC = re.compile("[\u0300-\u036f]")
_STEM_MIN, _STEM_MAX = 3, 64
_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    """This thread's Porter stemmer (PyStemmer objects are not thread-safe)."""
    stemmer: Stemmer.Stemmer | None = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = Stemmer.Stemmer("porter")
        _local.stemmer = stemmer
    return stemmer


def _fold(text: str) -> str:
    text = text.lower()
    if text.isascii():
        return text
    return unicodedata.normalize("NFC", _DIACRITIC.sub("", unicodedata.normalize("NFD", text)))


def _split(text: str) -> list[str]:
    return _TOKEN.findall(_fold(text))


def _stem_all(tokens: list[str]) -> list[str]:
    stems: list[str] = _stemmer().stemWords(tokens)
    return [
        stem if _STEM_MIN <= len(tok) <= _STEM_MAX else tok
        for tok, stem in zip(tokens, stems, strict=True)
    ]


def analyze(text: str) -> list[str]:
    """The stemmed tokens of ``text`` in order (empty for text without letters/digits).

    Example: ``analyze("Running, café!")`` -> ``["run", "cafe"]``.
    """
    return _stem_all(_split(text))


def analyze_many(texts: list[str]) -> tuple[list[str], list[int]]:
    """Stemmed tokens of many texts, flattened, and the token count of each text.

    One stemmer call for all tokens (PyStemmer caches repeated words), which
    is what makes building the index over 100k rows take about a second.
    """
    split = [_split(t) for t in texts]
    counts = [len(s) for s in split]
    flat = [tok for s in split for tok in s]
    return _stem_all(flat), counts
