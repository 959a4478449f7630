"""Engine-only semantics on a real store with the real embedding model.

What ``Memory`` and ``Client`` share is tested once for both in ``tests/parity``;
this file keeps what only the engine shows: the TTL purge worker, the
deterministic ids of state and kv entries, and import into another store.
"""

from __future__ import annotations

import pytest

import waits
from memoryd import Memory, NotFound
from memoryd.ids import deterministic_id


def test_ttl_entries_are_never_returned_and_purged(memory: Memory) -> None:
    ttl = waits.budget(5.0)  # long enough to read each back at once on a loaded machine
    memory.kv_set("session-token", "abc", ttl_seconds=ttl)
    assert memory.kv_get("session-token") == "abc"
    entry = memory.add("short lived fact", ttl_seconds=ttl)  # expires after the key
    assert memory.get(entry.id).content == "short lived fact"

    def expired() -> bool:
        try:
            memory.get(entry.id)
        except NotFound:
            return memory.kv_get("session-token", None) is None
        return False

    waits.wait_until(expired, timeout_s=ttl + 10, message="the key and the entry expired")
    assert memory.search("short lived fact").hits == []
    assert memory.workers.purge_expired() == 2
    assert memory.stats().total == 0


def test_state_and_kv_use_deterministic_ids(memory: Memory) -> None:
    first = memory.set_state("sess-1", "step", 1)
    second = memory.set_state("sess-1", "step", {"n": 2})
    assert first.id == second.id == deterministic_id("default", "state", "sess-1/step")
    assert memory.get_state("sess-1", "step") == {"n": 2}
    assert memory.delete_state("sess-1", "step") is True
    assert memory.delete_state("sess-1", "step") is False
    with pytest.raises(NotFound):
        memory.get_state("sess-1", "step")
    kv = memory.kv_set("theme", "dark")
    assert kv.id == deterministic_id("default", "kv", "theme")
    assert memory.kv_get("theme") == "dark" and memory.kv_get("missing", 7) == 7


def test_export_import_lossless(memory: Memory, settings, embedder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = memory.add("alpha fact", metadata={"k": [1, 2]}, tags=["x"])
    memory.supersede(a.id, "alpha fact revised")
    memory.append("s", "hello", role="ann")
    memory.kv_set("k", 1)
    exported = list(memory.export())
    target = settings.model_copy(update={"data_dir": tmp_path / "copy"})
    with Memory(target, embedder=embedder) as copy:
        assert copy.import_entries(exported) == len(exported)
        assert copy.import_entries(exported) == 0  # idempotent
        again = {e.id: e for e in copy.export()}
    assert {e.id: e for e in exported} == again
