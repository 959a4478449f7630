"""Parity: conversations, session state, key/value with TTL, and the error classes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

import waits
from memoryd import (
    Client,
    Conflict,
    DimensionMismatch,
    IdConflict,
    Memory,
    MemorydError,
    NotFound,
    ValidationError,
)

Backend = Memory | Client


def test_conversation_turns(backend: Backend, ns: str) -> None:
    t0 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    for i, (role, text) in enumerate(
        [("user", "hi, I'm Ann"), ("assistant", "hello Ann"), ("user", "I like tea")]
    ):
        entry = backend.append(
            "chat-1", text, role=role, namespace=ns, created_at=t0 + timedelta(seconds=i)
        )
        assert entry.kind == "message" and entry.session_id == "chat-1"
        assert entry.metadata["role"] == role
    backend.append("chat-2", "other session", namespace=ns, metadata={"lang": "en"}, tags=["x"])
    last = backend.last_messages("chat-1", 2, namespace=ns)
    assert [m.content for m in last] == ["hello Ann", "I like tea"]
    every = backend.session_messages("chat-1", namespace=ns)
    assert [m.content for m in every] == ["hi, I'm Ann", "hello Ann", "I like tea"]
    # the previous turn is indexed as context: "I like tea" is found by the word before it
    hits = backend.search("hello", namespace=ns, mode="keyword", session_id="chat-1").hits
    assert "I like tea" in [h.entry.content for h in hits]
    other = backend.session_messages("chat-2", namespace=ns)
    assert other[0].metadata == {"lang": "en", "role": "user"} and other[0].tags == ["x"]
    assert backend.session_messages("nobody", namespace=ns) == []


def test_session_state(backend: Backend, ns: str) -> None:
    first = backend.set_state("s1", "plan", {"step": 1}, namespace=ns)
    again = backend.set_state("s1", "plan", {"step": 2, "done": ["a"]}, namespace=ns)
    assert first.id == again.id and first.kind == "state"
    assert backend.get_state("s1", "plan", namespace=ns) == {"step": 2, "done": ["a"]}
    assert backend.get_state("s2", "plan", "fallback", namespace=ns) == "fallback"
    with pytest.raises(NotFound):
        backend.get_state("s2", "plan", namespace=ns)
    backend.set_state("s1", "nothing", None, namespace=ns)
    assert backend.get_state("s1", "nothing", namespace=ns) is None
    assert backend.delete_state("s1", "plan", namespace=ns) is True
    assert backend.delete_state("s1", "plan", namespace=ns) is False
    assert backend.get_state("s1", "plan", default=None, namespace=ns) is None


def test_kv_with_ttl_and_odd_keys(backend: Backend, ns: str) -> None:
    for key in ("theme", "a/b/c", "with space", "ünïcode", "..", "q?x=1&y#z"):
        backend.kv_set(key, [key, 1], namespace=ns)
        assert backend.kv_get(key, namespace=ns) == [key, 1]
    entry = backend.kv_set("theme", "dark", namespace=ns)
    assert entry.kind == "kv" and backend.kv_get("theme", namespace=ns) == "dark"
    ttl = waits.budget(2.0)  # long enough to read it back on a loaded machine
    backend.kv_set("session-token-cache", 42, ttl_seconds=ttl, namespace=ns)
    assert backend.kv_get("session-token-cache", namespace=ns) == 42
    waits.wait_until(
        lambda: backend.kv_get("session-token-cache", None, namespace=ns) is None,
        timeout_s=ttl + 10,
        message="the key expired",
    )
    with pytest.raises(NotFound):
        backend.kv_get("session-token-cache", namespace=ns)
    assert backend.kv_get("session-token-cache", 0, namespace=ns) == 0
    assert backend.kv_delete("theme", namespace=ns) is True
    assert backend.kv_delete("theme", namespace=ns) is False
    with pytest.raises(ValidationError):
        backend.kv_set("bad-ttl", 1, ttl_seconds=-1, namespace=ns)
    with pytest.raises(ValidationError):
        backend.kv_set("", 1, namespace=ns)
    with pytest.raises(ValidationError):
        backend.kv_set("not-json", {1, 2}, namespace=ns)


def test_not_found(backend: Backend, ns: str) -> None:
    entry = backend.add("only in my namespace", namespace=ns)
    for call in (
        lambda: backend.get(uuid.uuid4(), namespace=ns),
        lambda: backend.get("not-a-uuid", namespace=ns),
        lambda: backend.get(entry.id, namespace=ns + "-other"),
        lambda: backend.delete(uuid.uuid4(), namespace=ns),
        lambda: backend.update(uuid.uuid4(), namespace=ns, importance=0.1),
        lambda: backend.supersede(uuid.uuid4(), "x", namespace=ns),
        lambda: backend.history(uuid.uuid4(), namespace=ns),
    ):
        with pytest.raises(NotFound) as info:
            call()
        assert info.value.code == "not_found"


def test_validation_errors(backend: Backend, ns: str) -> None:
    entry = backend.add("valid", namespace=ns)
    for call in (
        lambda: backend.add("", namespace=ns),
        lambda: backend.add("   ", namespace=ns),
        lambda: backend.add("nul \x00 byte", namespace=ns),
        lambda: backend.add("x", namespace="bad namespace!"),
        lambda: backend.add("x", namespace=ns, importance=3),
        lambda: backend.add("x", namespace=ns, unknown_field=1),
        lambda: backend.add("x", namespace=ns, tags=["\ud800"]),  # a lone surrogate
        lambda: backend.update(entry.id, namespace=ns, tags=["ok", "\udfff"]),
        lambda: backend.add("x", namespace=ns, ttl_seconds=5, expires_at=datetime.now(UTC)),
        lambda: backend.update(entry.id, namespace=ns, importance=-1),
        lambda: backend.list(namespace=ns, limit=0),
        lambda: backend.list(namespace=ns, cursor="garbage"),
        lambda: backend.list(namespace=ns, filter={"field": "x", "op": "between"}),
        lambda: backend.search("", namespace=ns),
        lambda: backend.search("q", namespace=ns, limit=0),
        lambda: backend.search("q", namespace=ns, mode="telepathy"),
        lambda: backend.search("q", namespace=ns, filter={"field": "a b"}),
        lambda: backend.import_entries([{"content": "no id"}]),
    ):
        with pytest.raises(ValidationError):
            call()
    assert [e.id for e in backend.list(namespace=ns).items] == [entry.id]


def test_dimension_mismatch_and_conflict(backend: Backend, ns: str) -> None:
    with pytest.raises(DimensionMismatch) as info:
        backend.add("with a short vector", namespace=ns, vector=[0.1, 0.2, 0.3])
    assert info.value.code == "dimension_mismatch" and isinstance(info.value, Conflict)
    good = backend.add("with a real vector", namespace=ns, vector=[0.05] * 384)
    assert good.dim == 384
    with pytest.raises(DimensionMismatch):
        backend.update(good.id, namespace=ns, vector=[1.0] * 10)
    old = backend.add("v1", namespace=ns)
    backend.supersede(old.id, "v2", namespace=ns)
    with pytest.raises(Conflict) as conflict:
        backend.supersede(old.id, "v3", namespace=ns)
    assert conflict.value.code == "conflict"
    taken = backend.add("has an id", namespace=ns, id=uuid.uuid4())
    with pytest.raises(IdConflict) as id_conflict:
        backend.add("reuses the id", namespace=ns, id=taken.id)
    assert id_conflict.value.code == "id_conflict" and isinstance(id_conflict.value, Conflict)
    assert id_conflict.value.details == {"id": str(taken.id), "namespace": ns}
    # ids are unique per namespace: the same id elsewhere is another entry
    other = backend.add("same id, other namespace", namespace=f"{ns}-b", id=taken.id)
    assert other.id == taken.id and backend.get(taken.id, namespace=ns).content == "has an id"


def test_errors_carry_code_and_message(backend: Backend, ns: str) -> None:
    missing = uuid.uuid4()
    with pytest.raises(MemorydError) as info:
        backend.get(missing, namespace=ns)
    assert info.value.code == "not_found" and str(missing) in info.value.message
    assert info.value.details.get("namespace") == ns


def test_kv_and_state_keys_never_touch_an_entry_holding_their_id(backend: Backend, ns: str) -> None:
    from memoryd.ids import deterministic_id

    planted = backend.add("precious", namespace=ns, id=deterministic_id(ns, "kv", "samens"))
    with pytest.raises(IdConflict) as info:
        backend.kv_set("samens", 1, namespace=ns)
    assert info.value.code == "id_conflict"
    assert info.value.details == {"id": str(planted.id), "namespace": ns}
    assert backend.kv_get("samens", "unset", namespace=ns) == "unset"
    assert backend.kv_delete("samens", namespace=ns) is False
    state_id = deterministic_id(ns, "state", "s1/mode")
    backend.add("also precious", namespace=ns, id=state_id)
    with pytest.raises(IdConflict):
        backend.set_state("s1", "mode", "fast", namespace=ns)
    assert backend.get_state("s1", "mode", None, namespace=ns) is None
    assert backend.get(planted.id, namespace=ns).content == "precious"
    assert backend.get(state_id, namespace=ns).kind == "memory"
    # a foreign namespace's entry with the victim's key id blocks nothing
    victim = f"{ns}-victim"
    backend.add("attacker", namespace=f"{ns}-attacker", id=deterministic_id(victim, "kv", "t"))
    assert backend.kv_set("t", "dark", namespace=victim).namespace == victim
    assert backend.kv_get("t", namespace=victim) == "dark"
