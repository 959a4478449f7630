"""Deleting purges what only the row used; ``forget`` erases a subject from every file.

Real store files on disk: the checks read the raw bytes of ``memoryd.db``,
its ``-wal`` and the vector-index checkpoint for the deleted text, its
SHA-256 and its vector (float32 and float16).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from memoryd import Memory, Settings
from memoryd.errors import NotFound, ValidationError

SECRET = "Zorblax quintessence ledger 7731 belongs to Ann"


def _ok(tool: str) -> dict[str, Any]:
    return {"tool": tool, "action": "do it", "result": {"status": "success", "output": "ok"}}


@pytest.fixture
def quiet(tmp_path: Path, model_cache_dir: Path, embedder: Any) -> Iterator[Memory]:
    """A store without background threads: the test runs the erasure pass itself."""
    memory = Memory(
        Settings(data_dir=tmp_path / "data", model_cache_dir=model_cache_dir),
        embedder=embedder,
        background=False,
    )
    memory.store.keywords.start(background=False)
    yield memory
    memory.close()


def _store_bytes(memory: Memory) -> bytes:
    data_dir = memory.settings.data_dir
    files = [data_dir / "memoryd.db", data_dir / "memoryd.db-wal"]
    files += sorted((data_dir / "index").glob("*.usearch"))
    return b"".join(p.read_bytes() for p in files if p.exists())


def _traces(memory: Memory, text: str, vector: np.ndarray) -> list[str]:
    """Which copies of ``text`` (and its vector) the store's files still hold."""
    raw = _store_bytes(memory)
    found = []
    if text.encode() in raw:
        found.append("text")
    if hashlib.sha256(text.encode()).hexdigest().encode() in raw:
        found.append("sha256")
    if vector.astype("<f4").tobytes() in raw:
        found.append("float32 vector")
    if vector.astype("<f2").tobytes() in raw:
        found.append("float16 vector")
    return found


def _cached(memory: Memory, text: str) -> int:
    digest = hashlib.sha256(text.encode()).hexdigest()
    row = (
        memory.store.pool.reader()
        .execute("SELECT count(*) FROM embedding_cache WHERE text_hash = ?", (digest,))
        .fetchone()
    )
    return int(row[0])


def test_delete_purges_the_cached_vector_only_when_no_other_entry_uses_it(
    quiet: Memory,
) -> None:
    first = quiet.add("Ann drinks green tea", namespace="a")
    second = quiet.add("Ann drinks green tea", namespace="b")
    assert _cached(quiet, "Ann drinks green tea") == 1
    quiet.delete(first.id, namespace="a")
    assert _cached(quiet, "Ann drinks green tea") == 1  # "b" still uses it
    quiet.delete(second.id, namespace="b")
    assert _cached(quiet, "Ann drinks green tea") == 0


def test_update_purges_the_old_texts_cached_vector(quiet: Memory) -> None:
    entry = quiet.add("Ann drinks green tea")
    quiet.update(entry.id, content="Ann drinks black coffee")
    assert _cached(quiet, "Ann drinks green tea") == 0
    assert _cached(quiet, "Ann drinks black coffee") == 1


@pytest.mark.parametrize("keyword_index", ["memory", "fts5"])
def test_a_deleted_turn_leaves_no_copy_in_the_next_turns_context(
    tmp_path: Path, model_cache_dir: Path, embedder: Any, keyword_index: str
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", model_cache_dir=model_cache_dir, keyword_index=keyword_index
    )
    with Memory(settings, embedder=embedder, background=False) as memory:
        if keyword_index == "memory":
            memory.store.keywords.start(background=False)
        memory.append("s1", "Where did you go last summer?", role="bob")
        middle = memory.append("s1", SECRET, role="ann")
        last = memory.append("s1", "That sounds like a great trip", role="bob")
        before = memory.search("Zorblax", mode="keyword", limit=5).hits
        assert {h.entry.id for h in before} == {middle.id, last.id}  # last carries it as context
        memory.delete(middle.id)
        assert memory.search("Zorblax quintessence", mode="keyword", limit=5).hits == []
        context = (
            memory.store.pool.reader()
            .execute(
                "SELECT f.context FROM memories_fts f JOIN memories m ON m.rowid = f.rowid "
                "WHERE m.id = ?",
                (str(last.id),),
            )
            .fetchone()[0]
        )
        assert context == "Where did you go last summer?"
        assert memory.search("last summer", mode="keyword", limit=5).hits[0].entry.id in {
            last.id,
            memory.last_messages("s1")[0].id,
        }


