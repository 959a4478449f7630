"""Reading LongMemEval files: compression, streaming, dates, turn keys, selection."""

from __future__ import annotations

import io
import json
import lzma
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import _longmemeval_data as data
import pytest

from memoryd import ValidationError
from memoryd.eval.longmemeval import Selection, check_types
from memoryd.formats.json_stream import iter_json_array
from memoryd.formats.longmemeval import (
    QUESTION_TYPES,
    namespace_for,
    parse_date,
    parse_question,
    question_inputs,
    read_longmemeval,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "longmemeval"
ORACLE = SHARED / "longmemeval_oracle.json.gz"
S_FILE = SHARED / "longmemeval_s_cleaned.499of500.json.xz"


def test_parse_date() -> None:
    assert parse_date("2023/04/10 (Mon) 17:50") == datetime(2023, 4, 10, 17, 50, tzinfo=UTC)
    with pytest.raises(ValidationError):
        parse_date("10 April 2023")


@pytest.mark.parametrize("suffix", [".json", ".json.gz", ".json.xz"])
def test_read_every_compression(tmp_path: Path, suffix: str) -> None:
    path = data.write(tmp_path / f"lme{suffix}")
    questions = list(read_longmemeval(path))
    assert [q.question_id for q in questions] == ["q-user", "q-user_abs", "q-multi", "q-update"]
    assert [q.abstention for q in questions] == [False, True, False, False]
    first = questions[0]
    assert first.question_date == datetime(2023, 6, 1, 9, 0, tzinfo=UTC)
    assert [s.session_id for s in first.sessions] == ["n1", "a1"]
    assert [t.key for t in first.sessions[1].turns] == ["a1:1", "a1:2"]
    assert first.evidence_turns == ["a1:2"] and first.answer_session_ids == ["a1"]
    assert first.sessions[1].turns[1].created_at == datetime(2023, 5, 1, 10, 0, 1, tzinfo=UTC)


def test_inputs_are_dated_messages_in_their_sessions() -> None:
    question = parse_question(data.QUESTIONS[0])
    inputs = question_inputs(question, namespace_for(question))
    # The blank third turn of n1 is left out (it cannot be a memory); keys keep their places.
    assert [i.metadata["turn"] for i in inputs] == ["n1:1", "n1:2", "a1:1", "a1:2"]
    assert {i.kind for i in inputs} == {"message"}
    assert {i.namespace for i in inputs} == {"longmemeval-q-user"}
    zebra = inputs[3]
    assert zebra.content == "I adopted a zebra" and zebra.session_id == "a1"
    assert zebra.metadata == {
        "turn": "a1:2",
        "role": "assistant",
        "session_date": "2023/05/01 (Mon) 10:00",
    }
    assert zebra.created_at == datetime(2023, 5, 1, 10, 0, 1, tzinfo=UTC)


def test_stream_reads_items_across_reads() -> None:
    # Items far larger than one read (ijson reads 64 KiB at a time), numbers and literals.
    items = [{"text": "x" * 3_000_000}, 1234567890123456789, True, None, "s", [1.5e10, {}]]
    text = json.dumps(items)
    assert list(iter_json_array(io.BytesIO(text.encode()))) == items
    assert list(iter_json_array(io.BytesIO(b"  [ ]  "))) == []


@pytest.mark.parametrize(
    "text",
    ['{"a": 1}', "[1, 2", "[1 2]", "[1,]", "[1] 2", "", '[{"a": }]'],
)
def test_stream_refuses_what_is_not_one_array(text: str) -> None:
    with pytest.raises(ValidationError):
        list(iter_json_array(io.BytesIO(text.encode()), "t.json"))


def test_bad_files_are_validation_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json.xz"
    broken.write_bytes(lzma.compress(b"[" + json.dumps(data.QUESTIONS[0]).encode())[:-20])
    with pytest.raises(ValidationError):
        list(read_longmemeval(broken))
    wrong = [dict(data.QUESTIONS[0], question_type="trivia")]
    with pytest.raises(ValidationError, match="unknown question_type"):
        list(read_longmemeval(data.write(tmp_path / "t.json", wrong)))
    short = [dict(data.QUESTIONS[0], haystack_dates=[])]
    with pytest.raises(ValidationError, match="differ in length"):
        list(read_longmemeval(data.write(tmp_path / "s.json", short)))
    missing = [{k: v for k, v in data.QUESTIONS[0].items() if k != "question"}]
    with pytest.raises(ValidationError, match="question"):
        list(read_longmemeval(data.write(tmp_path / "m.json", missing)))
    with pytest.raises(ValidationError, match="list of question objects"):
        list(read_longmemeval(data.write(tmp_path / "n.json", [1])))  # type: ignore[list-item]


def test_selection_spreads_the_limit_over_the_types(tmp_path: Path) -> None:
    questions = list(read_longmemeval(data.write(tmp_path / "lme.json")))
    everything = Selection(check_types(None), None)
    assert [q.question_id for q in everything.pick(questions)] == ["q-user", "q-multi", "q-update"]
    assert everything.abstention_excluded == 1 and everything.total is None
    # 2 over six types: one single-session-user, one single-session-assistant (none here).
    two = Selection(check_types(None), 2)
    assert [q.question_id for q in two.pick(questions)] == ["q-user"] and two.total == 2
    # Types keep the canonical order: the one share goes to multi-session.
    chosen = Selection(check_types(["knowledge-update", "multi-session"]), 1)
    assert [q.question_id for q in chosen.pick(questions)] == ["q-multi"]
    # Reading stops once every share is filled.
    seen: list[str] = []

    def counted():  # type: ignore[no-untyped-def]
        for question in questions:
            seen.append(question.question_id)
            yield question

    assert len(list(Selection(["single-session-user"], 1).pick(counted()))) == 1
    assert seen == ["q-user"]
    with pytest.raises(ValidationError, match="unknown question types"):
        check_types(["trivia"])
    with pytest.raises(ValidationError):
        Selection(check_types(None), 0)


@pytest.mark.skipif(not ORACLE.exists(), reason="../shared/data/longmemeval absent")
def test_real_oracle_file_shape() -> None:
    questions = list(read_longmemeval(ORACLE))
    assert len(questions) == 500 and {q.question_type for q in questions} == set(QUESTION_TYPES)
    kept = [q for q in questions if not q.abstention]
    assert len(kept) == 470
    # Every evidence turn lies in an answer session; every answer session is in the haystack.
    for question in kept:
        haystack = {s.session_id for s in question.sessions}
        assert set(question.answer_session_ids) <= haystack
        assert question.evidence_turns
        assert {t.split(":")[0] for t in question.evidence_turns} <= set(
            question.answer_session_ids
        )


@pytest.mark.skipif(not S_FILE.exists(), reason="../shared/data/longmemeval absent")
def test_real_s_file_streams_its_first_questions() -> None:
    with closing(read_longmemeval(S_FILE)) as stream:
        first = [next(stream) for _ in range(3)]
    assert [q.question_id for q in first] == ["e47becba", "118b2229", "51a45a95"]
    for question in first:
        assert 38 <= len(question.sessions) <= 62
        inputs = question_inputs(question, namespace_for(question))
        assert len({i.metadata["turn"] for i in inputs}) == len(inputs)
        assert question.evidence_turns
