"""A small LongMemEval-shaped data set, written by the tests (never the shared data).

Keyword search finds each question word in exactly one turn, and every
such word is in the last turn of its session (a turn's keyword context
carries the previous turn, so no other turn matches). Hand-computed, keyword
mode, over the three non-abstention questions:

* ``q-user`` (single-session-user) "zebra": hits ``[a1:2]``; evidence
  ``a1:2``, answer session ``a1``: every score 1.
* ``q-multi`` (multi-session) "volcano tulips": hits ``b1:2`` and ``b2:2`` in
  some order; answer sessions ``b1``, ``b2``: recall_any@1 1, recall_all@1 0,
  turn recall@1 0.5; every @5 score and both NDCG@10 1.
* ``q-update`` (knowledge-update) "piano": hits ``[c1:2]``, which is not the
  evidence (``c2:2``, session ``c2``): every score 0.
* ``q-user_abs``: an abstention question, left out.
"""

from __future__ import annotations

import gzip
import json
import lzma
from pathlib import Path
from typing import Any


def _turns(*contents: str, answer: int | None = None) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    for position, content in enumerate(contents, start=1):
        role = "user" if position % 2 else "assistant"
        turn: dict[str, Any] = {"role": role, "content": content}
        if answer is not None:
            turn["has_answer"] = position == answer
        turns.append(turn)
    return turns


def _question(
    question_id: str,
    question_type: str,
    question: str,
    answers: list[str],
    sessions: list[tuple[str, str, list[dict[str, Any]]]],
) -> dict[str, Any]:
    return {
        "question_id": question_id,
        "question_type": question_type,
        "question": question,
        "answer": "x",
        "question_date": "2023/06/01 (Thu) 09:00",
        "answer_session_ids": answers,
        "haystack_session_ids": [s[0] for s in sessions],
        "haystack_dates": [s[1] for s in sessions],
        "haystack_sessions": [s[2] for s in sessions],
    }


QUESTIONS: list[dict[str, Any]] = [
    _question(
        "q-user",
        "single-session-user",
        "zebra",
        ["a1"],
        [
            ("n1", "2023/05/02 (Tue) 08:00", _turns("My tulip bulbs", "Lovely garden", " ")),
            ("a1", "2023/05/01 (Mon) 10:00", _turns("Good morning", "I adopted a zebra", answer=2)),
        ],
    ),
    _question(
        "q-user_abs",
        "single-session-user",
        "zebra",
        [],
        [("z1", "2023/05/01 (Mon) 10:00", _turns("nothing here", "at all"))],
    ),
    _question(
        "q-multi",
        "multi-session",
        "volcano tulips",
        ["b1", "b2"],
        [
            ("b1", "2023/05/01 (Mon) 10:00", _turns("hello", "we climbed a volcano", answer=2)),
            ("n2", "2023/05/03 (Wed) 10:00", _turns("nothing new", "quiet week")),
            ("b2", "2023/05/05 (Fri) 10:00", _turns("hi again", "tulips are red", answer=2)),
            ("n2", "2023/05/04 (Thu) 10:00", _turns("nothing new", "quiet week")),
        ],
    ),
    _question(
        "q-update",
        "knowledge-update",
        "piano",
        ["c2"],
        [
            ("c1", "2023/05/01 (Mon) 10:00", _turns("any news", "I sold the piano")),
            ("c2", "2023/05/08 (Mon) 10:00", _turns("and now", "I bought a guitar", answer=2)),
        ],
    ),
]

#: Hand-computed overall scores, keyword mode, k = 1 and 5 (see the module docstring).
EXPECTED = {
    "session_recall_any": {1: 2 / 3, 5: 2 / 3},
    "session_recall_all": {1: 1 / 3, 5: 2 / 3},
    "turn_recall": {1: 0.5, 5: 2 / 3},
    "session_ndcg": 2 / 3,
    "turn_ndcg": 2 / 3,
}


def write(path: Path, questions: list[dict[str, Any]] | None = None) -> Path:
    """Write the data set to ``path``: xz for ``.xz``, gzip for ``.gz``, else plain JSON."""
    text = json.dumps(QUESTIONS if questions is None else questions, indent=4)
    data = text.encode("utf-8")
    if path.suffix == ".xz":
        data = lzma.compress(data)
    elif path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)
    return path
