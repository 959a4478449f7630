"""LongMemEval recall on real parts (real store, real embedding model, files written here)."""

from __future__ import annotations

import json
from pathlib import Path

import _longmemeval_data as data
import pytest
from typer.testing import CliRunner

from memoryd import Memory, Settings, ValidationError
from memoryd.cli.main import app
from memoryd.embeddings import Embedder
from memoryd.eval.longmemeval import QuestionOutcome, evaluate_longmemeval, summarize_types
from memoryd.formats.longmemeval import read_longmemeval

ORACLE = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "longmemeval"
    / "longmemeval_oracle.json.gz"
)


def test_summarize_types_by_hand() -> None:
    outcomes = [
        QuestionOutcome(
            question_id="a",
            question_type="multi-session",
            answer_sessions=["s1", "s2"],
            evidence_turns=["s1:1", "s2:4"],
            retrieved_turns=["s1:1", "x:1", "s2:4"],
            retrieved_sessions=["s1", "x", "s2"],
        ),
        QuestionOutcome(
            question_id="b",
            question_type="single-session-user",
            answer_sessions=["s3"],
            evidence_turns=["s3:2"],
            retrieved_turns=["y:1"],
            retrieved_sessions=["y"],
        ),
    ]
    overall, by_type = summarize_types(outcomes, [1, 3])
    assert [t.name for t in by_type] == ["single-session-user", "multi-session"]
    assert overall.session_recall_any == {1: 0.5, 3: 0.5}
    assert overall.session_recall_all == {1: 0.0, 3: 0.5}
    assert overall.turn_recall == {1: 0.25, 3: 0.5}
    assert by_type[1].questions == 1 and by_type[1].turn_recall[3] == 1.0


def test_synthetic_scores_match_hand_computation(
    tmp_path: Path, model_cache_dir: Path, embedder: Embedder
) -> None:
    path = data.write(tmp_path / "lme.json.xz")
    settings = Settings(data_dir=tmp_path / "d", model_cache_dir=model_cache_dir)
    with Memory(settings, embedder=embedder, background=False) as memory:
        report = evaluate_longmemeval(memory, read_longmemeval(path), mode="keyword", ks=[5, 1])
        assert report.ks == [1, 5] and report.questions == 3 and report.abstention_excluded == 1
        # Sessions: 2 + 4 (n2 twice) + 2; turns: 5 + 8 + 4, one of them blank.
        assert (report.sessions, report.turns, report.blank_turns) == (8, 16, 1)
        assert report.ingested_turns == 16 and report.ingest_turns_per_second
        for field, expected in data.EXPECTED.items():
            assert getattr(report.overall, field) == pytest.approx(expected), field
        by_type = {t.name: t for t in report.types}
        assert list(by_type) == ["single-session-user", "multi-session", "knowledge-update"]
        assert by_type["multi-session"].session_recall_all == {1: 0.0, 5: 1.0}
        assert by_type["multi-session"].turn_recall == {1: 0.5, 5: 1.0}
        assert by_type["knowledge-update"].session_recall_any[5] == 0.0
        assert report.search_p95_ms >= report.search_p50_ms > 0
        # The duplicated session n2 is ingested twice, in one session.
        twice = memory.session_messages("n2", namespace="longmemeval-q-multi")
        assert [m.metadata["turn"] for m in twice] == ["n2:1", "n2:2", "n2:1", "n2:2"]
        # A second run reuses the ingested namespaces.
        again = evaluate_longmemeval(memory, read_longmemeval(path), mode="keyword", ks=[1])
        assert again.ingested_turns == 0 and again.ingest_turns_per_second is None
        assert again.overall.turn_recall == {1: 0.5}
        with pytest.raises(ValidationError):
            evaluate_longmemeval(memory, read_longmemeval(path), types=["trivia"])
        # A namespace holding part of a haystack (an interrupted run) is refused, not reused.
        memory.add("one more turn", namespace="longmemeval-q-update", kind="message")
        with pytest.raises(ValidationError, match="holds 5 entries, not 4"):
            evaluate_longmemeval(memory, read_longmemeval(path), mode="keyword")


def test_longmemeval_cli(
    tmp_path: Path, model_cache_dir: Path, monkeypatch: pytest.MonkeyPatch, embedder: Embedder
) -> None:
    monkeypatch.setenv("MEMORYD_MODEL_CACHE_DIR", str(model_cache_dir))
    monkeypatch.setenv("MEMORYD_DATA_DIR", str(tmp_path / "never-used"))
    path = data.write(tmp_path / "lme.json.gz")
    out = tmp_path / "report.json"
    args = ["eval", "longmemeval", str(path), "--mode", "keyword", "--k", "1,5"]
    result = CliRunner().invoke(app, ["-f", "json", *args, "--out", str(out)])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    printed = json.loads(result.stdout)
    assert printed == json.loads(out.read_text(encoding="utf-8"))
    assert printed["overall"]["session_recall_all"] == {
        "1": pytest.approx(1 / 3),
        "5": pytest.approx(2 / 3),
    }
    assert printed["turn_key"].startswith("<haystack session id>:<1-based turn index")
    assert printed["embedding_model"] == "all-MiniLM-L6-v2" and printed["data_dir"] is None
    assert not (tmp_path / "never-used").exists()

    quick = CliRunner().invoke(
        app,
        [*args, "--types", "multi-session,knowledge-update", "--limit", "1"],
        env={"COLUMNS": "200"},
    )
    assert quick.exit_code == 0, quick.stderr
    assert "multi-session" in quick.stdout and "knowledge-update" not in quick.stdout
    assert "0.000 / 0.000" not in quick.stdout and "1.000 / 1.000" in quick.stdout
    for bad in (["--types", "trivia"], ["--limit", "0"], ["--k", "0"]):
        refused = CliRunner().invoke(app, [*args, *bad])
        assert refused.exit_code == 2, (bad, refused.stderr)


@pytest.mark.skipif(not ORACLE.exists(), reason="../shared/data/longmemeval absent")
def test_real_oracle_questions(tmp_path: Path, model_cache_dir: Path, embedder: Embedder) -> None:
    settings = Settings(data_dir=tmp_path / "d", model_cache_dir=model_cache_dir)
    with Memory(settings, embedder=embedder, background=False) as memory:
        report = evaluate_longmemeval(
            memory, read_longmemeval(ORACLE), types=["single-session-user"], limit=2
        )
    assert report.questions == 2 and [t.name for t in report.types] == ["single-session-user"]
    # The oracle haystack is the answer sessions alone: the best hit is in one of them.
    assert report.overall.session_recall_any[1] == 1.0
    assert report.overall.turn_recall[50] > 0.5
