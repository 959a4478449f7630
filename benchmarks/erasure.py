"""Cost of erasure: secure_delete on deletes and updates, the erasure pass, ``forget``.

Method
------
For each size, a copy of the cached store of N memories (``_common.cached_store``;
precomputed vectors) is opened in-process without background workers, with
the in-memory BM25 index built. Then, on that store:

* ``secure_delete`` A/B: ``rounds`` deletes of random entries and ``rounds``
  content updates (precomputed vectors), alternating ``PRAGMA
  secure_delete=ON`` (memoryd's setting) and ``OFF`` on the writer one
  operation at a time, so both see the same moments of the machine;
  latency per call of ``Memory.delete`` / ``Memory.update``;
* the erasure pass after those deletes (``SQLiteStore.erase_traces``): FTS5
  ``optimize``, the scrubbed vector-index checkpoint and
  ``wal_checkpoint(TRUNCATE)``, each timed;
* ``forget(user_id=...)`` of ``--subject`` memories added for one user (with
  vectors), and at the end ``forget(namespace="default")`` of the whole store.

Usage::

    .venv/bin/python benchmarks/erasure.py                      # 10,000 and 100,000
    .venv/bin/python benchmarks/erasure.py --sizes 10000 --rounds 100
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path
from typing import Any

import _common as c


def _timed(fn: Any, *args: Any, **kwargs: Any) -> float:
    started = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - started


def _ab(memory: Any, rounds: int, vectors: Any) -> dict[str, list[float]]:
    """Alternate secure_delete ON/OFF per operation: deletes and content updates."""
    conn = memory.store.pool.writer
    rowids = [r[0] for r in conn.execute("SELECT id FROM memories ORDER BY random()")]
    rng = random.Random(7)
    out: dict[str, list[float]] = {f"{op} {m}": [] for op in ("delete", "update") for m in "AB"}
    for i in range(2 * rounds):
        mode = "A" if i % 2 == 0 else "B"
        conn.execute(f"PRAGMA secure_delete={'ON' if mode == 'A' else 'OFF'}")
        victim, target = rowids.pop(), rowids.pop()
        out[f"delete {mode}"].append(_timed(memory.delete, victim))
        vec = vectors[rng.randrange(len(vectors))].tolist()
        out[f"update {mode}"].append(
            _timed(memory.update, target, content=f"rewritten text {i}", vector=vec)
        )
    conn.execute("PRAGMA secure_delete=ON")
    return out


def _erase_pass(memory: Any) -> dict[str, float]:
    store = memory.store
    return {
        "fts_optimize_s": _timed(store.erasure.optimize_fts),
        "index_checkpoint_s": _timed(store.vectors.checkpoint),
        "wal_truncate_s": _timed(store.erasure.truncate_wal),
    }


def run_one(n: int, rounds: int, subject: int, work: Path, only_ab: bool) -> c.Row:
    from memoryd import Memory

    data_dir = c.copy_store(c.cached_store(n), work / f"erase-{n}")
    texts, tags, vectors = c.dataset(n)
    with Memory(c.bench_settings(data_dir), background=False) as memory:
        memory.store.keywords.start(background=False)
        ab = _ab(memory, rounds, vectors)
        if only_ab:  # also runs on code without erasure (benchmarks/ab.sh)
            return {"n": n, **{k: c.summarize(v) for k, v in ab.items()}}
        passes = _erase_pass(memory)
        items = [
            {"content": f"subject note {i}: {t}", "user_id": "subject", "vector": v}
            for i, (t, v) in enumerate(
                zip(texts[:subject], vectors[:subject].tolist(), strict=True)
            )
        ]
        memory.add_many(items)
        started = time.perf_counter()
        user = memory.forget(user_id="subject")
        user_s = time.perf_counter() - started
        started = time.perf_counter()
        everything = memory.forget(namespace="default")
        all_s = time.perf_counter() - started
    assert user.memories == {"memory": subject}, user.memories
    return {
        "n": n,
        **{k: c.summarize(v) for k, v in ab.items()},
        **passes,
        "forget_user_rows": user.total,
        "forget_user_s": user_s,
        "forget_all_rows": everything.total,
        "forget_all_s": all_s,
        "erased": user.erased and everything.erased,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated store sizes")
    ap.add_argument("--rounds", type=int, default=200, help="operations per secure_delete mode")
    ap.add_argument("--subject", type=int, default=1000, help="memories of the forgotten user")
    ap.add_argument("--only-ab", action="store_true", help="only the delete/update timings")
    ap.add_argument("--tmp-dir", default=None, help="parent of the temp stores (on a real disk)")
    ap.add_argument("--json", default="", help="also write the results to this JSON file")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    machine = c.machine_info(Path(args.tmp_dir) if args.tmp_dir else None)
    rows = []
    for n in sizes:
        with c.bench_tmp(args.tmp_dir) as tmp:
            rows.append(run_one(n, args.rounds, args.subject, Path(tmp), args.only_ab))
        print(f"  {n:,}: done", flush=True)
    ab = c.md_table(
        ["N", "op", "secure_delete ON p50 / p95 ms", "OFF p50 / p95 ms", "ratio p50 ON/OFF"],
        [
            [
                r["n"],
                op,
                f"{r[f'{op} A']['p50_ms']:.2f} / {r[f'{op} A']['p95_ms']:.2f}",
                f"{r[f'{op} B']['p50_ms']:.2f} / {r[f'{op} B']['p95_ms']:.2f}",
                r[f"{op} A"]["p50_ms"] / r[f"{op} B"]["p50_ms"],
            ]
            for r in rows
            for op in ("delete", "update")
        ],
    )
    tables = [ab]
    if not args.only_ab:
        tables.append(_passes_table(rows))
    method = (
        "copies of the cached N-memory store, in-process, no workers; secure_delete ON/OFF "
        "alternated per operation on the writer; then the erasure pass, forget of one user's "
        "memories and forget of the whole namespace. See the module docstring."
    )
    c.report("erasure", method, machine, tables, {"rows": rows}, args.json)


def _passes_table(rows: list[c.Row]) -> str:
    return c.md_table(
        ["N", "FTS optimize s", "index checkpoint s", "WAL truncate s", "forget user (rows) s"]
        + ["forget namespace (rows) s", "erased"],
        [
            [r["n"], r["fts_optimize_s"], r["index_checkpoint_s"], r["wal_truncate_s"]]
            + [f"{r['forget_user_s']:.2f} ({r['forget_user_rows']:,})"]
            + [
                f"{r['forget_all_s']:.2f} ({r['forget_all_rows']:,})",
                "yes" if r["erased"] else "no",
            ]
            for r in rows
        ],
    )


if __name__ == "__main__":
    main()
