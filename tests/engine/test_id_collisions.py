"""Caller-supplied ids (issue 11, defect 4): a write never changes, blocks or reveals
a row of another namespace or of another kind; a collision in one namespace is 409
``id_conflict``. Real store, real embedding model.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable

import pytest

from memoryd import Conflict, IdConflict, Memory, NotFound
from memoryd.ids import deterministic_id
from memoryd.records import record_from_entry


def _raw(memory: Memory, entry_id: object) -> list[tuple[str, str, str]]:
    """Every stored row with this id, whatever its namespace: (namespace, kind, content)."""
    return [
        (r[0], r[1], r[2])
        for r in memory.store.pool.reader().execute(
            "SELECT namespace, kind, content FROM memories WHERE id = ? ORDER BY namespace",
            (str(entry_id),),
        )
    ]


def test_kv_set_never_overwrites_a_memory_holding_its_id(memory: Memory) -> None:
    kv_id = deterministic_id("default", "kv", "samens")
    planted = memory.add("precious memory", id=kv_id)
    with pytest.raises(IdConflict) as info:
        memory.kv_set("samens", 1)
    assert info.value.code == "id_conflict" and info.value.http_status == 409
    assert info.value.details == {"id": str(kv_id), "namespace": "default"}
    # the memory is untouched, and the key does not read, or delete, it
    assert memory.get(planted.id).content == "precious memory"
    assert memory.get(planted.id).kind == "memory"
    with pytest.raises(NotFound) as missing:
        memory.kv_get("samens")
    never = deterministic_id("default", "kv", "never-set")
    with pytest.raises(NotFound) as unused:
        memory.kv_get("never-set")
    assert missing.value.message == unused.value.message.replace(str(never), str(kv_id))
    assert memory.kv_get("samens", "fallback") == "fallback"
    assert memory.kv_delete("samens") is False
    assert _raw(memory, kv_id) == [("default", "memory", "precious memory")]


def test_state_set_never_overwrites_a_memory_holding_its_id(memory: Memory) -> None:
    state_id = deterministic_id("default", "state", "s1/mode")
    memory.add("kept", id=state_id, kind="chunk")
    with pytest.raises(IdConflict):
        memory.set_state("s1", "mode", "fast")
    assert memory.get_state("s1", "mode", None) is None
    assert memory.delete_state("s1", "mode") is False
    assert _raw(memory, state_id) == [("default", "chunk", "kept")]


def test_an_id_of_another_namespace_never_blocks_a_key(memory: Memory) -> None:
    victim_id = deterministic_id("victim", "kv", "theme")
    memory.add("attacker's entry", id=victim_id, namespace="attacker")
    saved = memory.kv_set("theme", "dark", namespace="victim")
    assert saved.id == victim_id and memory.kv_get("theme", namespace="victim") == "dark"
    memory.kv_set("theme", "light", namespace="victim")
    assert memory.get(victim_id, namespace="attacker").content == "attacker's entry"
    assert memory.kv_delete("theme", namespace="victim") is True
    assert _raw(memory, victim_id) == [("attacker", "memory", "attacker's entry")]


def test_one_id_in_two_namespaces_is_two_entries(memory: Memory) -> None:
    shared = uuid.uuid4()
    a = memory.add("tenant a note", id=shared, namespace="a")
    b = memory.add("tenant b note", id=shared, namespace="b", tags=["b"])
    assert a.id == b.id == shared
    memory.update(shared, namespace="b", content="tenant b changed")
    assert memory.get(shared, namespace="a").content == "tenant a note"
    successor = uuid.uuid4()
    memory.supersede(shared, {"content": "tenant a v2", "id": successor}, namespace="a")
    memory.add("tenant b successor id", id=successor, namespace="b")
    assert [e.content for e in memory.history(shared, namespace="a")] == [
        "tenant a note",
        "tenant a v2",
    ]
    assert [e.content for e in memory.history(shared, namespace="b")] == ["tenant b changed"]
    # deleting a's successor makes a's entry current again, and touches nothing of b
    memory.delete(successor, namespace="a")
    assert memory.get(shared, namespace="a").superseded_by is None
    assert memory.get(successor, namespace="b").content == "tenant b successor id"
    memory.delete(shared, namespace="b")
    assert memory.get(shared, namespace="a").content == "tenant a note"
    assert memory.list(namespace="b").items[0].id == successor


def test_supersede_link_stays_in_its_namespace(memory: Memory) -> None:
    old_id, new_id = uuid.uuid4(), uuid.uuid4()
    memory.add("b old", id=old_id, namespace="b")
    memory.add("b new", id=new_id, namespace="b")
    memory.add("a old", id=old_id, namespace="a")
    memory.supersede(old_id, {"content": "a new", "id": new_id}, namespace="a")
    assert memory.get(old_id, namespace="b").superseded_by is None
    assert memory.get(old_id, namespace="a").superseded_by == new_id
    memory.delete(new_id, namespace="b")
    assert memory.get(old_id, namespace="a").superseded_by == new_id


def test_id_conflict_in_a_namespace_says_nothing_of_others(memory: Memory) -> None:
    taken, elsewhere = uuid.uuid4(), uuid.uuid4()
    memory.add("mine", id=taken, namespace="mine")
    memory.add("theirs", id=elsewhere, namespace="theirs")
    with pytest.raises(IdConflict) as info:
        memory.add("again", id=taken, namespace="mine")
    assert isinstance(info.value, Conflict)
    assert info.value.details == {"id": str(taken), "namespace": "mine"}
    assert "theirs" not in info.value.message
    # an id used only elsewhere is free here
    assert memory.add("free here", id=elsewhere, namespace="mine").namespace == "mine"
    # retrying an add with its own id and content answers the stored entry
    assert memory.add("mine", id=taken, namespace="mine").id == taken


def test_supersede_with_a_taken_id_changes_nothing(memory: Memory) -> None:
    old = memory.add("old fact", namespace="n")
    other = memory.add("other fact", namespace="n")
    with pytest.raises(IdConflict):
        memory.supersede(old.id, {"content": "new fact", "id": other.id}, namespace="n")
    assert memory.get(old.id, namespace="n").superseded_by is None
    assert memory.get(other.id, namespace="n").content == "other fact"


def test_an_expired_row_frees_its_id(memory: Memory) -> None:
    held = uuid.uuid4()
    memory.add("short lived", id=held, ttl_seconds=1)
    deadline = time.monotonic() + 30
    while True:
        try:
            memory.get(held)
        except NotFound:
            break
        assert time.monotonic() < deadline, "the entry never expired"
        time.sleep(0.2)
    assert memory.add("reuses the id", id=held).content == "reuses the id"
    assert _raw(memory, held) == [("default", "memory", "reuses the id")]


def test_import_skips_only_ids_of_the_same_namespace(memory: Memory) -> None:
    shared = uuid.uuid4()
    memory.add("source entry", id=shared, namespace="src")
    old = memory.add("src v1", namespace="src")
    memory.supersede(old.id, "src v2", namespace="src")
    exported = list(memory.export(namespace="src"))
    assert memory.import_entries(exported) == 0
    moved = [e.model_copy(update={"namespace": "dst"}) for e in exported]
    memory.add("dst entry with the same id", id=shared, namespace="dst")
    assert memory.import_entries(moved) == len(moved) - 1
    assert memory.get(shared, namespace="dst").content == "dst entry with the same id"
    assert [e.content for e in memory.history(old.id, namespace="dst")] == ["src v1", "src v2"]
    assert [e.content for e in memory.history(old.id, namespace="src")] == ["src v1", "src v2"]


def _race(calls: int, call: Callable[[int], object]) -> list[object]:
    """Run ``call(0..calls-1)`` in threads released together; each outcome or its exception."""
    barrier = threading.Barrier(calls)
    outcomes: list[object] = [None] * calls

    def run(n: int) -> None:
        barrier.wait()
        try:
            outcomes[n] = call(n)
        except BaseException as exc:  # noqa: BLE001 - returned to the test, which asserts on it
            outcomes[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_kv_sets_of_one_key_all_succeed(memory: Memory) -> None:
    for attempt in range(10):
        key = f"k{attempt}"
        outcomes = _race(4, lambda n, key=key: memory.kv_set(key, n))  # type: ignore[misc]
        assert [o for o in outcomes if isinstance(o, BaseException)] == []
        assert memory.kv_get(key) in range(4)


def test_concurrent_supersedes_of_one_entry_give_one_successor(memory: Memory) -> None:
    for attempt in range(10):
        old = memory.add(f"fact version one, try {attempt}")
        outcomes = _race(
            3,
            lambda n, old=old, attempt=attempt: memory.supersede(  # type: ignore[misc]
                old.id, f"successor {n} of try {attempt}"
            ),
        )
        codes = sorted(o.code if isinstance(o, Conflict) else type(o).__name__ for o in outcomes)
        assert codes == ["MemoryEntry", "conflict", "conflict"]
        assert len(memory.history(old.id)) == 2


def test_a_constraint_failure_is_a_409_without_the_path(memory: Memory) -> None:
    entry = memory.add("an entry")
    insert = (
        "INSERT INTO memories(id, namespace, kind, content, content_hash, created_at, "
        "updated_at, text_hash) VALUES (?, 'default', 'memory', 'x', 'h', 0, 0, 'h')"
    )
    with pytest.raises(IdConflict) as info, memory.store.pool.write() as conn:
        conn.execute(insert, (str(entry.id),))
    assert info.value.http_status == 409
    assert isinstance(info.value.__cause__, sqlite3.IntegrityError)
    with pytest.raises(Conflict) as other, memory.store.pool.write() as conn:
        conn.execute("INSERT INTO meta VALUES ('dim', NULL)")
    assert type(other.value) is Conflict and other.value.code == "conflict"
    for error in (info.value, other.value):
        assert str(memory.settings.data_dir) not in f"{error.message} {error.details}"
    assert _raw(memory, entry.id) == [("default", "memory", "an entry")]


def test_a_reused_rowid_never_writes_another_namespaces_entry(memory: Memory) -> None:
    """A writer that read a row, then lost it to a delete, never touches the row that
    reuses its rowid (SQLite reuses the largest rowid once it is freed)."""
    mine = memory.add("mine, about to be deleted", namespace="a")
    rowid = int(memory.store.get_row(str(mine.id), "a", time.time())["rowid"])
    memory.delete(mine.id, namespace="a")
    theirs = memory.add("theirs", namespace="b", metadata={"owner": "b"})
    assert int(memory.store.get_row(str(theirs.id), "b", time.time())["rowid"]) == rowid
    with pytest.raises(NotFound):
        memory.store.writes.update_fields(rowid, namespace="a", id=str(mine.id), metadata='{"x":1}')
    stale = memory.store.fetch([rowid])[rowid].model_copy(update={"namespace": "a", "id": mine.id})
    with pytest.raises(NotFound):
        memory.store.writes.replace(rowid, record_from_entry(stale, content="overwritten"))
    kept = memory.get(theirs.id, namespace="b")
    assert (kept.content, kept.metadata) == ("theirs", {"owner": "b"})
    assert memory.store.writes.delete_entry("a", str(mine.id)) is False
    assert memory.get(theirs.id, namespace="b").content == "theirs"
