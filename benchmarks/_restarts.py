"""Restart cycles of ``startup.py``: kill -9 and SIGTERM restarts, damaged checkpoints.

* :func:`restart_runs` — one daemon on one copy of the store is restarted
  ``2 * cycles`` times, kill -9 and SIGTERM alternating (A/B interleaved in
  one run). Each cycle first lets the daemon settle (its BM25 index built,
  a checkpoint of a tail replayed at open saved), then writes ``writes``
  memories with precomputed vectors over HTTP, stops the daemon the cycle's
  way, reads how many ``index_log`` operations the checkpoint on disk is
  behind (the tail the restart must replay), and times spawn → first
  ``/readyz`` 200 of the restart, with the 1-minute load average just
  before it (the machine is shared).
* :func:`damaged_runs` — on a fresh copy with its largest ``.usearch`` file
  zeroed: the first start (rebuild from ``vectors`` + save) and the next
  start (loads the saved checkpoint), both spawn → ``/readyz`` 200.
* :func:`rebuild_in_process` — the same rebuild without the daemon around it:
  ``store.vectors.rebuild()`` (read ``vectors``, build the HNSW graphs),
  the checkpoint save (files, CRC-32, manifest), and a checkpoint load.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

import _common as c


def _tail(data: Path) -> int:
    """``index_log`` operations newer than the checkpoint on disk (the daemon is stopped)."""
    try:
        saved = int(json.loads((data / "index" / "manifest.json").read_text())["applied_seq"])
    except (OSError, ValueError, KeyError):
        saved = 0
    with sqlite3.connect(f"file:{data / 'memoryd.db'}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'index_log'").fetchone()
    return (int(row[0]) if row else 0) - saved


def _started_at(log: Path, offset: int) -> float | None:
    """Unix time of the daemon's ``starting`` event in ``log`` after byte ``offset``."""
    with log.open("rb") as fh:
        fh.seek(offset)
        for line in fh:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "starting" and "timestamp" in event:
                return datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).timestamp()
    return None


#: Longest wait for a start that rebuilds 100k vectors on a busy 2-core machine, in seconds.
REBUILD_TIMEOUT_S = 3600.0


def timed_start(
    daemon: c.Daemon, poll_s: float, timeout_s: float = 600.0
) -> tuple[float, float | None]:
    """``(ready_s, boot_s)``: spawn → ``/readyz`` 200, and spawn → the ``starting`` log event.

    ``boot_s`` is the interpreter and imports (the daemon logs ``starting``
    once its modules are loaded); ``ready_s - boot_s`` is the store open, the
    index load or rebuild, and the model load and warm-up.
    """
    log = daemon.data_dir / "logs" / "memoryd.log"
    offset = log.stat().st_size if log.exists() else 0
    spawned = time.time()
    ready = daemon.start(timeout_s=timeout_s, poll_s=poll_s)
    started = _started_at(log, offset)
    return ready, None if started is None else started - spawned


def _kill(daemon: c.Daemon) -> None:
    assert daemon.proc is not None
    daemon.proc.kill()
    daemon.proc.wait()
    daemon.proc = None


