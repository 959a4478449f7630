"""R8 (multi-process side): processes sharing a data dir checkpoint one vector index safely.

Every process that opens a store (daemon, CLI command, a second writer)
checkpoints the HNSW index into the same ``index/`` folder on close and on a
timer. Three processes here write (adds and in-place vector updates) and
checkpoint after every write for ``MEMORYD_R8_CKPT_SECONDS`` (default 4) s.
Pass: no client error; after a fresh open the index holds exactly the stored
vectors, key by key and value by value (``consistency_report``), and every
live memory is its own nearest neighbour.

Before the fix (shared temp names, no lock, older checkpoints overwriting
newer ones) this failed with ``FileNotFoundError`` in ~40 % of checkpoints
and an index missing or holding stale vectors after reopening.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from memoryd import Memory, Settings
from memoryd.embeddings import Embedder
from memoryd.store.maintenance import consistency_report

from ._support import Child, env_int

SECONDS = env_int("MEMORYD_R8_CKPT_SECONDS", 4)
PROCESSES = 3

pytestmark = pytest.mark.slow


def test_processes_checkpointing_one_index_concurrently(
    tmp_path: Path, model_cache_dir: Path, embedder: Embedder
) -> None:
    data_dir = tmp_path / "store"
    logs = tmp_path / "logs"
    logs.mkdir()
    children = [
        Child(
            "checkpointer.py",
            [str(data_dir), "--model-cache", str(model_cache_dir), "--seconds", str(SECONDS)]
            + ["--seed", str(i), "--tag", f"P{i}"],
            logs,
            f"checkpointer-{i}",
        )
        for i in range(PROCESSES)
    ]
    try:
        for child in children:
            child.expect("ready", 300)
        for child in children:
            child.send("go")
        done = [child.expect("done", 120 + 10 * SECONDS) for child in children]
    except BaseException:
        for child in children:
            child.kill()
        raise
    for child in children:
        child.finish(60)
    errors = [e for d in done for e in d["errors"]]
    checkpoints = sum(d["checkpoints"] for d in done)
    live = [ack for child in children for ack in child.of("ack")]
    print(f"\nR8 checkpoints: {checkpoints} by {PROCESSES} processes, {len(live)} live memories")
    assert not errors, errors[:5]
    assert [child.proc.returncode for child in children] == [0] * PROCESSES
    assert checkpoints >= PROCESSES

    settings = Settings(data_dir=data_dir, model_cache_dir=model_cache_dir)
    with Memory(settings=settings, embedder=embedder, background=False) as memory:
        report = consistency_report(memory.store)
        assert report["ok"], report
        assert report["rows"] == len(live)
        conn = memory.store.pool.reader()
        rowids = {str(r[0]): int(r[1]) for r in conn.execute("SELECT id, rowid FROM memories")}
        for ack in live:
            keys, sims = memory.store.vectors.index.search(
                ack["ns"], np.asarray(ack["vector"], dtype=np.float32), 1
            )
            assert len(keys) and int(keys[0]) == rowids[ack["id"]] and sims[0] > 0.999, ack["id"]
