"""Reading LongMemEval files and turning a question's haystack into memories.

LongMemEval (Wu et al., ICLR 2025, https://github.com/xiaowu0162/LongMemEval)
is a JSON list of questions. Each has ``question_id`` (ids ending ``_abs``
are abstention questions: the answer is not in the haystack),
``question_type`` (one of :data:`QUESTION_TYPES`), ``question``, ``answer``,
``question_date`` (``"2023/04/10 (Mon) 23:07"``), ``answer_session_ids`` and
its haystack: ``haystack_session_ids``, ``haystack_dates`` and
``haystack_sessions`` (each a list of turns ``{role, content, has_answer?}``;
``has_answer`` marks the evidence turns). The S file holds ~115k tokens of
haystack per question (276 MB unpacked); :func:`read_longmemeval` streams it.

Turns are keyed ``<haystack session id>:<turn index>``, the index 1-based
within its session (``answer_4be1b6b4_2:3``); a question's evidence turns
are its ``has_answer`` turns. A haystack may list one session twice (13
questions of S, never an answer session): both copies are ingested, and
their turns share keys.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from memoryd.errors import ValidationError
from memoryd.formats.dates import parse_utc
from memoryd.formats.json_stream import DECODE_ERRORS, iter_json_array, open_binary
from memoryd.types import MemoryInput

__all__ = [
    "QUESTION_TYPES",
    "LongMemEvalQuestion",
    "LongMemEvalSession",
    "LongMemEvalTurn",
    "namespace_for",
    "parse_date",
    "parse_question",
    "question_inputs",
    "read_longmemeval",
]

#: The question types of LongMemEval, in the order reports list them.
QUESTION_TYPES: tuple[str, ...] = (
    "single-session-user",
    "single-session-assistant",
    "single-session-preference",
    "multi-session",
    "knowledge-update",
    "temporal-reasoning",
)
_DATE_FORMAT = "%Y/%m/%d (%a) %H:%M"


class LongMemEvalTurn(BaseModel):
    """One haystack turn. ``key`` is ``<session id>:<1-based index>``."""

    model_config = ConfigDict(frozen=True)

    key: str
    role: str
    content: str
    has_answer: bool
    created_at: datetime

    @property
    def blank(self) -> bool:
        """Only white space: such a turn cannot be a memory and is left out."""
        return not self.content.strip()


class LongMemEvalSession(BaseModel):
    """One haystack session: its id, date (the raw string) and turns in order."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    date: str
    turns: list[LongMemEvalTurn]


class LongMemEvalQuestion(BaseModel):
    """One question with its haystack."""

    model_config = ConfigDict(frozen=True)

    question_id: str
    question_type: str
    question: str
    answer: Any = None
    question_date: datetime
    answer_session_ids: list[str]
    sessions: list[LongMemEvalSession]

    @property
    def abstention(self) -> bool:
        """An abstention question (id ends ``_abs``): no answer in the haystack."""
        return self.question_id.endswith("_abs")

    @property
    def evidence_turns(self) -> list[str]:
        """Keys of the ``has_answer`` turns, in haystack order, unique."""
        keys = (t.key for s in self.sessions for t in s.turns if t.has_answer)
        return list(dict.fromkeys(keys))


def parse_date(value: str) -> datetime:
    """``"2023/04/10 (Mon) 17:50"`` -> aware UTC datetime (LongMemEval gives no zone).

    Raises:
        ValidationError: the string is not in that format.
    """
    return parse_utc(value, _DATE_FORMAT, "LongMemEval")


def _session(session_id: str, date: str, raw_turns: list[dict[str, Any]]) -> LongMemEvalSession:
    start = parse_date(date)
    turns = [
        LongMemEvalTurn(
            key=f"{session_id}:{position}",
            role=str(raw["role"]),
            content=str(raw["content"]),
            has_answer=bool(raw.get("has_answer", False)),
            created_at=start + timedelta(seconds=position - 1),
        )
        for position, raw in enumerate(raw_turns, start=1)
    ]
    return LongMemEvalSession(session_id=session_id, date=date, turns=turns)


def parse_question(item: dict[str, Any]) -> LongMemEvalQuestion:
    """One element of a LongMemEval file -> :class:`LongMemEvalQuestion`.

    Turns are one second apart from their session's date.

    Raises:
        ValidationError: a required key is missing, the haystack lists are of
            different lengths, the question type is unknown or a date is unparseable.
    """
    try:
        ids = [str(s) for s in item["haystack_session_ids"]]
        dates = [str(d) for d in item["haystack_dates"]]
        raw_sessions = item["haystack_sessions"]
        question_id = str(item["question_id"])
        if not len(ids) == len(dates) == len(raw_sessions):
            raise ValidationError(
                f"{question_id}: haystack ids, dates and sessions differ in length",
                question_id=question_id,
            )
        question_type = str(item["question_type"])
        if question_type not in QUESTION_TYPES:
            raise ValidationError(
                f"{question_id}: unknown question_type {question_type!r}",
                question_id=question_id,
                known=list(QUESTION_TYPES),
            )
        return LongMemEvalQuestion(
            question_id=question_id,
            question_type=question_type,
            question=str(item["question"]),
            answer=item.get("answer"),
            question_date=parse_date(str(item["question_date"])),
            answer_session_ids=[str(s) for s in item["answer_session_ids"]],
            sessions=[_session(*parts) for parts in zip(ids, dates, raw_sessions, strict=True)],
        )
    except (KeyError, TypeError) as exc:
        raise ValidationError(f"not a LongMemEval question: missing or bad {exc}") from exc


def read_longmemeval(path: Path) -> Generator[LongMemEvalQuestion, None, None]:
    """Stream the questions of a LongMemEval file (``.json``, gzip or xz), one at a time.

    Only the question being read is held in memory; the file is closed when
    the iterator is exhausted or closed.

    Raises:
        ValidationError: the file is not (compressed) UTF-8 JSON, not a list,
            or an element is not a LongMemEval question.
        OSError: the file cannot be read.
    """
    with open_binary(path) as stream:
        try:
            for item in iter_json_array(stream, str(path)):
                if not isinstance(item, dict):
                    raise ValidationError(f"{path}: expected a list of question objects")
                yield parse_question(item)
        except DECODE_ERRORS as exc:
            raise ValidationError(f"{path}: unreadable: {exc}", path=str(path)) from exc


def namespace_for(question: LongMemEvalQuestion, prefix: str = "longmemeval") -> str:
    """The namespace of a question's haystack: ``longmemeval-<question_id>``."""
    return f"{prefix}-{question.question_id}"


def question_inputs(question: LongMemEvalQuestion, namespace: str) -> list[MemoryInput]:
    """One ``message`` input per non-blank haystack turn, in haystack order.

    ``session_id`` is the haystack session id, ``created_at`` the session's
    date (+ 1 s per turn), content the turn's text as it is. Metadata:
    ``turn`` (the key), ``role``, ``session_date`` (the raw string). Blank
    turns (12 in S, none evidence) cannot be memories and are left out.
    """
    return [
        MemoryInput(
            content=turn.content,
            kind="message",
            namespace=namespace,
            session_id=session.session_id,
            metadata={"turn": turn.key, "role": turn.role, "session_date": session.date},
            created_at=turn.created_at,
        )
        for session in question.sessions
        for turn in session.turns
        if not turn.blank
    ]