def restart_runs(src: Path, args: Any) -> dict[str, list[c.Row]]:
    """``{"kill -9": rows, "SIGTERM": rows}``; rows: ready_s, boot_s, tail, stop_s, load."""
    out: dict[str, list[c.Row]] = {"kill -9": [], "SIGTERM": []}
    rng = np.random.default_rng(20261203)
    with c.bench_tmp(args.tmp_dir) as tmp:
        data = c.copy_store(src, Path(tmp) / "data")
        daemon = c.Daemon(data, Path(tmp), MEMORYD_KEYWORD_INDEX=args.keyword_index)
        daemon.start(poll_s=args.poll_ms / 1000)
        try:
            for cycle in range(2 * args.restarts):
                kind = "kill -9" if cycle % 2 == 0 else "SIGTERM"
                daemon.settle()
                vectors = rng.standard_normal((args.restart_writes, 384), dtype=np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                texts = [f"restart cycle {cycle} memory {i}" for i in range(len(vectors))]
                tags = ["restart"] * len(texts)
                with daemon.client() as client:
                    client.add_many(c.items_with_vectors(texts, tags, vectors))
                t0 = time.perf_counter()
                if kind == "kill -9":
                    _kill(daemon)
                else:
                    daemon.stop()
                stop_s = time.perf_counter() - t0
                tail = _tail(data)
                load = os.getloadavg()[0]
                ready, boot = timed_start(daemon, args.poll_ms / 1000)
                row = {"ready_s": ready, "boot_s": boot, "tail": tail, "stop_s": stop_s}
                out[kind].append(row | {"load": load})
                print(
                    f"  restart {cycle + 1} ({kind}, tail {tail}, load {load:.2f}): "
                    f"ready in {ready:.3f} s"
                )
        finally:
            daemon.stop()
    return out


def _zero_largest_usearch(data: Path) -> None:
    path = max((data / "index").glob("*.usearch"), key=lambda p: p.stat().st_size)
    path.write_bytes(bytes(path.stat().st_size))


def damaged_runs(src: Path, args: Any) -> list[c.Row]:
    """Rows of ``damaged_ready_s`` (rebuild + save) and ``next_ready_s`` (saved checkpoint)."""
    rows = []
    for run in range(args.damaged):
        with c.bench_tmp(args.tmp_dir) as tmp:
            data = c.copy_store(src, Path(tmp) / "data")
            _zero_largest_usearch(data)
            env = {"MEMORYD_KEYWORD_INDEX": args.keyword_index}
            with c.Daemon(data, Path(tmp), **env) as daemon:
                damaged, damaged_boot = timed_start(daemon, args.poll_ms / 1000, REBUILD_TIMEOUT_S)
            with c.Daemon(data, Path(tmp), **env) as daemon:
                again, again_boot = timed_start(daemon, args.poll_ms / 1000)
            log = (data / "logs" / "memoryd.log").read_text(errors="replace")
            rows.append(
                {
                    "damaged_ready_s": damaged,
                    "damaged_boot_s": damaged_boot,
                    "next_ready_s": again,
                    "next_boot_s": again_boot,
                    "warned": "is damaged" in log,
                    "rebuilds_logged": log.count("rebuilding it from the table"),
                }
            )
        print(f"  damaged {run + 1}: ready in {damaged:.3f} s, next start {again:.3f} s")
    return rows


def rebuild_in_process(src: Path, args: Any) -> c.Row:
    """Seconds of ``rebuild_index()``, the checkpoint save and a checkpoint load (``src``)."""
    from memoryd.store.connection import Pragmas
    from memoryd.store.sqlite import SQLiteStore
    from memoryd.store.vector_index import VectorIndex

    with c.bench_tmp(args.tmp_dir) as tmp:
        data = c.copy_store(src, Path(tmp) / "data")
        with sqlite3.connect(data / "memoryd.db") as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        model, dim = str(meta["embedding_model"]), int(meta["dim"])
        store = SQLiteStore(data / "memoryd.db", data / "index", Pragmas(), model=model, dim=dim)
        try:
            t0 = time.perf_counter()
            vectors = store.vectors.rebuild()
            rebuild_s = time.perf_counter() - t0
            store.vectors.ready = True
            store.vectors.index.distrust_saved()  # replace the copied checkpoint (same seq)
            t0 = time.perf_counter()
            store.vectors.checkpoint()
            save_s = time.perf_counter() - t0
        finally:
            store.close()
        index = VectorIndex(data / "index", dim, model)
        t0 = time.perf_counter()
        assert index.load_checkpoint()
        load_s = time.perf_counter() - t0
    return {"vectors": vectors, "rebuild_s": rebuild_s, "save_s": save_s, "load_s": load_s}
