"""atheris fuzz targets of RELIABILITY.md S11 (run by ``test_s11_parser_fuzz.py``).

Usage: ``python targets.py TARGET -atheris_runs=N [libFuzzer flags]``, TARGET one of
``paths``, ``fts``, ``ingest``. memoryd's modules are instrumented for coverage
(``atheris.instrument_imports``). Each target lets through only the stable
errors its contract names; anything else (and any broken invariant, raised as
``AssertionError``) is an uncaught exception, which atheris reports with a
traceback and a non-zero exit. atheris prints ``Done N in T second(s)`` on success.

* ``paths``: :func:`memoryd.paths.resolve_within` over a real tree with
  symlinks (inside, escaping, absolute, dangling, looping); the answer must
  be strictly inside the root's real path, already resolved.
* ``fts``: :func:`memoryd.store.fts.query_terms` -> ``match_expression`` ->
  an FTS5 ``MATCH`` on a table with ``memories_fts``'s schema and tokenizer,
  plus the in-memory index's ``query_tokens``; no ``sqlite3`` error may escape.
* ``ingest``: the JSONL import decoder (:func:`memoryd.formats.jsonl.read_jsonl`
  over raw bytes, :func:`~memoryd.formats.jsonl.parse_record`) and the REST
  request models of a memory (``MemoryInput``, ``SearchParams``); only
  ``ValidationError`` (memoryd's or pydantic's) may escape.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sqlite3
import string
import sys
import tempfile
from pathlib import Path
from typing import Any

import atheris

with atheris.instrument_imports(include=["memoryd"]):
    import pydantic

    from memoryd.errors import InvalidPath, ValidationError
    from memoryd.formats.jsonl import parse_record, read_jsonl
    from memoryd.paths import resolve_within
    from memoryd.store.analyzer import TOKENIZE
    from memoryd.store.fts import build_match_query, index_text, match_expression, query_terms
    from memoryd.store.keyword_index import query_tokens
    from memoryd.types import NAMESPACE_PATTERN, MemoryInput, SearchParams

# --- paths ------------------------------------------------------------------

_WORDS = [
    "..", ".", "", "a", "b", "f", "in", "abs_in", "esc", "esc_rel", "dangling", "loop1",
    "new", "%2e%2e", "%2E%2e", "%252e%252e", "%2f", "%5c", "..\\..", "\\", "/", "\x00",
    "~", "C:", "//", "...", ". .", "%00", "\udcff", "\u2025", "\uff0e\uff0e",
]  # fmt: skip


def _tree() -> tuple[Path, Path]:
    """A root with files, folders and symlinks of every kind; returns (root, its real path)."""
    base = Path(tempfile.mkdtemp(prefix="s11-paths-"))
    root = base / "root"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "f").write_text("inside")
    (base / "secret").write_text("outside")
    os.symlink("a", root / "in")
    os.symlink(root / "a", root / "abs_in")
    os.symlink(base, root / "esc")
    os.symlink("../..", root / "a" / "esc_rel")
    os.symlink("/nonexistent/s11", root / "dangling")
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    return root, Path(os.path.realpath(root))


_ROOT: Path | None = None
_REAL_ROOT: Path | None = None


def _user_path(fdp: atheris.FuzzedDataProvider) -> str:
    if fdp.ConsumeBool():
        count = fdp.ConsumeIntInRange(0, 12)
        parts = [_WORDS[fdp.ConsumeIntInRange(0, len(_WORDS) - 1)] for _ in range(count)]
        sep = "/" if fdp.ConsumeBool() else fdp.ConsumeUnicode(1) or "/"
        return sep.join(parts)
    if fdp.ConsumeBool():
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 600))
    raw = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 600))
    return raw.decode("utf-8", "surrogateescape")


def paths(data: bytes) -> None:
    """One ``resolve_within`` call; the answer is inside the root or a stable error."""
    global _ROOT, _REAL_ROOT
    if _ROOT is None:
        _ROOT, _REAL_ROOT = _tree()
    assert _REAL_ROOT is not None
    fdp = atheris.FuzzedDataProvider(data)
    from_url = fdp.ConsumeBool()
    user_path = _user_path(fdp)
    try:
        result = resolve_within(_ROOT, user_path, from_url=from_url)
    except InvalidPath:  # PathOutsideRoot is one
        return
    real = os.path.realpath(result)
    assert real == str(result), (user_path, result, real)
    assert _REAL_ROOT in Path(real).parents, (user_path, result)


# --- fts --------------------------------------------------------------------

_NS_CHARS = string.ascii_letters + string.digits + "._:@/-"
_FTS: sqlite3.Connection | None = None
_DOCS = [
    "Ann adopted a zebra named Stripes",
    "東京タワー is in Minato",
    'quotes " and stars * and NEAR(a b) AND OR NOT ^col : {x}',
    "snake_case and kebab-case and naïve café",
]


def _fts() -> sqlite3.Connection:
    global _FTS
    if _FTS is None:
        conn = sqlite3.connect(":memory:", isolation_level=None)
        conn.execute(
            "CREATE VIRTUAL TABLE memories_fts USING "
            f"fts5(body, context, ns, tokenize = '{TOKENIZE}')"
        )
        for number, doc in enumerate(_DOCS, start=1):
            conn.execute(
                "INSERT INTO memories_fts(rowid, body, context, ns) VALUES (?, ?, ?, ?)",
                (number, index_text(doc), index_text(_DOCS[number - 2]), "n64656661756c74"),
            )
        _FTS = conn
    return _FTS


def fts(data: bytes) -> None:
    """One query through the query builder into a real FTS5 ``MATCH``."""
    fdp = atheris.FuzzedDataProvider(data)
    namespace = None
    if fdp.ConsumeBool():  # namespaces are validated (NAMESPACE_PATTERN) before they get here
        raw = fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 128)) or b"d"
        namespace = "".join(_NS_CHARS[b % len(_NS_CHARS)] for b in raw)
        assert re.fullmatch(NAMESPACE_PATTERN, namespace), namespace
    query = fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 4096))
    terms = query_terms(query)
    assert len(terms) <= 32
    match = match_expression(terms, namespace)
    assert match == build_match_query(query, namespace)
    if match is None:
        assert not terms
        return
    rows = (
        _fts()
        .execute(
            "SELECT rowid, -bm25(memories_fts, 1.0, 0.5, 0.0) FROM memories_fts "
            "WHERE memories_fts MATCH ? ORDER BY bm25(memories_fts, 1.0, 0.5, 0.0) LIMIT 10",
            (match,),
        )
        .fetchall()
    )
    assert len(rows) <= len(_DOCS)
    query_tokens(terms)


# --- ingest -----------------------------------------------------------------

_KINDS = ["memory", "message", "fact", "note", "", "MEMORY", "x" * 300]


def _value(fdp: atheris.FuzzedDataProvider, depth: int = 0) -> Any:
    choice = fdp.ConsumeIntInRange(0, 8 if depth < 4 else 5)
    if choice == 0:
        return None
    if choice == 1:
        return fdp.ConsumeBool()
    if choice == 2:
        return fdp.ConsumeInt(9)
    if choice == 3:
        return fdp.ConsumeRegularFloat() if fdp.ConsumeBool() else fdp.ConsumeFloat()
    if choice in (4, 5):
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 64))
    if choice in (6, 7):
        return {
            fdp.ConsumeUnicode(8): _value(fdp, depth + 1)
            for _ in range(fdp.ConsumeIntInRange(0, 4))
        }
    return [_value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 4))]


def _record(fdp: atheris.FuzzedDataProvider) -> dict[str, Any]:
    record: dict[str, Any] = {}
    fields = [
        "content", "kind", "namespace", "session_id", "metadata", "tags", "importance",
        "created_at", "expires_at", "ttl_seconds", "vector", "id", "content_hash",
        "updated_at", "version", "superseded_by", "extra",
    ]  # fmt: skip
    for name in fields:
        if not fdp.ConsumeBool():
            continue
        if name == "kind":
            record[name] = _KINDS[fdp.ConsumeIntInRange(0, len(_KINDS) - 1)]
        elif name == "vector":
            record[name] = [fdp.ConsumeFloat() for _ in range(fdp.ConsumeIntInRange(0, 8))]
        else:
            record[name] = _value(fdp)
    if fdp.ConsumeBool():
        record["content"] = fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 200))
    return record


def ingest(data: bytes) -> None:
    """JSONL lines (raw bytes, or generated records) and the request models of a memory."""
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 2)
    if mode == 0:
        raw = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4096))
    else:
        lines = [_record(fdp) for _ in range(fdp.ConsumeIntInRange(1, 3))]
        raw = b"\n".join(json.dumps(line, allow_nan=True).encode() for line in lines)
    namespace = fdp.ConsumeUnicode(12) if fdp.ConsumeBool() else None
    stream = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8")
    try:
        for number, record in read_jsonl(stream):
            parse_record(record, line=number, namespace=namespace)
    except ValidationError:
        pass
    if mode == 2:
        body = _record(fdp)
        search = {"query": body.get("content"), "filter": _value(fdp), "mode": _value(fdp)}
        for model, value in ((MemoryInput, body), (SearchParams, body), (SearchParams, search)):
            with contextlib.suppress(pydantic.ValidationError):  # the one allowed error
                model.model_validate(value)


TARGETS = {"paths": paths, "fts": fts, "ingest": ingest}


def main() -> None:
    """``targets.py TARGET [libFuzzer flags]``: fuzz one target."""
    target = TARGETS[sys.argv[1]]
    sys.setrecursionlimit(10_000)
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
