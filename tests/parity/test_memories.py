"""Parity: memory CRUD, dedup, paging, supersede/history, export/import.

Every test runs twice, against ``Memory`` and against ``Client`` + a real
daemon, with the same assertions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from memoryd import Client, Memory, MemoryEntry, MemoryInput, MemoryPatch
from memoryd.errors import NotFound, ValidationError

Backend = Memory | Client
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_add_get_roundtrip(backend: Backend, ns: str) -> None:
    entry = backend.add(
        "Ann prefers green tea",
        namespace=ns,
        tags=["prefs", "prefs"],
        metadata={"speaker": "Ann", "n": 1},
        importance=0.9,
        agent_id="agent-1",
    )
    assert entry.namespace == ns and entry.kind == "memory"
    assert entry.tags == ["prefs"] and entry.metadata == {"speaker": "Ann", "n": 1}
    assert entry.embedding_model == "all-MiniLM-L6-v2" and entry.dim == 384
    got = backend.get(entry.id, namespace=ns)
    assert got == entry
    assert backend.get(str(entry.id), namespace=ns) == entry


def test_add_accepts_model_and_dict(backend: Backend, ns: str) -> None:
    a = backend.add(MemoryInput(content="from a model", namespace=ns, tags=["m"]))
    b = backend.add({"content": "from a dict", "namespace": ns, "importance": 0.2})
    assert a.tags == ["m"] and b.importance == 0.2
    assert {a.namespace, b.namespace} == {ns}


def test_dedup_by_content_hash(backend: Backend, ns: str) -> None:
    a = backend.add("the sky is blue", namespace=ns)
    b = backend.add("  the sky is blue ", namespace=ns)
    c = backend.add("the sky is blue", namespace=f"{ns}-other")
    assert a.id == b.id != c.id  # the same text in another namespace is another entry
    many = backend.add_many(
        [
            {"content": "x y", "namespace": ns},
            {"content": "x y", "namespace": ns},
            MemoryInput(content="z", namespace=ns),
        ]
    )
    assert len(many) == 3 and many[0].id == many[1].id != many[2].id
    # conversation turns repeat legitimately and are not deduplicated
    assert backend.append("s", "ok", namespace=ns).id != backend.append("s", "ok", namespace=ns).id


def test_add_many_small_batches_keep_order(backend: Backend, ns: str) -> None:
    items = [{"content": f"fact number {i}", "namespace": ns} for i in range(7)]
    entries = backend.add_many(items, batch_size=3)
    assert [e.content for e in entries] == [f"fact number {i}" for i in range(7)]


def test_update_in_place(backend: Backend, ns: str) -> None:
    entry = backend.add("meeting on monday", namespace=ns, ttl_seconds=3600)
    assert entry.expires_at is not None
    updated = backend.update(
        entry.id, namespace=ns, content="meeting moved to thursday", tags=["work"]
    )
    assert updated.id == entry.id and updated.tags == ["work"]
    assert updated.content_hash != entry.content_hash
    again = backend.update(entry.id, MemoryPatch(importance=0.8), namespace=ns)
    assert again.importance == 0.8 and again.tags == ["work"]
    cleared = backend.update(entry.id, {"expires_at": None}, namespace=ns)
    assert cleared.expires_at is None and cleared.importance == 0.8
    unchanged = backend.update(entry.id, namespace=ns)
    assert unchanged == cleared
    # new content is re-embedded and re-indexed: found by its new words only
    hit = backend.search("thursday meeting", namespace=ns, mode="vector", limit=1).hits[0]
    assert hit.entry.id == entry.id
    assert backend.search("monday", namespace=ns, mode="keyword").hits == []


def test_delete(backend: Backend, ns: str) -> None:
    entry = backend.add("temporary", namespace=ns)
    assert backend.delete(entry.id, namespace=ns) is None
    assert backend.list(namespace=ns).items == []
    with pytest.raises(NotFound):
        backend.get(entry.id, namespace=ns)
    with pytest.raises(NotFound):
        backend.delete(entry.id, namespace=ns)
    assert backend.search("temporary", namespace=ns).hits == []


def test_namespace_isolation(backend: Backend, ns: str) -> None:
    a, b = f"{ns}-a", f"{ns}-b"
    secret = backend.add("tenant A secret plan", namespace=a)
    backend.add("tenant B public note", namespace=b)
    with pytest.raises(NotFound):
        backend.get(secret.id, namespace=b)
    with pytest.raises(NotFound):
        backend.delete(secret.id, namespace=b)
    hits = backend.search("secret plan", namespace=b).hits
    assert hits and all(h.entry.namespace == b for h in hits)
    assert secret.id not in [e.id for e in backend.list(namespace=b).items]
    assert backend.get(secret.id, namespace=a).content == "tenant A secret plan"


def test_list_paging_and_filters(backend: Backend, ns: str) -> None:
    for i in range(7):
        backend.add(
            f"note {i}",
            namespace=ns,
            created_at=T0 + timedelta(days=i),
            tags=["even"] if i % 2 == 0 else ["odd"],
            metadata={"n": i},
            session_id="s1" if i < 3 else "s2",
        )
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        page = backend.list(namespace=ns, limit=3, cursor=cursor)
        seen.extend(e.content for e in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"note {i}" for i in reversed(range(7))]
    assert [e.content for e in backend.list(namespace=ns, tags=["odd"]).items] == [
        "note 5",
        "note 3",
        "note 1",
    ]
    assert len(backend.list(namespace=ns, session_id="s1").items) == 3
    flt = {"and": [{"field": "n", "op": "gte", "value": 2}, {"field": "n", "op": "lt", "value": 4}]}
    assert [e.content for e in backend.list(namespace=ns, filter=flt).items] == ["note 3", "note 2"]
    assert backend.list(namespace=ns, kinds=["message"]).items == []
    assert len(backend.list(namespace=ns, kinds=["memory"], limit=1000).items) == 7


def test_supersede_and_history(backend: Backend, ns: str) -> None:
    old = backend.add(
        "Ann lives in Paris", namespace=ns, tags=["home"], metadata={"who": "Ann"}, importance=0.7
    )
    new = backend.supersede(old.id, "Ann lives in Berlin", namespace=ns)
    assert new.supersedes == old.id and new.tags == ["home"]
    assert new.metadata == {"who": "Ann"} and new.importance == 0.7
    assert backend.get(old.id, namespace=ns).superseded_by == new.id
    newest = backend.supersede(new.id, "Ann lives in Rome", namespace=ns, tags=["moved"])
    assert newest.tags == ["moved"]
    chain = backend.history(new.id, namespace=ns)
    assert [e.content for e in chain] == [
        "Ann lives in Paris",
        "Ann lives in Berlin",
        "Ann lives in Rome",
    ]
    assert [e.content for e in backend.list(namespace=ns).items] == ["Ann lives in Rome"]
    assert len(backend.list(namespace=ns, include_superseded=True).items) == 3
    hits = backend.search("where does Ann live", namespace=ns).hits
    assert [h.entry.id for h in hits] == [newest.id]
    with_history = backend.search("where does Ann live", namespace=ns, include_superseded=True)
    assert old.id in [h.entry.id for h in with_history.hits]
    backend.delete(newest.id, namespace=ns)  # deleting the successor: its predecessor is current
    assert backend.get(new.id, namespace=ns).superseded_by is None
    assert [e.content for e in backend.list(namespace=ns).items] == ["Ann lives in Berlin"]


def test_supersede_with_input_model(backend: Backend, ns: str) -> None:
    old = backend.add("the build uses make", namespace=ns, tags=["build"])
    new = backend.supersede(old.id, MemoryInput(content="the build uses ninja"), namespace=ns)
    assert new.content == "the build uses ninja" and new.tags == ["build"]
    assert new.namespace == ns and new.supersedes == old.id


def test_export_import_roundtrip(backend: Backend, ns: str) -> None:
    a = backend.add("exported fact", namespace=ns, metadata={"k": [1, 2]}, tags=["t"])
    b = backend.supersede(a.id, "exported fact, revised", namespace=ns)
    backend.kv_set("theme", {"dark": True}, namespace=ns)
    exported = list(backend.export(namespace=ns))
    assert len(exported) == 3
    assert all(e.vector is not None and len(e.vector) == 384 for e in exported)
    assert backend.import_entries(exported) == 0  # every id exists already
    backend.delete(b.id, namespace=ns)
    backend.delete(a.id, namespace=ns)
    as_dicts = [e.model_dump(mode="json") for e in exported]
    assert backend.import_entries(as_dicts, batch=1) == 2
    chain = backend.history(a.id, namespace=ns)
    assert [e.id for e in chain] == [a.id, b.id]
    restored = backend.get(a.id, namespace=ns)
    assert restored.metadata == {"k": [1, 2]} and restored.created_at == a.created_at
    again = {e.id: e for e in backend.export(namespace=ns)}
    for entry in exported:
        assert again[entry.id].vector == entry.vector
    assert backend.kv_get("theme", namespace=ns) == {"dark": True}


def test_stats(backend: Backend, ns: str) -> None:
    backend.add_many([{"content": f"stat {i}", "namespace": ns} for i in range(3)])
    backend.append("s", "hello", namespace=ns)
    stats = backend.stats()
    assert stats.by_namespace[ns] == 4
    assert stats.dim == 384 and stats.embedding_model == "all-MiniLM-L6-v2"
    assert stats.total >= 4 and stats.index_ready


def test_entries_equal_between_backends(memory_backend: Memory, client_backend: Client) -> None:
    """The same write through both faces stores the same record (ids aside)."""
    kwargs = {
        "namespace": "congruence",
        "tags": ["a", "b"],
        "metadata": {"nested": {"x": 1.5}, "list": ["q"]},
        "importance": 0.25,
        "created_at": T0,
        "session_id": "s",
        "user_id": "u",
    }
    here = memory_backend.add("congruent content", **kwargs)
    there = client_backend.add("congruent content", **kwargs)
    skip = {"id", "updated_at"}
    assert here.model_dump(exclude=skip) == there.model_dump(exclude=skip)
    assert isinstance(there, MemoryEntry)


def test_forget_erases_the_subject_and_reports_counts(backend: Backend, ns: str) -> None:
    backend.add("Ann likes green tea", namespace=ns, user_id="ann")
    backend.append("chat", "Hi, I am Ann", namespace=ns, user_id="ann")
    backend.add("Bob likes coffee", namespace=ns, user_id="bob")
    backend.kv_set("theme", "dark", namespace=ns)
    result = backend.forget(namespace=ns, user_id="ann")
    assert result.memories == {"memory": 1, "message": 1}
    assert result.scope.user_id == "ann" and result.total == 2
    assert sorted(e.content for e in backend.list(namespace=ns).items) == [
        "Bob likes coffee",
        'theme: "dark"',
    ]
    whole = backend.forget(namespace=ns)
    assert whole.memories == {"memory": 1, "kv": 1} and whole.erased
    assert backend.list(namespace=ns).items == []
    with pytest.raises(ValidationError) as info:
        backend.forget()
    assert info.value.code == "validation_error"
