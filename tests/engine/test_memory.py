"""Engine semantics on a real store with the real embedding model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import waits
from memoryd import Conflict, Memory, MemoryInput, NotFound, ValidationError
from memoryd.ids import deterministic_id


def test_add_get_roundtrip(memory: Memory) -> None:
    entry = memory.add(
        "Ann prefers green tea",
        tags=["prefs", "prefs"],
        metadata={"a": 1},
        importance=0.9,
        agent_id="agent-1",
    )
    got = memory.get(entry.id)
    assert got.content == "Ann prefers green tea"
    assert got.tags == ["prefs"] and got.metadata == {"a": 1} and got.importance == 0.9
    assert got.embedding_model == "all-MiniLM-L6-v2" and got.dim == 384
    assert got.agent_id == "agent-1" and got.kind == "memory" and got.namespace == "default"


def test_dedup_by_content_hash_within_namespace(memory: Memory) -> None:
    a = memory.add("the sky is blue")
    b = memory.add("  the sky is blue ")
    c = memory.add("the sky is blue", namespace="other")
    assert a.id == b.id and c.id != a.id
    many = memory.add_many([{"content": "x y"}, {"content": "x y"}])
    assert many[0].id == many[1].id
    # conversation turns repeat legitimately and are not deduplicated
    assert memory.append("s", "ok").id != memory.append("s", "ok").id


def test_namespace_isolation(memory: Memory) -> None:
    secret = memory.add("tenant A secret plan", namespace="a")
    memory.add("tenant B public note", namespace="b")
    with pytest.raises(NotFound):
        memory.get(secret.id, namespace="b")
    with pytest.raises(NotFound):
        memory.delete(secret.id, namespace="b")
    hits = memory.search("secret plan", namespace="b").hits
    assert all(h.entry.namespace == "b" for h in hits)
    assert secret.id not in [e.id for e in memory.list(namespace="b").items]


def test_update_in_place_reembeds(memory: Memory) -> None:
    entry = memory.add("meeting on monday")
    updated = memory.update(entry.id, content="meeting moved to thursday", tags=["work"])
    assert updated.id == entry.id and updated.tags == ["work"]
    assert updated.content_hash != entry.content_hash
    hit = memory.search("thursday meeting", mode="vector", limit=1).hits[0]
    assert hit.entry.id == entry.id
    assert memory.search("monday", mode="keyword").hits == []
    with pytest.raises(ValidationError):
        memory.update(entry.id, importance=3)


def test_delete(memory: Memory) -> None:
    entry = memory.add("temporary")
    memory.delete(entry.id)
    with pytest.raises(NotFound):
        memory.get(entry.id)
    with pytest.raises(NotFound):
        memory.delete(entry.id)
    assert memory.search("temporary").hits == []


def test_supersede_keeps_history(memory: Memory) -> None:
    old = memory.add("Ann lives in Paris", tags=["home"])
    new = memory.supersede(old.id, "Ann lives in Lisbon")
    assert new.supersedes == old.id and new.tags == ["home"]
    assert memory.get(old.id).superseded_by == new.id
    assert [e.content for e in memory.history(old.id)] == [
        "Ann lives in Paris",
        "Ann lives in Lisbon",
    ]
    ids = [h.entry.id for h in memory.search("where does Ann live").hits]
    assert new.id in ids and old.id not in ids
    with_history = memory.search("where does Ann live", include_superseded=True).hits
    assert old.id in [h.entry.id for h in with_history]
    with pytest.raises(Conflict):
        memory.supersede(old.id, "again")
    memory.delete(new.id)  # deleting the successor makes the old entry current again
    assert memory.get(old.id).superseded_by is None


def test_list_pages_newest_first(memory: Memory) -> None:
    base = datetime(2024, 1, 1, tzinfo=UTC)
    memory.add_many(
        [MemoryInput(content=f"item {i}", created_at=base + timedelta(minutes=i)) for i in range(7)]
    )
    seen: list[str] = []
    cursor = None
    while True:
        page = memory.list(limit=3, cursor=cursor)
        seen += [e.content for e in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"item {i}" for i in reversed(range(7))]
    with pytest.raises(ValidationError):
        memory.list(cursor="garbage")


def test_ttl_entries_are_never_returned_and_purged(memory: Memory) -> None:
    ttl = waits.budget(3.0)  # long enough to read both back on a loaded machine
    memory.kv_set("session-token", "abc", ttl_seconds=ttl)
    entry = memory.add("short lived fact", ttl_seconds=ttl)
    assert memory.kv_get("session-token") == "abc"
    waits.wait_until(
        lambda: memory.kv_get("session-token", None) is None,
        timeout_s=ttl + 10,
        message="the key expired",
    )
    with pytest.raises(NotFound):
        memory.get(entry.id)
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


def test_conversation_turns(memory: Memory) -> None:
    for i, text in enumerate(["hi", "where did you travel?", "I went to Kyoto in May", "nice"]):
        memory.append("trip", text, role="ann" if i % 2 == 0 else "bob")
    assert [m.content for m in memory.last_messages("trip", 2)] == [
        "I went to Kyoto in May",
        "nice",
    ]
    assert len(memory.session_messages("trip")) == 4
    assert memory.session_messages("trip")[1].metadata["role"] == "bob"
    # the previous turn is indexed as context: the question finds the answer turn
    hits = memory.search("travel", mode="keyword", session_id="trip").hits
    assert "I went to Kyoto in May" in [h.entry.content for h in hits]


def test_explicit_id_conflict(memory: Memory) -> None:
    entry = memory.add("first")
    with pytest.raises(Conflict):
        memory.add("second", id=entry.id)


def test_invalid_inputs_raise_validation_error(memory: Memory) -> None:
    for bad in (
        {"content": ""},
        {"content": "x", "namespace": "bad ns!"},
        {"content": "x", "importance": 2},
        {"content": "a\x00b"},
        {"content": "x", "ttl_seconds": 1, "expires_at": "2030-01-01T00:00:00Z"},
    ):
        with pytest.raises(ValidationError):
            memory.add(bad)
    assert memory.stats().total == 0


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
