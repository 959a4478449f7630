"""Reading the LoCoMo benchmark file and turning it into memories.

LoCoMo (Maharana et al., ACL 2024, https://snap-research.github.io/locomo/)
is a JSON list of conversations. Each has ``sample_id``, ``conversation``
(``speaker_a``, ``speaker_b``, ``session_N``: a list of turns with
``speaker``, ``dia_id``, ``text`` and optional ``img_url``/``blip_caption``,
and ``session_N_date_time`` such as ``"1:56 pm on 8 May, 2023"``) and ``qa``
(``question``, ``answer`` or ``adversarial_answer``, ``evidence``: a list of
turn ids like ``"D1:3"``, ``category`` 1..5).

One memory per turn (kind ``message``, ``session_id`` = ``session_N``), its
content as the paper indexes it: ``{speaker} said, "{text}"`` plus
`` and shared {blip_caption}.`` when the turn shares an image.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from memoryd.errors import ValidationError
from memoryd.formats.dates import parse_utc
from memoryd.types import MemoryInput

__all__ = [
    "CATEGORY_NAMES",
    "LocomoConversation",
    "LocomoQuestion",
    "LocomoTurn",
    "conversation_inputs",
    "namespace_for",
    "normalize_evidence",
    "parse_conversation",
    "parse_session_date",
    "read_json",
    "read_locomo",
    "turn_content",
]

#: Question categories as numbered in the LoCoMo data file.
CATEGORY_NAMES: dict[int, str] = {
    1: "multi-hop",
    2: "temporal",
    3: "open-domain",
    4: "single-hop",
    5: "adversarial",
}
_SESSION_KEY = re.compile(r"^session_(\d+)$")
_DIA_ID = re.compile(r"^D(\d+):(\d+)$")
_EVIDENCE_SEPARATORS = re.compile(r"[;,\s]+")
_DATE_FORMAT = "%I:%M %p on %d %B, %Y"


class LocomoTurn(BaseModel):
    """One dialogue turn, with the session it belongs to."""

    model_config = ConfigDict(frozen=True)

    dia_id: str
    speaker: str
    text: str
    blip_caption: str | None = None
    session: str
    session_date: str
    created_at: datetime


class LocomoQuestion(BaseModel):
    """One QA item. ``evidence`` holds the valid turn ids only (see :func:`normalize_evidence`).

    ``corrected_evidence`` is the audited key's evidence where it differs from
    ``evidence`` (:mod:`memoryd.formats.locomo_corrections`); ``None``: unchanged.
    """

    model_config = ConfigDict(frozen=True)

    question: str
    answer: Any = None
    category: int
    evidence: list[str] = Field(default_factory=list)
    corrected_evidence: list[str] | None = None


class LocomoConversation(BaseModel):
    """A conversation: its turns in order and its questions."""

    sample_id: str
    speaker_a: str
    speaker_b: str
    turns: list[LocomoTurn]
    questions: list[LocomoQuestion]


def parse_session_date(value: str) -> datetime:
    """``"1:56 pm on 8 May, 2023"`` -> aware UTC datetime (LoCoMo gives no zone).

    Raises:
        ValidationError: the string is not in that format.
    """
    return parse_utc(value, _DATE_FORMAT, "LoCoMo session")


def turn_content(speaker: str, text: str, blip_caption: str | None = None) -> str:
    """The indexed text of a turn: ``Ann said, "hi"`` (+ `` and shared a photo of x.``)."""
    content = f'{speaker} said, "{text}"'
    if blip_caption:
        content += f" and shared {blip_caption}."
    return content


def normalize_evidence(raw: list[str], known: set[str] | None = None) -> list[str]:
    """The valid turn ids among a question's ``evidence`` strings, in order, unique.

    Malformed entries are repaired where possible: ``"D8:6; D9:17"`` and
    ``"D9:1 D4:4"`` are split on ``;``, ``,`` and whitespace; ``"D30:05"``
    becomes ``"D30:5"``. Pieces that are not ``D<session>:<turn>`` (``"D"``,
    ``"D:11:26"``) are dropped, and so are ids not in ``known`` (the
    conversation's turn ids) when it is given.
    """
    out: list[str] = []
    for item in raw:
        for piece in _EVIDENCE_SEPARATORS.split(str(item)):
            match = _DIA_ID.match(piece.strip())
            if match is None:
                continue
            dia_id = f"D{int(match.group(1))}:{int(match.group(2))}"
            if (known is None or dia_id in known) and dia_id not in out:
                out.append(dia_id)
    return out


def _session_turns(conversation: dict[str, Any], key: str) -> list[LocomoTurn]:
    date_text = str(conversation.get(f"{key}_date_time", ""))
    start = parse_session_date(date_text)
    return [
        LocomoTurn(
            dia_id=str(raw["dia_id"]),
            speaker=str(raw["speaker"]),
            text=str(raw.get("text", "")),
            blip_caption=raw.get("blip_caption") or None,
            session=key,
            session_date=date_text,
            created_at=start + timedelta(seconds=position),
        )
        for position, raw in enumerate(conversation[key])
    ]


def parse_conversation(sample: dict[str, Any]) -> LocomoConversation:
    """One element of the LoCoMo list -> :class:`LocomoConversation`.

    Sessions are ordered by their number; turns keep their order, one second
    apart from the session's date.

    Raises:
        ValidationError: a required key is missing or a date is unparseable.
    """
    try:
        conversation = sample["conversation"]
        sessions = sorted(
            (int(m.group(1)), key)
            for key in conversation
            if (m := _SESSION_KEY.match(key)) and isinstance(conversation[key], list)
        )
        turns = [turn for _, key in sessions for turn in _session_turns(conversation, key)]
        known = {turn.dia_id for turn in turns}
        questions = [
            LocomoQuestion(
                question=str(qa["question"]),
                answer=qa.get("answer", qa.get("adversarial_answer")),
                category=int(qa["category"]),
                evidence=normalize_evidence([str(e) for e in qa.get("evidence") or []], known),
            )
            for qa in sample.get("qa", [])
        ]
        return LocomoConversation(
            sample_id=str(sample["sample_id"]),
            speaker_a=str(conversation["speaker_a"]),
            speaker_b=str(conversation["speaker_b"]),
            turns=turns,
            questions=questions,
        )
    except (KeyError, TypeError) as exc:
        raise ValidationError(f"not a LoCoMo conversation: missing or bad {exc}") from exc


def read_json(path: Path) -> Any:
    """The JSON document in ``path`` (UTF-8).

    Raises:
        ValidationError: the file is not UTF-8 JSON.
        OSError: the file cannot be read.
    """
    with path.open(encoding="utf-8") as stream:
        try:
            return json.load(stream)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{path}: invalid JSON: {exc.msg}", path=str(path)) from exc
        except UnicodeDecodeError as exc:
            raise ValidationError(f"{path}: not UTF-8 ({exc.reason})", path=str(path)) from exc
        except RecursionError as exc:
            raise ValidationError(
                f"{path}: invalid JSON: nested too deeply", path=str(path)
            ) from exc


def read_locomo(path: Path, *, limit: int | None = None) -> list[LocomoConversation]:
    """Read a LoCoMo JSON file (a list of conversations); ``limit`` keeps the first N.

    Raises:
        ValidationError: the file is not JSON or not LoCoMo-shaped.
        OSError: the file cannot be read.
    """
    data = read_json(path)
    if not isinstance(data, list):
        raise ValidationError(f"{path}: expected a JSON list of conversations", path=str(path))
    samples = data if limit is None else data[:limit]
    return [parse_conversation(sample) for sample in samples]


def namespace_for(conversation: LocomoConversation, prefix: str = "locomo") -> str:
    """The namespace of a conversation: ``locomo-<sample_id>``."""
    return f"{prefix}-{conversation.sample_id}"


def conversation_inputs(conversation: LocomoConversation, namespace: str) -> list[MemoryInput]:
    """One ``message`` input per turn, in order (for ``Memory.add_many``).

    Metadata: ``dia_id``, ``speaker``, ``session``, ``session_date`` (the raw string).
    """
    return [
        MemoryInput(
            content=turn_content(turn.speaker, turn.text, turn.blip_caption),
            kind="message",
            namespace=namespace,
            session_id=turn.session,
            metadata={
                "dia_id": turn.dia_id,
                "speaker": turn.speaker,
                "session": turn.session,
                "session_date": turn.session_date,
            },
            created_at=turn.created_at,
        )
        for turn in conversation.turns
    ]