def test_the_erasure_pass_removes_a_deleted_entrys_copies_from_every_file(
    quiet: Memory,
) -> None:
    for i in range(40):
        quiet.add(f"filler memory number {i} about gardening and tools")
    secret = quiet.add(SECRET)
    vector = quiet.embedder.embed([SECRET])[0]
    quiet.store.vectors.checkpoint()  # the secret's vector is now in the index file too
    assert _traces(quiet, SECRET, vector) != []
    quiet.delete(secret.id)
    assert quiet.store.erasure.pending()
    assert quiet.workers.erase() == 1
    assert not quiet.store.erasure.pending()
    assert quiet.workers.erase() == 0  # nothing new to erase
    assert _traces(quiet, SECRET, vector) == []
    assert len(quiet.search("gardening tools", limit=50).hits) == 40


def _learn(memory: Memory, namespace: str, agent: str, task: str) -> str:
    ep = memory.start_episode(task, domain="web", namespace=namespace, agent_id=agent)
    memory.log_steps(ep.id, [_ok("run_tests"), _ok("edit_file")], namespace=namespace)
    memory.complete_episode(ep.id, {"type": "success", "verdict": "ok"}, namespace=namespace)
    return str(ep.id)


def _fill(memory: Memory, namespace: str, agent: str) -> None:
    memory.add(f"{namespace} fact for {agent}", namespace=namespace, agent_id=agent, user_id="ann")
    memory.append("chat", f"{namespace} hello from {agent}", namespace=namespace, agent_id=agent)
    memory.kv_set("theme", "dark", namespace=namespace)
    memory.set_state("chat", "step", 3, namespace=namespace)
    _learn(memory, namespace, agent, f"Fix the login test in {namespace}")


def test_forget_a_namespace_removes_every_kind_and_nothing_else(quiet: Memory) -> None:
    _fill(quiet, "victim", "bot")
    _fill(quiet, "other", "bot")
    quiet.extract_patterns()
    assert quiet.list_patterns(namespace="victim")
    result = quiet.forget(namespace="victim")
    assert result.memories == {"memory": 1, "message": 1, "kv": 1, "state": 1}
    assert (result.episodes, result.steps) == (1, 2)
    assert result.patterns_deleted >= 1 and result.erased
    assert quiet.list(namespace="victim").items == []
    assert quiet.list_episodes(namespace="victim").items == []
    assert quiet.list_patterns(namespace="victim", include_archived=True) == []
    with pytest.raises(NotFound):
        quiet.kv_get("theme", namespace="victim")
    assert quiet.kv_get("theme", namespace="other") == "dark"
    assert len(quiet.list(namespace="other").items) == 4
    assert quiet.list_patterns(namespace="other")
    assert "victim" not in quiet.stats().by_namespace


def test_forget_an_agent_keeps_patterns_that_other_agents_taught(quiet: Memory) -> None:
    _learn(quiet, "team", "alice", "Fix the failing login test")
    _learn(quiet, "team", "bob", "Fix the failing signup test")
    quiet.add("alice's note", namespace="team", agent_id="alice")
    quiet.add("bob's note", namespace="team", agent_id="bob")
    quiet.extract_patterns()
    shared = {p.id: p.occurrences for p in quiet.list_patterns(namespace="team")}
    assert any(n == 2 for n in shared.values())
    result = quiet.forget(agent_id="alice")
    assert result.memories == {"memory": 1} and result.episodes == 1
    assert result.patterns_updated >= 1
    left = quiet.list_patterns(namespace="team")
    assert left and all(p.occurrences == 1 for p in left)
    assert [e.content for e in quiet.list(namespace="team").items] == ["bob's note"]
    episodes = quiet.list_episodes(namespace="team").items
    assert [e.agent_id for e in episodes] == ["bob"]


def test_forget_a_user_across_namespaces_rewrites_the_next_turns_context(quiet: Memory) -> None:
    quiet.append("s", "What is your secret?", role="bot", namespace="a")
    quiet.append("s", SECRET, role="ann", namespace="a", user_id="ann")
    quiet.append("s", "Thanks for telling me", role="bot", namespace="a")
    quiet.add("Ann likes tea", namespace="b", user_id="ann")
    quiet.add("Bob likes coffee", namespace="b", user_id="bob")
    vector = quiet.embedder.embed([SECRET])[0]
    result = quiet.forget(user_id="ann")
    assert result.memories == {"message": 1, "memory": 1} and result.erased
    assert quiet.search("Zorblax quintessence", namespace="a", mode="keyword").hits == []
    assert [e.content for e in quiet.list(namespace="b").items] == ["Bob likes coffee"]
    assert len(quiet.list(namespace="a").items) == 2
    assert _traces(quiet, SECRET, vector) == []


def test_forget_needs_a_valid_scope(quiet: Memory) -> None:
    quiet.add("keep me")
    with pytest.raises(ValidationError):
        quiet.forget()
    with pytest.raises(ValidationError):
        quiet.forget(namespace="bad namespace!")
    assert len(quiet.list().items) == 1
