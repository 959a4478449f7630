"""Cost of corruption detection (RELIABILITY.md R7) at 100k and 1M memories.

Method
------
Stores: 100k realistic short memories with their real all-MiniLM-L6-v2
vectors (``_common.dataset``, cached) saved with ``Memory.add_many``. The 1M
store (embedding 1M texts would take hours here; the checks' cost depends on
pages and rows, not on what the texts say) is the 100k store copied ten
times at the SQL level into namespaces ``ns1``..``ns9`` (new ids and rowids,
same texts, FTS rows and vectors; the checksum triggers run for every copied
row), so it has the same shape as one built row by row. Both are cached
under ``$MEMORYD_BENCH_CACHE/stores`` and checkpointed.

Measured on the cached file (warm page cache: each check runs ``--repeat``
times, the median is reported; the first run's time is shown too):

* ``PRAGMA quick_check`` (what runs at open), ``PRAGMA integrity_check``,
  FTS5's ``integrity-check`` (in a rolled-back write transaction), the
  checksum scan of every row, vector, FTS row and cache entry, the id-set
  queries, and the whole ``memoryd storage verify`` (``verify_path``);
* opening the engine (``Memory(...)``, embedder warmed up before) with the
  default ``integrity_open_check_budget_s`` (0.25 s) and with 0 (no wait),
  and when the quick check started at open finished in the background (100k
  only: the 1M copy has no index checkpoint, so opening it rebuilds HNSW);
* migration 8 on a copy of the store taken back to schema 5 (checksum
  columns and triggers dropped).

Usage::

    .venv/bin/python benchmarks/integrity_check.py                 # 100k and 1M
    .venv/bin/python benchmarks/integrity_check.py --sizes 100000 --repeat 3
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import _common as c

BASE = 100_000


def _store_path(n: int) -> Path:
    from memoryd.store.migrations import MIGRATIONS

    schema = max(m.version for m in MIGRATIONS)
    return c.BENCH_CACHE / "stores" / f"integrity-v{c.GEN_VERSION}-n{n}-schema{schema}"


def _build_base(path: Path) -> None:
    from memoryd import Memory

    pairs = c.memory_texts(BASE)
    rng = np.random.default_rng(1)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with Memory(c.bench_settings(tmp), embedder=c.embedder(), background=False) as memory:
        for start in range(0, BASE, 1000):
            vectors = rng.standard_normal((min(1000, BASE - start), 384), dtype=np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            chunk = pairs[start : start + 1000]
            memory.add_many(
                [
                    {"content": t, "tags": [g], "vector": v}
                    for (t, g), v in zip(chunk, vectors.tolist(), strict=True)
                ],
                batch_size=1000,
            )
    tmp.rename(path)


_COPY_COLUMNS = (
    "kind content content_hash session_id agent_id user_id metadata tags importance created_at "
    "updated_at expires_at embedding_model dim supersedes superseded_by text_hash"
).split()


def _replicate(source: Path, path: Path, copies: int) -> None:
    """Copy the base store's rows ``copies - 1`` more times into new namespaces (SQL level)."""
    from memoryd.store.checksums import register_functions
    from memoryd.store.fts import namespace_token

    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp)
    conn = sqlite3.connect(str(tmp / "memoryd.db"), isolation_level=None)
    register_functions(conn)
    conn.create_function("ns_token", 1, namespace_token, deterministic=True)
    top = int(conn.execute("SELECT MAX(rowid) FROM memories").fetchone()[0])
    for k in range(1, copies):
        shift, ns = k * top, f"ns{k}"
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            f"INSERT INTO memories(rowid, id, namespace, {', '.join(_COPY_COLUMNS)}, fts_checksum) "
            # A UUID made of the new rowid: unique, and never one of the base ids (version 4
            # digit, variant 8, the first eight digits zero).
            "SELECT m.rowid + ?, printf('00000000-0000-4000-8000-%012x', m.rowid + ?), "
            f"?, {', '.join('m.' + name for name in _COPY_COLUMNS)}, "
            "memoryd_checksum(f.body, f.context, ns_token(?)) "
            "FROM memories m JOIN memories_fts f ON f.rowid = m.rowid WHERE m.rowid <= ?",
            (shift, shift, ns, ns, top),
        )
        conn.execute(
            "INSERT INTO memories_fts(rowid, body, context, ns) "
            "SELECT rowid + ?, body, context, ns_token(?) FROM memories_fts WHERE rowid <= ?",
            (shift, ns, top),
        )
        conn.execute(
            "INSERT INTO vectors(rowid, vector) SELECT rowid + ?, vector FROM vectors "
            "WHERE rowid <= ?",
            (shift, top),
        )
        conn.execute("COMMIT")
        print(f"  replicated {k + 1}/{copies}", flush=True)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    shutil.rmtree(tmp / "index", ignore_errors=True)  # rebuilt from ``vectors`` on open
    tmp.rename(path)


