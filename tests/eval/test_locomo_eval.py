"""LoCoMo ingest and recall@k on real parts (real store, real embedding model)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from memoryd import Memory, Settings, ValidationError
from memoryd.cli.main import app
from memoryd.embeddings import Embedder
from memoryd.eval.harness import eval_memory
from memoryd.eval.locomo import QuestionResult, evaluate_locomo, summarize
from memoryd.formats.locomo import namespace_for, parse_conversation, read_locomo

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "locomo10.json"
needs_real = pytest.mark.skipif(not REAL.exists(), reason="../shared/data/locomo10.json absent")

#: Five turns; each question word appears in exactly one turn's text.
SYNTHETIC: dict[str, Any] = {
    "sample_id": "syn",
    "conversation": {
        "speaker_a": "Ann",
        "speaker_b": "Bob",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Ann", "dia_id": "D1:1", "text": "I adopted a zebra named Stripes"},
            {"speaker": "Bob", "dia_id": "D1:2", "text": "Wow, how unusual"},
            {
                "speaker": "Ann",
                "dia_id": "D1:3",
                "text": "Then I climbed a volcano",
                "img_url": ["http://example.invalid/v.jpg"],
                "blip_caption": "a photo of lava",
            },
        ],
        "session_2_date_time": "10:37 am on 27 June, 2023",
        "session_2": [
            {"speaker": "Bob", "dia_id": "D2:1", "text": "My tulips finally bloomed"},
            {"speaker": "Ann", "dia_id": "D2:2", "text": "Lovely, congratulations"},
        ],
    },
    "qa": [
        # R@1 = 1: the only turn saying "zebra" ranks first.
        {"question": "zebra", "answer": "a", "evidence": ["D1:1"], "category": 4},
        # R@1 = 1/2: two evidence turns, one hit in the top 1.
        {"question": "volcano tulips", "answer": "b", "evidence": ["D1:3", "D2:1"], "category": 1},
        # Malformed "D1:1; D2:1" -> ["D1:1", "D2:1"]; R@1 = R@5 = 1/2 (keyword search
        # never returns D2:1, which does not say "zebra").
        {"question": "zebra", "answer": "c", "evidence": ["D1:1; D2:1"], "category": 2},
        # No evidence -> counts as 1.
        {"question": "tulips", "adversarial_answer": "d", "evidence": [], "category": 5},
        # Nothing valid ("D", "D:11:26", an id not in the conversation) -> counts as 1.
        {"question": "volcano", "answer": "e", "evidence": ["D", "D:11:26", "D9:9"], "category": 3},
    ],
}
# Hand-computed, keyword mode: recall@1 = (1 + 0.5 + 0.5 + 1 + 1) / 5 = 0.8;
# recall@5 = (1 + 1 + 0.5 + 1 + 1) / 5 = 0.9.
EXPECTED_R1 = {"overall": 0.8, 1: 0.5, 2: 0.5, 3: 1.0, 4: 1.0, 5: 1.0}
EXPECTED_R5 = {"overall": 0.9, 1: 1.0, 2: 0.5, 3: 1.0, 4: 1.0, 5: 1.0}


def test_summarize_means_per_category() -> None:
    results = [
        QuestionResult(category=1, evidence=["a", "b"], retrieved=["a", "x", "b"]),
        QuestionResult(category=1, evidence=["c"], retrieved=["x", "c"]),
        QuestionResult(category=4, evidence=[], retrieved=[]),
    ]
    overall, categories = summarize(results, [1, 3])
    assert overall.recall == {1: pytest.approx((0.5 + 0 + 1) / 3), 3: 1.0}
    assert [(c.name, c.questions, c.recall[1]) for c in categories] == [
        ("multi-hop", 2, 0.25),
        ("single-hop", 1, 1.0),
    ]


def test_synthetic_recall_matches_hand_computation(
    tmp_path: Path, model_cache_dir: Path, embedder: Embedder
) -> None:
    conversation = parse_conversation(SYNTHETIC)
    settings = Settings(data_dir=tmp_path / "d", model_cache_dir=model_cache_dir)
    with Memory(settings, embedder=embedder, background=False) as memory:
        report = evaluate_locomo(memory, [conversation], mode="keyword", ks=[5, 1])
        assert report.ks == [1, 5] and report.questions == 5 and report.turns == 5
        assert report.questions_without_evidence == 2 and report.ingested_turns == 5
        assert report.overall.recall[1] == pytest.approx(EXPECTED_R1["overall"])
        assert report.overall.recall[5] == pytest.approx(EXPECTED_R5["overall"])
        for k, expected in ((1, EXPECTED_R1), (5, EXPECTED_R5)):
            by_category = {c.category: c.recall[k] for c in report.categories}
            assert by_category == {c: v for c, v in expected.items() if c != "overall"}
        assert report.search_p50_ms > 0 and report.search_p95_ms >= report.search_p50_ms
        # A second run reuses the ingested namespace instead of duplicating turns.
        again = evaluate_locomo(memory, [conversation], mode="keyword", ks=[1])
        assert again.ingested_turns == 0 and again.overall.recall[1] == report.overall.recall[1]
        assert len(memory.list(namespace="locomo-syn", limit=100).items) == 5
        with pytest.raises(ValidationError):
            evaluate_locomo(memory, [conversation], ks=[0])


def test_eval_cli_on_synthetic_file(
    tmp_path: Path, model_cache_dir: Path, monkeypatch: pytest.MonkeyPatch, embedder: Embedder
) -> None:
    monkeypatch.setenv("MEMORYD_MODEL_CACHE_DIR", str(model_cache_dir))
    monkeypatch.setenv("MEMORYD_DATA_DIR", str(tmp_path / "never-used"))
    path = tmp_path / "syn.json"
    path.write_text(json.dumps([SYNTHETIC]), encoding="utf-8")
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        app,
        [
            "-f",
            "json",
            "eval",
            "locomo",
            str(path),
            "--mode",
            "keyword",
            "--k",
            "1,5",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, (result.stdout, result.stderr)
    printed = json.loads(result.stdout)
    assert printed == json.loads(out.read_text(encoding="utf-8"))
    assert printed["overall"]["recall"] == {"1": pytest.approx(0.8), "5": pytest.approx(0.9)}
    assert printed["data_dir"] is None and printed["embedding_model"] == "all-MiniLM-L6-v2"
    assert not (tmp_path / "never-used").exists()  # a fresh temporary store by default

    table = CliRunner().invoke(
        app,
        [
            "eval",
            "locomo",
            str(path),
            "--mode",
            "keyword",
            "--k",
            "1,5",
            "--data-dir",
            str(tmp_path / "kept"),
        ],
        env={"COLUMNS": "200"},
    )
    assert table.exit_code == 0, table.stderr
    assert "4 single-hop" in table.stdout and "0.800" in table.stdout
    assert (tmp_path / "kept" / "memoryd.db").exists()
    bad = CliRunner().invoke(app, ["eval", "locomo", str(path), "--k", "0,x"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error[validation_error]: ")


@needs_real
def test_ingest_one_real_conversation(
    tmp_path: Path, model_cache_dir: Path, embedder: Embedder
) -> None:
    conversation = read_locomo(REAL, limit=1)[0]
    settings = Settings(data_dir=tmp_path / "d", model_cache_dir=model_cache_dir)
    with Memory(settings, embedder=embedder, background=False) as memory:
        report = evaluate_locomo(memory, [conversation], mode="hybrid", ks=[10])
        namespace = namespace_for(conversation)
        stats = memory.stats()
        assert stats.by_namespace == {namespace: len(conversation.turns)}
        assert stats.vectors == len(conversation.turns) and stats.pending_embeddings == 0
        first = memory.session_messages("session_1", namespace=namespace)
        assert (
            first[0].content
            == f'{conversation.turns[0].speaker} said, "{conversation.turns[0].text}"'
        )
        assert first[0].metadata["dia_id"] == "D1:1"
        assert first[0].created_at == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
        assert first[1].created_at == datetime(2023, 5, 8, 13, 56, 1, tzinfo=UTC)
        captioned = [t for t in conversation.turns if t.blip_caption]
        hit = memory.list(
            namespace=namespace, filter={"field": "dia_id", "value": captioned[0].dia_id}
        )
        assert hit.items[0].content.endswith(f" and shared {captioned[0].blip_caption}.")
    assert report.questions == len(conversation.questions)
    assert report.overall.recall[10] > 0.5


@needs_real
@pytest.mark.slow
def test_eval_first_two_real_conversations(tmp_path: Path, model_cache_dir: Path) -> None:
    conversations = read_locomo(REAL, limit=2)
    settings = Settings(data_dir=tmp_path / "unused", model_cache_dir=model_cache_dir)
    with eval_memory(settings) as memory:
        report = evaluate_locomo(memory, conversations, mode="hybrid")
    assert report.conversations == 2 and report.questions == sum(
        len(c.questions) for c in conversations
    )
    assert report.overall.recall[10] > 0.5
    assert report.overall.recall[50] >= report.overall.recall[10] >= report.overall.recall[1]
