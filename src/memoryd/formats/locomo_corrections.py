"""The corrected LoCoMo answer key: ``evidence_changes.json`` of the locomo-audit.

The file (dial481/locomo-audit) is a JSON list of the questions whose
audited evidence differs from ``locomo10.json``::

    {"question_id": "locomo_0_qa4", "sample_id": "conv-26", "qa_index": 4,
     "category": 1, "error_type": "WRONG_CITATION",
     "original_evidence": ["D1:5"], "corrected_evidence": ["D3:1", "D11:14"]}

``question_id`` ``locomo_{i}_qa{k}`` is ``locomo10.json[i]["qa"][k]`` (both
0-based). A corrected evidence list may be empty (the question then has no
evidence under the corrected key, and counts like the original key's
questions without evidence).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from memoryd.errors import ValidationError
from memoryd.formats.locomo import LocomoConversation, normalize_evidence, read_json

__all__ = ["EvidenceChange", "apply_corrections", "read_corrections"]

_QUESTION_ID = re.compile(r"^locomo_(\d+)_qa(\d+)$")


class EvidenceChange(BaseModel):
    """One question whose evidence the audit changed."""

    model_config = ConfigDict(frozen=True)

    question_id: str
    sample_id: str
    qa_index: int
    category: int
    error_type: str
    original_evidence: list[str]
    corrected_evidence: list[str]

    @property
    def conversation_index(self) -> int:
        """``i`` of ``locomo_{i}_qa{k}``: the conversation's place in ``locomo10.json``."""
        match = _QUESTION_ID.match(self.question_id)
        if match is None or int(match.group(2)) != self.qa_index:
            raise ValidationError(
                f"question_id {self.question_id!r} is not locomo_<i>_qa{self.qa_index}",
                question_id=self.question_id,
            )
        return int(match.group(1))


def read_corrections(path: Path) -> list[EvidenceChange]:
    """Read ``evidence_changes.json``.

    Raises:
        ValidationError: the file is not JSON, not a list of changes, or a
            ``question_id`` does not match its ``qa_index``.
        OSError: the file cannot be read.
    """
    data = read_json(path)
    if not isinstance(data, list):
        raise ValidationError(f"{path}: expected a JSON list of evidence changes", path=str(path))
    try:
        changes = [EvidenceChange.model_validate(item) for item in data]
    except PydanticValidationError as exc:
        raise ValidationError(f"{path}: not an evidence change: {exc}", path=str(path)) from exc
    for change in changes:
        _ = change.conversation_index
    return changes


def _corrected(change: EvidenceChange, known: set[str]) -> list[str]:
    """The corrected evidence, normalized; every id must be a turn of the conversation."""
    ids = change.corrected_evidence
    valid = normalize_evidence(ids, known)
    if valid != normalize_evidence(ids):
        raise ValidationError(
            f"{change.question_id}: corrected_evidence names turns not in {change.sample_id}",
            question_id=change.question_id,
            evidence=ids,
        )
    return valid


def apply_corrections(
    conversations: Sequence[LocomoConversation], changes: Sequence[EvidenceChange]
) -> tuple[list[LocomoConversation], int]:
    """``conversations`` with ``corrected_evidence`` set on the changed questions.

    ``conversations`` are the first N of ``locomo10.json`` in file order;
    changes to conversations beyond them are left out.

    Returns:
        The corrected conversations (copies) and the number of changes applied.

    Raises:
        ValidationError: a change does not fit the file: another ``sample_id``
            or category at its place, no such question, its original evidence
            differs from the file's, or it names turns the conversation lacks.
    """
    out = list(conversations)
    applied = 0
    for index, conversation in enumerate(conversations):
        mine = [c for c in changes if c.conversation_index == index]
        if not mine:
            continue
        known = {turn.dia_id for turn in conversation.turns}
        questions = list(conversation.questions)
        for change in mine:
            if change.sample_id != conversation.sample_id or change.qa_index >= len(questions):
                raise ValidationError(
                    f"{change.question_id}: no such question in {conversation.sample_id}",
                    question_id=change.question_id,
                    sample_id=change.sample_id,
                )
            question = questions[change.qa_index]
            original = normalize_evidence(change.original_evidence, known)
            if original != question.evidence or change.category != question.category:
                raise ValidationError(
                    f"{change.question_id}: original evidence or category differs from the file",
                    question_id=change.question_id,
                    expected=question.evidence,
                    given=original,
                )
            corrected = _corrected(change, known)
            questions[change.qa_index] = question.model_copy(
                update={"corrected_evidence": corrected}
            )
            applied += 1
        out[index] = conversation.model_copy(update={"questions": questions})
    return out, applied