def cached_store(n: int) -> Path:
    path = _store_path(n)
    if (path / "memoryd.db").exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    base = _store_path(BASE)
    if not (base / "memoryd.db").exists():
        _build_base(base)
    if n != BASE:
        assert n % BASE == 0, "sizes are multiples of 100,000"
        _replicate(base, path, n // BASE)
    print(f"  store of {n:,}: {time.perf_counter() - started:.0f} s", flush=True)
    return path


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """``(first run s, median s, last result)``."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times[0], statistics.median(times), result


def _checks(db: Path, repeat: int) -> list[c.Row]:
    from memoryd.store.integrity import Verification, open_check_connection, verify_path

    def part(step: str) -> Callable[[], Any]:
        def run() -> Any:
            conn = open_check_connection(db, busy_timeout_s=10)
            try:
                v = Verification(db, conn)
                if step in ("quick_check", "integrity_check"):
                    v._pragma(step)
                elif step == "checksums":
                    v._checksums()
                elif step == "consistency":
                    v._consistency()
                else:
                    rw = sqlite3.connect(str(db), isolation_level=None)
                    rw.execute("BEGIN IMMEDIATE")
                    rw.execute("INSERT INTO memories_fts(memories_fts) VALUES ('integrity-check')")
                    rw.execute("ROLLBACK")
                    rw.close()
                assert not v.problems, v.problems
                return v.rows
            finally:
                conn.close()

        return run

    rows = []
    for step in ("quick_check", "integrity_check", "fts_integrity_check", "checksums"):
        first, median, _ = _timed(part(step), repeat)
        rows.append({"check": step, "first_s": first, "median_s": median})
    first, median, _ = _timed(part("consistency"), repeat)
    rows.append({"check": "consistency (id sets)", "first_s": first, "median_s": median})
    first, median, report = _timed(lambda: verify_path(db), repeat)
    assert report.ok, report.problems
    rows.append({"check": "storage verify (all)", "first_s": first, "median_s": median})
    return rows


def _open_times(store: Path, work: Path, embedder: Any) -> c.Row:
    from memoryd import Memory

    copy = c.copy_store(store, work / "open")
    out: c.Row = {}
    from memoryd.config import Settings

    default = Settings.model_fields["integrity_open_check_budget_s"].default
    for budget in (default, 0.0):
        settings = c.bench_settings(copy, integrity_open_check_budget_s=budget)
        t0 = time.perf_counter()
        memory = Memory(settings, embedder=embedder, defer_keyword_index=True)
        key = "default" if budget else "zero"
        out[f"open_s_budget_{key}"] = time.perf_counter() - t0
        assert memory.store.integrity.wait_open_check()
        out[f"quick_check_done_s_budget_{key}"] = time.perf_counter() - t0
        assert not memory.store.health.corrupted
        memory.close()
    shutil.rmtree(copy)
    return out


def _migration_time(store: Path, work: Path) -> float:
    from memoryd.store.checksums import TRIGGERS
    from memoryd.store.migrations import migrate

    copy = work / "migrate.db"
    shutil.copy(store / "memoryd.db", copy)
    conn = sqlite3.connect(str(copy), isolation_level=None)
    for statement in TRIGGERS:
        conn.execute("DROP TRIGGER " + statement.split()[2])
    for table, column in (
        ("memories", "checksum"),
        ("memories", "fts_checksum"),
        ("vectors", "checksum"),
        ("embedding_cache", "checksum"),
    ):
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    conn.execute("DELETE FROM schema_migrations WHERE version = 8")
    t0 = time.perf_counter()
    migrate(conn)
    took = time.perf_counter() - t0
    conn.close()
    copy.unlink()
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000", help="multiples of 100,000")
    ap.add_argument("--repeat", type=int, default=3, help="runs per check (median reported)")
    ap.add_argument("--no-migration", action="store_true", help="skip the migration timing")
    ap.add_argument("--tmp-dir", default=None, help="parent of the temp copies (a real disk)")
    ap.add_argument("--json", default="", help="also write the results to this JSON file")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    stores = {n: cached_store(n) for n in sizes}
    machine = c.machine_info(Path(args.tmp_dir) if args.tmp_dir else None)
    embedder = c.embedder()
    results: list[c.Row] = []
    for n, store in stores.items():
        db = store / "memoryd.db"
        row: c.Row = {"n": n, "db_mib": db.stat().st_size / 2**20}
        row["checks"] = _checks(db, args.repeat)
        with c.bench_tmp(args.tmp_dir) as tmp:
            if n == BASE:  # the 1M copy has no index checkpoint: opening it rebuilds HNSW
                row.update(_open_times(store, Path(tmp), embedder))
            if not args.no_migration:
                row["migration_8_s"] = _migration_time(store, Path(tmp))
        results.append(row)
        print(f"  {n:,} done", flush=True)
    checks = c.md_table(
        ["check", *[f"{r['n']:,} rows: median s (first)" for r in results]],
        [
            [
                check["check"],
                *[
                    f"{r['checks'][i]['median_s']:.2f} ({r['checks'][i]['first_s']:.2f})"
                    for r in results
                ],
            ]
            for i, check in enumerate(results[0]["checks"])
        ],
    )
    opening = c.md_table(
        [
            "rows",
            "db MiB",
            "open s (default budget)",
            "quick check done s",
            "open s (budget 0)",
            "migration 8 s",
        ],
        [
            [
                r["n"],
                r["db_mib"],
                r.get("open_s_budget_default"),
                r.get("quick_check_done_s_budget_default"),
                r.get("open_s_budget_zero"),
                r.get("migration_8_s"),
            ]
            for r in results
        ],
    )
    method = (
        "checks on cached, checkpointed stores (warm page cache; median of --repeat runs, first "
        "run in parentheses); opening Memory(...) with the embedder warmed up; migration 8 on a "
        "copy taken back to schema 5. See the module docstring."
    )
    c.report("integrity checks", method, machine, [checks, opening], {"rows": results}, args.json)


if __name__ == "__main__":
    main()
