"""Parsing the LoCoMo file: dates, turn text, evidence repair, conversation shape."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from memoryd import ValidationError
from memoryd.formats.locomo import (
    conversation_inputs,
    normalize_evidence,
    parse_conversation,
    parse_session_date,
    read_locomo,
    turn_content,
)

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "locomo10.json"


def test_parse_session_date() -> None:
    assert parse_session_date("1:56 pm on 8 May, 2023") == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    assert parse_session_date("12:09 am on 13 September, 2023") == datetime(
        2023, 9, 13, 0, 9, tzinfo=UTC
    )
    with pytest.raises(ValidationError):
        parse_session_date("yesterday")


def test_turn_content_matches_the_paper() -> None:
    assert turn_content("Ann", "Hi!") == 'Ann said, "Hi!"'
    assert (
        turn_content("Ann", "Look", "a photo of a dog")
        == 'Ann said, "Look" and shared a photo of a dog.'
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["D1:3"], ["D1:3"]),
        (["D8:6; D9:17"], ["D8:6", "D9:17"]),
        (["D9:1 D4:4 D4:6"], ["D9:1", "D4:4", "D4:6"]),
        (["D30:05"], ["D30:5"]),
        (["D", "D:11:26", ""], []),
        (["D1:3", "D1:3"], ["D1:3"]),
        ([], []),
    ],
)
def test_normalize_evidence(raw: list[str], expected: list[str]) -> None:
    assert normalize_evidence(raw) == expected


def test_normalize_evidence_drops_ids_outside_the_conversation() -> None:
    assert normalize_evidence(["D1:1", "D7:7; D1:2"], known={"D1:1", "D1:2"}) == ["D1:1", "D1:2"]


def test_parse_conversation_orders_sessions_and_times_turns() -> None:
    sample = {
        "sample_id": "x",
        "conversation": {
            "speaker_a": "A",
            "speaker_b": "B",
            "session_10_date_time": "9:00 am on 2 January, 2024",
            "session_10": [{"speaker": "A", "dia_id": "D10:1", "text": "late"}],
            "session_2_date_time": "9:00 am on 1 January, 2024",
            "session_2": [
                {"speaker": "A", "dia_id": "D2:1", "text": "first"},
                {"speaker": "B", "dia_id": "D2:2", "text": "second", "blip_caption": "a cake"},
            ],
            "session_3_date_time": "9:00 am on 1 February, 2024",
        },
        "qa": [
            {"question": "q?", "answer": 7, "evidence": ["D2:2; D99:1"], "category": 2},
            {"question": "adv?", "adversarial_answer": "no", "evidence": [], "category": 5},
        ],
    }
    conversation = parse_conversation(sample)
    assert [t.dia_id for t in conversation.turns] == ["D2:1", "D2:2", "D10:1"]
    assert conversation.turns[1].created_at == datetime(2024, 1, 1, 9, 0, 1, tzinfo=UTC)
    assert [q.evidence for q in conversation.questions] == [["D2:2"], []]
    assert conversation.questions[1].answer == "no"
    inputs = conversation_inputs(conversation, "locomo-x")
    assert inputs[1].content == 'B said, "second" and shared a cake.'
    assert inputs[1].metadata == {
        "dia_id": "D2:2",
        "speaker": "B",
        "session": "session_2",
        "session_date": "9:00 am on 1 January, 2024",
    }
    assert {i.kind for i in inputs} == {"message"} and inputs[2].session_id == "session_10"


def test_not_locomo_is_a_validation_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"not": "a list"}', encoding="utf-8")
    with pytest.raises(ValidationError):
        read_locomo(path)
    path.write_text('[{"sample_id": "x"}]', encoding="utf-8")
    with pytest.raises(ValidationError):
        read_locomo(path)


@pytest.mark.skipif(not REAL.exists(), reason="../shared/data/locomo10.json not present")
def test_real_file_shape() -> None:
    conversations = read_locomo(REAL)
    assert len(conversations) == 10
    assert sum(len(c.turns) for c in conversations) == 5882
    assert sum(len(c.questions) for c in conversations) == 1986
    assert sum(1 for c in conversations for q in c.questions if not q.evidence) == 4
