"""Invalid input never changes the store: it raises a memoryd error and nothing is written.

A store is seeded with memories, a conversation, session state and key/value
entries in two namespaces. Each invalid call must raise the expected error
from the memoryd tree (never a raw ``TypeError``/``RecursionError``/
``OverflowError``) and leave every table (rows, FTS, vectors, queue, index
log, meta, embedding cache) and the vector index exactly as they were;
the store stays consistent (``consistency_report``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from memoryd import (
    DimensionMismatch,
    IdConflict,
    Memory,
    MemorydError,
    NotFound,
    Settings,
    ValidationError,
)
from memoryd.embeddings import Embedder
from memoryd.store.maintenance import consistency_report
from memoryd.types import MAX_CONTENT_CHARS

from ._support import store_fingerprint

DIM = 384


def _nested(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    return root


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory, model_cache_dir: Path, embedder: Embedder
) -> Iterator[tuple[Memory, dict[str, str]]]:
    data_dir = tmp_path_factory.mktemp("bad-input") / "store"
    settings = Settings(data_dir=data_dir, model_cache_dir=model_cache_dir)
    memory = Memory(settings=settings, embedder=embedder, background=False)
    ids: dict[str, str] = {}
    for i in range(6):
        ns = "default" if i % 2 else "team"
        memory.add(f"seed memory {i}: Ann likes green tea and long walks", namespace=ns)
    ids["memory"] = str(memory.add("the budget meeting moved to Friday", tags=["work"]).id)
    memory.append("s1", "where is the meeting?", role="user")
    memory.append("s1", "room 4, after lunch", role="assistant")
    memory.set_state("s1", "step", {"n": 3})
    memory.kv_set("theme", "dark")
    memory.kv_set("expiring", {"a": 1}, ttl_seconds=3600)
    ids["kv"] = str(memory.kv_set("counter", 1).id)
    yield memory, ids
    memory.close()


def _cases(ids: dict[str, str]) -> dict[str, tuple[Callable[[Memory], object], type[MemorydError]]]:
    mid = ids["memory"]
    ok = {"content": "a valid item in a bad batch"}
    big = "x" * 200_000
    return {
        "vector_wrong_dim": (lambda m: m.add("v", vector=[0.1] * (DIM - 1)), DimensionMismatch),
        "vector_far_too_long": (lambda m: m.add("v", vector=[0.1] * 10_000), DimensionMismatch),
        "vector_zero": (lambda m: m.add("v", vector=[0.0] * DIM), DimensionMismatch),
        "vector_nan": (lambda m: m.add("v", vector=[float("nan")] * DIM), DimensionMismatch),
        "batch_bad_vector_in_middle": (
            lambda m: m.add_many([ok, {"content": "b", "vector": [1.0] * 7}, ok]),
            DimensionMismatch,
        ),
        "batch_blank_in_middle": (
            lambda m: m.add_many([ok, {"content": " "}, ok]),
            ValidationError,
        ),
        "content_empty": (lambda m: m.add(""), ValidationError),
        "content_blank": (lambda m: m.add(" \n\t "), ValidationError),
        "content_nul": (lambda m: m.add("nul \x00 inside"), ValidationError),
        "content_surrogate": (lambda m: m.add("lone \ud800 surrogate"), ValidationError),
        "content_too_long": (lambda m: m.add("y" * (MAX_CONTENT_CHARS + 1)), ValidationError),
        "namespace_space": (lambda m: m.add("ns", namespace="bad ns"), ValidationError),
        "namespace_empty": (lambda m: m.add("ns", namespace=""), ValidationError),
        "namespace_too_long": (lambda m: m.add("ns", namespace="n" * 129), ValidationError),
        "namespace_newline": (lambda m: m.add("ns", namespace="team\n"), ValidationError),
        "namespace_sql": (lambda m: m.add("ns", namespace="x' OR '1'='1"), ValidationError),
        "kind_unknown": (lambda m: m.add("k", kind="bogus"), ValidationError),
        "field_unknown": (lambda m: m.add("f", colour="red"), ValidationError),
        "importance_out_of_range": (lambda m: m.add("i", importance=1.5), ValidationError),
        "ttl_and_expires_at": (
            lambda m: m.add("t", ttl_seconds=5, expires_at="2030-01-01T00:00:00Z"),
            ValidationError,
        ),
        "ttl_negative": (lambda m: m.add("t", ttl_seconds=-1), ValidationError),
        "ttl_unrepresentable": (lambda m: m.add("t", ttl_seconds=1e12), ValidationError),
        "ttl_infinite": (lambda m: m.add("t", ttl_seconds=float("inf")), ValidationError),
        "tags_too_many": (lambda m: m.add("t", tags=[f"t{i}" for i in range(65)]), ValidationError),
        "tag_blank": (lambda m: m.add("t", tags=["ok", "  "]), ValidationError),
        "metadata_huge": (lambda m: m.add("h", metadata={"blob": big * 25}), ValidationError),
        "metadata_not_json": (lambda m: m.add("h", metadata={"s": {1, 2}}), ValidationError),
        "metadata_bytes": (lambda m: m.add("h", metadata={"b": b"raw"}), ValidationError),
        "metadata_nan": (lambda m: m.add("h", metadata={"x": float("nan")}), ValidationError),
        "metadata_deep": (lambda m: m.add("h", metadata=_nested(10_000)), ValidationError),
        "metadata_key_not_str": (lambda m: m.add("h", metadata={1: "a"}), ValidationError),
        "id_exists": (lambda m: m.add("dup id", id=uuid.UUID(mid)), IdConflict),
        "append_blank": (lambda m: m.append("s1", "   "), ValidationError),
        "append_bad_namespace": (lambda m: m.append("s1", "hi", namespace="a b"), ValidationError),
        "append_metadata_none": (lambda m: m.append("s1", "hi", metadata=None), ValidationError),
        "last_messages_overflow": (lambda m: m.last_messages("s1", 2**63), ValidationError),
        "kv_empty_key": (lambda m: m.kv_set("", 1), ValidationError),
        "kv_long_key": (lambda m: m.kv_set("k" * 513, 1), ValidationError),
        "kv_not_json": (lambda m: m.kv_set("new", {1, 2}), ValidationError),
        "kv_deep": (lambda m: m.kv_set("new", _nested(10_000)), ValidationError),
        "kv_ttl_zero": (lambda m: m.kv_set("new", 1, ttl_seconds=0), ValidationError),
        "kv_ttl_unrepresentable": (
            lambda m: m.kv_set("theme", 1, ttl_seconds=1e300),
            ValidationError,
        ),
        "kv_overwrite_huge": (lambda m: m.kv_set("counter", big * 25), ValidationError),
        "kv_overwrite_nan": (lambda m: m.kv_set("counter", float("nan")), ValidationError),
        "state_not_json": (lambda m: m.set_state("s1", "step", object()), ValidationError),
        "update_wrong_dim": (lambda m: m.update(mid, vector=[0.5] * 3), DimensionMismatch),
        "update_blank": (lambda m: m.update(mid, content="  "), ValidationError),
        "update_metadata_huge": (
            lambda m: m.update(mid, metadata={"b": big * 25}),
            ValidationError,
        ),
        "update_metadata_not_json": (lambda m: m.update(mid, metadata={"s": {1}}), ValidationError),
        "update_ttl_unrepresentable": (lambda m: m.update(mid, ttl_seconds=1e15), ValidationError),
        "update_tags_too_many": (
            lambda m: m.update(mid, tags=[f"t{i}" for i in range(65)]),
            ValidationError,
        ),
        "update_tag_blank": (lambda m: m.update(mid, tags=[" "]), ValidationError),
        "update_unknown_id": (lambda m: m.update(uuid.uuid4(), content="x"), NotFound),
        "update_foreign_namespace": (
            lambda m: m.update(mid, content="x", namespace="team"),
            NotFound,
        ),
        "supersede_blank": (lambda m: m.supersede(mid, "  "), ValidationError),
        "supersede_wrong_dim": (
            lambda m: m.supersede(mid, "new", vector=[1.0] * 2),
            DimensionMismatch,
        ),
        "delete_unknown": (lambda m: m.delete(uuid.uuid4()), NotFound),
        "delete_foreign_namespace": (lambda m: m.delete(mid, namespace="team"), NotFound),
        "import_bad_record": (lambda m: m.import_entries([{"id": "nope"}]), ValidationError),
        "search_bad_namespace": (lambda m: m.search("tea", namespace="a b"), ValidationError),
        "list_bad_limit": (lambda m: m.list(limit=0), ValidationError),
    }


CASE_NAMES = list(_cases({"memory": str(uuid.uuid4()), "kv": str(uuid.uuid4())}))


@pytest.mark.parametrize("case", CASE_NAMES)
def test_invalid_input_raises_and_changes_nothing(
    seeded: tuple[Memory, dict[str, str]], case: str
) -> None:
    memory, ids = seeded
    call, error = _cases(ids)[case]
    before = store_fingerprint(memory)
    with pytest.raises(error) as caught:
        call(memory)
    assert isinstance(caught.value, MemorydError)
    assert caught.value.code == error.code
    after = store_fingerprint(memory)
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"{case} changed {changed}"


def test_store_is_consistent_after_all_invalid_input(
    seeded: tuple[Memory, dict[str, str]],
) -> None:
    memory, ids = seeded
    for call, _ in _cases(ids).values():
        with pytest.raises(MemorydError):
            call(memory)
    report = consistency_report(memory.store)
    assert report["ok"], report
    assert report["rows"] == 13
    assert memory.kv_get("counter") == 1
    assert memory.get(ids["memory"]).content == "the budget meeting moved to Friday"
    assert memory.list(limit=1000).items  # every row still reads back
    assert memory.search("green tea", namespace="team").hits
