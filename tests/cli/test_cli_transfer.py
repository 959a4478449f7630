"""export -> import into a fresh store is lossless; JSONL inputs and LoCoMo files import."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from typer.testing import Result

from memoryd import Memory, Settings
from memoryd.embeddings import Embedder

Invoke = Callable[..., Result]


def _seed(data_dir: Path, model_cache_dir: Path, embedder: Embedder) -> None:
    settings = Settings(data_dir=data_dir, model_cache_dir=model_cache_dir)
    with Memory(settings, embedder=embedder, background=False) as memory:
        old = memory.add("the office is on floor 3", tags=["office"], metadata={"v": 1})
        memory.supersede(old.id, "the office moved to floor 5")
        memory.add("temporary pass code 4411", ttl_seconds=3600, importance=0.8)
        memory.add("a vector given by the caller", vector=[0.5] * 384, namespace="vec")
        born = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
        memory.add_many(
            [
                {
                    "content": "Ann: I adopted a zebra",
                    "kind": "message",
                    "session_id": "s1",
                    "created_at": born,
                    "metadata": {"dia_id": "D1:1"},
                },
                {
                    "content": "Bob: what is its name?",
                    "kind": "message",
                    "session_id": "s1",
                    "created_at": born.replace(second=1),
                    "metadata": {"dia_id": "D1:2"},
                },
            ]
        )
        memory.set_state("s1", "step", {"n": 2})
        memory.kv_set("theme", "dark")


def _dump(data_dir: Path, model_cache_dir: Path, embedder: Embedder) -> list[dict[str, Any]]:
    settings = Settings(data_dir=data_dir, model_cache_dir=model_cache_dir)
    with Memory(settings, embedder=embedder, background=False) as memory:
        return [entry.model_dump(mode="json") for entry in memory.export()]


def _keyword_hits(data_dir: Path, model_cache_dir: Path, embedder: Embedder) -> list[str]:
    settings = Settings(data_dir=data_dir, model_cache_dir=model_cache_dir)
    with Memory(settings, embedder=embedder, background=False) as memory:
        hits = memory.search("zebra", mode="keyword").hits
        return [f"{hit.entry.id}:{hit.score:.6f}" for hit in hits]


def test_export_import_round_trip_is_lossless(
    cli: Invoke, data_dir: Path, tmp_path: Path, model_cache_dir: Path, embedder: Embedder
) -> None:
    _seed(data_dir, model_cache_dir, embedder)
    out = tmp_path / "export.jsonl"
    assert json.loads(cli("-f", "json", "export", str(out)).stdout)["exported"] == 8
    streamed = cli("export").stdout
    assert streamed == out.read_text(encoding="utf-8")
    records = [json.loads(line) for line in streamed.splitlines()]
    assert all(len(r["vector"]) == 384 for r in records)

    fresh = tmp_path / "fresh"
    summary = json.loads(cli("--data-dir", str(fresh), "-f", "json", "import", str(out)).stdout)
    assert summary == {
        "restored": 8,
        "skipped_existing": 0,
        "added": 0,
        "namespaces": ["default", "vec"],
    }
    before = _dump(data_dir, model_cache_dir, embedder)
    after = _dump(fresh, model_cache_dir, embedder)
    assert after == before  # ids, contents, metadata, times, history links, vectors
    chain = [r for r in after if r["supersedes"] or r["superseded_by"]]
    assert len(chain) == 2
    assert _keyword_hits(fresh, model_cache_dir, embedder) == _keyword_hits(
        data_dir, model_cache_dir, embedder
    )

    again = json.loads(cli("--data-dir", str(fresh), "-f", "json", "import", str(out)).stdout)
    assert again["restored"] == 0 and again["skipped_existing"] == 8


def test_export_one_namespace(
    cli: Invoke, data_dir: Path, model_cache_dir: Path, embedder: Embedder
) -> None:
    _seed(data_dir, model_cache_dir, embedder)
    lines = cli("export", "--namespace", "vec").stdout.splitlines()
    assert [json.loads(line)["content"] for line in lines] == ["a vector given by the caller"]


def test_import_memory_inputs(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "inputs.jsonl"
    rows = [
        {"content": "Paris is the capital of France", "tags": ["geo"]},
        {
            "content": "turn one",
            "kind": "message",
            "session_id": "chat-1",
            "id": "7d9f3c9e-3c1e-4c8e-9c39-0d7e0f3f4e11",
        },
        {"content": "pre-embedded", "vector": [1.0] + [0.0] * 383, "namespace": "ignored"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    summary = json.loads(cli("-f", "json", "import", str(path), "-n", "kb").stdout)
    assert summary == {"restored": 0, "skipped_existing": 0, "added": 3, "namespaces": ["kb"]}
    got = json.loads(cli("-f", "json", "get", rows[1]["id"], "-n", "kb").stdout)
    assert got["content"] == "turn one" and got["session_id"] == "chat-1"
    exported = [json.loads(line) for line in cli("export").stdout.splitlines()]
    by_content = {r["content"]: r for r in exported}
    assert by_content["pre-embedded"]["vector"][:2] == [1.0, 0.0]
    assert by_content["Paris is the capital of France"]["tags"] == ["geo"]


def test_import_locomo_file(cli: Invoke, tmp_path: Path) -> None:
    sample = {
        "sample_id": "s-1",
        "conversation": {
            "speaker_a": "Ann",
            "speaker_b": "Bob",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [
                {
                    "speaker": "Ann",
                    "dia_id": "D1:1",
                    "text": "Look at this!",
                    "img_url": ["http://x/y.jpg"],
                    "blip_caption": "a photo of a cat",
                },
                {"speaker": "Bob", "dia_id": "D1:2", "text": "Cute."},
            ],
        },
        "qa": [],
    }
    path = tmp_path / "mini.json"
    path.write_text(json.dumps([sample]), encoding="utf-8")
    summary = json.loads(cli("-f", "json", "import", str(path), "--format", "locomo").stdout)
    assert summary == {"conversations": 1, "added": 2, "namespaces": ["locomo-s-1"]}
    page = json.loads(cli("-f", "json", "list", "-n", "locomo-s-1").stdout)
    contents = [item["content"] for item in reversed(page["items"])]
    assert contents == [
        'Ann said, "Look at this!" and shared a photo of a cat.',
        'Bob said, "Cute."',
    ]
