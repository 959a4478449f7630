"""The corrected LoCoMo key and session-level recall, on real parts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_locomo_eval import SYNTHETIC
from typer.testing import CliRunner

from memoryd import Memory, Settings, ValidationError
from memoryd.cli.main import app
from memoryd.embeddings import Embedder
from memoryd.eval.locomo import evaluate_locomo
from memoryd.formats.locomo import parse_conversation, read_locomo
from memoryd.formats.locomo_corrections import apply_corrections, read_corrections

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
REAL = DATA / "locomo10.json"
AUDIT = DATA / "locomo_audit" / "evidence_changes.json"


def _change(
    qa_index: int, original: list[str], corrected: list[str], **extra: Any
) -> dict[str, Any]:
    category = SYNTHETIC["qa"][qa_index]["category"]
    return {
        "question_id": f"locomo_0_qa{qa_index}",
        "sample_id": "syn",
        "qa_index": qa_index,
        "category": category,
        "error_type": "WRONG_CITATION",
        "original_evidence": original,
        "corrected_evidence": corrected,
        **extra,
    }


#: qa0 "zebra": D1:1 -> D2:1 (keyword search never returns D2:1: recall 0);
#: qa1 "volcano tulips": D1:3, D2:1 -> D1:3 alone;
#: qa3 "tulips": no evidence -> D2:1.
CHANGES = [
    _change(0, ["D1:1"], ["D2:1"]),
    _change(1, ["D1:3", "D2:1"], ["D1:3"]),
    _change(3, [], ["D2:1"]),
]


def _write(path: Path, changes: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(changes), encoding="utf-8")
    return path


def test_apply_corrections(tmp_path: Path) -> None:
    conversation = parse_conversation(SYNTHETIC)
    changes = read_corrections(_write(tmp_path / "c.json", CHANGES))
    # A change to a conversation beyond the ones read is left out.
    extra = changes + [
        changes[0].model_copy(update={"question_id": "locomo_1_qa0", "sample_id": "other"})
    ]
    [fixed], applied = apply_corrections([conversation], extra)
    assert applied == 3
    assert [q.corrected_evidence for q in fixed.questions] == [
        ["D2:1"],
        ["D1:3"],
        None,
        ["D2:1"],
        None,
    ]
    assert fixed.questions[0].evidence == ["D1:1"]  # the original key is kept beside it
    assert conversation.questions[0].corrected_evidence is None  # the input is not changed


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (_change(0, ["D1:1"], ["D9:9"]), "names turns not in syn"),
        (_change(0, ["D1:2"], ["D2:1"]), "differs from the file"),
        (_change(0, ["D1:1"], ["D2:1"], category=3), "differs from the file"),
        (_change(0, ["D1:1"], ["D2:1"], sample_id="conv-26"), "no such question"),
        (
            {**_change(0, ["D1:1"], ["D2:1"]), "qa_index": 99, "question_id": "locomo_0_qa99"},
            "no such",
        ),
        (_change(0, ["D1:1"], ["D2:1"], question_id="locomo_0_qa7"), "is not locomo_<i>_qa0"),
    ],
)
def test_corrections_that_do_not_fit_are_refused(
    tmp_path: Path, change: dict[str, Any], words: str
) -> None:
    conversation = parse_conversation(SYNTHETIC)
    with pytest.raises(ValidationError, match=words):
        apply_corrections([conversation], read_corrections(_write(tmp_path / "c.json", [change])))


def test_bad_corrections_files(tmp_path: Path) -> None:
    for text in ('{"a": 1}', "[1]", '[{"question_id": "x"}]', "not json"):
        path = tmp_path / "bad.json"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ValidationError):
            read_corrections(path)


def test_session_and_corrected_recall_by_hand(
    tmp_path: Path, model_cache_dir: Path, embedder: Embedder
) -> None:
    changes = read_corrections(_write(tmp_path / "c.json", CHANGES))
    [conversation], applied = apply_corrections([parse_conversation(SYNTHETIC)], changes)
    settings = Settings(data_dir=tmp_path / "d", model_cache_dir=model_cache_dir)
    with Memory(settings, embedder=embedder, background=False) as memory:
        report = evaluate_locomo(
            memory, [conversation], mode="keyword", ks=[1, 5], corrections=("c.json", applied)
        )
    # Session level, original key (the test_locomo_eval hand computation, by session):
    # qa0 zebra {session_1}: hit D1:1 -> 1; qa1 {s1, s2}: one session in the top 1, both in 5;
    # qa2 zebra {s1, s2}: only s1 is ever hit -> 1/2; qa3, qa4 no evidence -> 1.
    assert report.overall.session_recall == {
        1: pytest.approx((1 + 0.5 + 0.5 + 1 + 1) / 5),
        5: pytest.approx((1 + 1 + 0.5 + 1 + 1) / 5),
    }
    assert report.overall.recall == {1: pytest.approx(0.8), 5: pytest.approx(0.9)}
    fixed = report.corrected
    assert fixed is not None and fixed.source == "c.json" and fixed.changes == 3
    # Corrected turn level: qa0 D2:1 never hit -> 0; qa1 D1:3 alone: 1 at 1 only if it ranks
    # first, 1 at 5; qa2 1/2; qa3 "tulips" -> D2:1 ranks first -> 1; qa4 1.
    top = report.corrected.overall.recall
    assert top[5] == pytest.approx((0 + 1 + 0.5 + 1 + 1) / 5)
    assert fixed.questions_without_evidence == 1 and report.questions_without_evidence == 2
    by_category = {c.category: c.recall[5] for c in fixed.categories}
    assert by_category == {1: 1.0, 2: 0.5, 3: 1.0, 4: 0.0, 5: 1.0}
    # Session level under the corrected key: qa0 {session_2} is never hit.
    assert fixed.overall.session_recall[5] == pytest.approx((0 + 1 + 0.5 + 1 + 1) / 5)


def test_locomo_cli_with_corrections(
    tmp_path: Path, model_cache_dir: Path, monkeypatch: pytest.MonkeyPatch, embedder: Embedder
) -> None:
    monkeypatch.setenv("MEMORYD_MODEL_CACHE_DIR", str(model_cache_dir))
    path = tmp_path / "syn.json"
    path.write_text(json.dumps([SYNTHETIC]), encoding="utf-8")
    fixes = _write(tmp_path / "c.json", CHANGES)
    args = ["eval", "locomo", str(path), "--mode", "keyword", "--k", "1,5"]
    result = CliRunner().invoke(app, ["-f", "json", *args, "--corrections", str(fixes)])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    printed = json.loads(result.stdout)
    assert printed["corrected"]["changes"] == 3
    assert printed["corrected"]["overall"]["recall"]["5"] == pytest.approx(0.7)
    assert printed["overall"]["session_recall"]["5"] == pytest.approx(0.9)
    table = CliRunner().invoke(app, [*args, "--corrections", str(fixes)], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.stderr
    assert (
        "original key" in table.stdout
        and "corrected key (c.json: 3 questions changed)" in table.stdout
    )
    wrong = _write(tmp_path / "w.json", [_change(0, ["D1:1"], ["D9:9"])])
    refused = CliRunner().invoke(app, [*args, "--corrections", str(wrong)])
    assert refused.exit_code == 2 and refused.stderr.startswith("error[validation_error]: ")
    missing = CliRunner().invoke(app, [*args, "--corrections", str(tmp_path / "none.json")])
    assert missing.exit_code == 2 and "error[invalid_path]" in missing.stderr


@pytest.mark.skipif(not (REAL.exists() and AUDIT.exists()), reason="../shared/data absent")
def test_real_corrections_fit_the_real_file() -> None:
    conversations, applied = apply_corrections(read_locomo(REAL), read_corrections(AUDIT))
    assert applied == 96
    changed = [q for c in conversations for q in c.questions if q.corrected_evidence is not None]
    assert len(changed) == 96 and sum(1 for q in changed if not q.corrected_evidence) == 1
    first_two, applied_two = apply_corrections(read_locomo(REAL, limit=2), read_corrections(AUDIT))
    assert len(first_two) == 2 and 0 < applied_two < 96
