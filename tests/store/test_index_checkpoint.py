"""A damaged vector-index checkpoint never stops the store; rebuilt indexes and tails are saved.

Issue 11, defects 2 and 8. The checkpoint in ``<data_dir>/index`` is derived
from the ``vectors`` table: every way it can be damaged (``tests/_damage.py``
``INDEX_DAMAGE``) makes the open rebuild it from the table with a warning,
and save the rebuilt one, so the next start loads it. After a crash, a
long-lived engine replays only the ``index_log`` tail and saves it soon
(``workers.TAIL_SAVE_DELAY_S``), not after the checkpoint interval.
Real SQLite files, the real embedding model, real usearch files.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import waits
from _damage import INDEX_DAMAGE
from memoryd import Memory, Settings
from memoryd.store.maintenance import consistency_report
from memoryd.store.vector_index import VectorIndex

TEXTS = {
    "default": "the lighthouse keeper painted the door blue",
    "birds": "penguins live in the southern hemisphere",
}
QUERIES = {"default": "who painted the door", "birds": "where do penguins live"}


def _fill(settings: Settings, embedder: Any) -> dict[str, str]:
    """One row in each of two namespaces, checkpointed; ``{namespace: id}``."""
    with Memory(settings, embedder=embedder, background=False) as mem:
        ids = {ns: mem.add(text, namespace=ns).id for ns, text in TEXTS.items()}
        mem.store.vectors.checkpoint()
    return ids


def _saved(settings: Settings, embedder: Any) -> VectorIndex | None:
    """The checkpoint on disk, loaded by a fresh index; ``None`` when it does not load."""
    index = VectorIndex(settings.index_dir, embedder.dim, embedder.model)
    return index if index.load_checkpoint() else None


def _finds(mem: Memory, ids: dict[str, str]) -> None:
    for ns, query in QUERIES.items():
        hits = mem.search(query, namespace=ns, mode="vector", limit=1).hits
        assert [h.entry.id for h in hits] == [ids[ns]]


def _tmp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".tmp" in p.name)


@pytest.mark.parametrize("damage", sorted(INDEX_DAMAGE))
def test_a_damaged_checkpoint_is_rebuilt_with_a_warning_and_saved(
    damage: str, settings: Settings, embedder: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ids = _fill(settings, embedder)
    assert _saved(settings, embedder) is not None
    INDEX_DAMAGE[damage](settings.index_dir)
    with (
        caplog.at_level(logging.WARNING, logger="memoryd.store"),
        Memory(settings, embedder=embedder) as mem,  # a long-lived engine, as the daemon
    ):
        assert mem.index_source == "rebuilt"
        assert mem.store.vectors.index.damage is not None
        assert mem.ready
        _finds(mem, ids)
        assert consistency_report(mem.store)["ok"]
        saved = _saved(settings, embedder)  # saved at open: the next start loads it
        assert saved is not None and saved.size() == 2
        assert saved.applied_seq == mem.store.vectors.index.applied_seq
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("vector-index checkpoint" in w and "is damaged" in w for w in warnings), warnings
    assert _tmp_files(settings.data_dir) == []
    with Memory(settings, embedder=embedder, background=False) as mem:
        assert mem.index_source == "checkpoint"
        _finds(mem, ids)


def test_a_one_shot_reader_also_replaces_a_damaged_checkpoint(
    settings: Settings, embedder: Any
) -> None:
    """Left on disk, every CLI call would rebuild it again."""
    ids = _fill(settings, embedder)
    INDEX_DAMAGE["zeroed usearch"](settings.index_dir)
    with Memory(settings, embedder=embedder, background=False) as mem:
        assert mem.index_source == "rebuilt"
        _finds(mem, ids)
    assert _saved(settings, embedder) is not None


def test_a_checkpoint_for_another_dimension_is_rebuilt(settings: Settings, embedder: Any) -> None:
    ids = _fill(settings, embedder)
    other = VectorIndex(settings.index_dir, 8, embedder.model)
    vectors = np.eye(8, dtype=np.float32)[:2]
    other.bulk_load("default", np.arange(1, 3, dtype=np.int64), vectors)
    other.applied_seq = 2
    other.checkpoint()  # a sound checkpoint of 8-dim vectors: a store of another model
    with Memory(settings, embedder=embedder) as mem:
        assert mem.index_source == "rebuilt"
        assert mem.store.vectors.index.damage is None  # not damage: for another dimension
        _finds(mem, ids)
    assert json.loads((settings.index_dir / "manifest.json").read_text())["dim"] == embedder.dim
    # The 8-dim files under a manifest that claims this dimension: damage (the file says 8).
    other.checkpoint()
    manifest = json.loads((settings.index_dir / "manifest.json").read_text())
    (settings.index_dir / "manifest.json").write_text(json.dumps(manifest | {"dim": embedder.dim}))
    with Memory(settings, embedder=embedder) as mem:
        assert mem.index_source == "rebuilt"
        assert (
            mem.store.vectors.index.damage is not None and "8-dim" in mem.store.vectors.index.damage
        )
        _finds(mem, ids)


def test_after_a_crash_only_the_tail_is_replayed_and_saved_soon(
    settings: Settings, embedder: Any
) -> None:
    writer = Memory(settings, embedder=embedder, background=False)
    writer.add("written before the checkpoint")
    writer.store.vectors.checkpoint()
    tail = [writer.add(f"written after the checkpoint, number {i}").id for i in range(3)]
    head = writer.store.pool.reader().execute("SELECT MAX(seq) FROM index_log").fetchone()[0]
    writer.store.pool.close()  # like kill -9: no checkpoint at close
    # An interval longer than the test: only the save at open can satisfy the wait below.
    patient = settings.model_copy(update={"index_save_interval_s": 3600.0})
    with Memory(patient, embedder=embedder) as mem:
        assert mem.index_source == "checkpoint"
        assert mem.store.vectors.replayed == 3  # the tail, not the whole table
        # The checkpoint worker saves the caught-up index soon, not after its interval.
        waits.wait_until(
            lambda: (s := _saved(settings, embedder)) is not None and s.applied_seq == head,
            timeout_s=30,
            message="checkpoint holding the replayed tail",
        )
        hits = mem.search("after the checkpoint number 2", mode="vector", limit=3).hits
        assert tail[2] in [h.entry.id for h in hits]
    with Memory(settings, embedder=embedder, background=False) as mem:
        assert mem.index_source == "checkpoint" and mem.store.vectors.replayed == 0


def test_a_rebuilt_index_on_a_full_disk_serves_and_leaves_no_temporary_file(
    small_disk: Callable[[int], Any],
    model_cache_dir: Path,
    embedder: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    disk = small_disk(4 << 20)
    settings = Settings(
        data_dir=disk.path / "data", model_cache_dir=model_cache_dir, disk_reserve_bytes=256 << 10
    )
    ids = _fill(settings, embedder)
    INDEX_DAMAGE["truncated usearch"](settings.index_dir)
    disk.fill()
    with (
        caplog.at_level(logging.WARNING, logger="memoryd.store"),
        Memory(settings, embedder=embedder) as mem,
    ):
        assert mem.index_source == "rebuilt" and mem.ready
        _finds(mem, ids)
        assert mem.store.vectors.unsaved  # the checkpoint worker tries again later
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("cannot save the rebuilt vector index" in w for w in warnings), warnings
    assert _tmp_files(settings.data_dir) == []
    disk.empty()
    with Memory(settings, embedder=embedder) as mem:  # space returned: a sound checkpoint again
        _finds(mem, ids)
    saved = _saved(settings, embedder)
    assert saved is not None and saved.size() == 2
