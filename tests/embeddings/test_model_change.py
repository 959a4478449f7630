"""A store opened with another embedding model re-embeds every row (``SQLiteStore._record_model``).

The store is filled with the real all-MiniLM-L6-v2 (384 dimensions), then
opened with an OpenAI-compatible provider of 8 dimensions (conftest.FakeProvider,
a real HTTP server): every row is queued for re-embedding, the old vectors and
the cached vectors of the old model are dropped, the backfill worker fills the
new ones, and vector search finds the rows with the new model; opening it
again with the same model re-embeds nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from memoryd import Memory, Settings
from memoryd.store.maintenance import consistency_report

if TYPE_CHECKING:
    from conftest import FakeProvider

TEXTS = ["Ann prefers green tea", "the deploy runs on Fridays", "Bo moved to Lisbon"]


def _count(memory: Memory, table: str) -> int:
    row = memory.store.pool.reader().execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - fixed table names
    return int(row[0])


def test_a_model_change_reembeds_every_row(
    tmp_path: Path, model_cache_dir: Path, embedder: Any, provider: FakeProvider
) -> None:
    data_dir = tmp_path / "data"
    with Memory(
        Settings(data_dir=data_dir, model_cache_dir=model_cache_dir),
        embedder=embedder,
        background=False,
    ) as memory:
        ids = [memory.add(text).id for text in TEXTS]
        assert memory.store.reembed_started is False
        assert _count(memory, "embedding_cache") == len(TEXTS)
        first = memory.search("green tea", mode="vector", limit=1)
        assert first.hits[0].entry.id == ids[0]

    other = provider.settings(data_dir)
    with Memory(other, background=False) as memory:
        assert memory.store.reembed_started is True
        queued = memory.store.pool.reader().execute("SELECT count(*) FROM embedding_queue")
        assert int(queued.fetchone()[0]) == len(TEXTS)
        assert _count(memory, "vectors") == 0
        assert _count(memory, "embedding_cache") == 0  # vectors of the old model are gone
        assert memory.workers.backfill() == len(TEXTS)
        rows = memory.store.pool.reader().execute(
            "SELECT m.content, v.vector, m.embedding_model, m.dim "
            "FROM memories m JOIN vectors v ON v.rowid = m.rowid"
        )
        stored = {str(r[0]): (np.frombuffer(r[1], dtype="<f4"), r[2], r[3]) for r in rows}
        assert set(stored) == set(TEXTS)
        for text, (vector, model, dim) in stored.items():
            assert (model, dim) == ("fake-8", 8)
            np.testing.assert_allclose(vector, provider.unit(text), atol=1e-6)
        hit = memory.search(TEXTS[1], mode="vector", limit=1).hits[0]
        assert hit.entry.id == ids[1]  # the fake model maps a text to its own vector
        assert consistency_report(memory.store)["ok"]

    with Memory(other, background=False) as memory:
        assert memory.store.reembed_started is False
        assert _count(memory, "vectors") == len(TEXTS)
