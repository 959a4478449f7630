"""LongMemEval retrieval evaluation: session- and turn-level recall@k and NDCG, per type.

Method: each question's haystack goes into its own namespace, every
non-blank turn one dated ``message`` in its session
(:func:`memoryd.formats.longmemeval.question_inputs`); the question is
searched there once with ``limit = max(ks)``. Abstention questions (``_abs``)
are left out. With ``E`` the evidence and ``R`` the retrieved ids, best first:

* session level (``E`` = ``answer_session_ids``, ``R`` = the distinct
  sessions of the hits): ``recall_any@k`` (some answer session in the top k),
  ``recall_all@k`` (all of them) and NDCG@10;
* turn level (``E`` = the ``has_answer`` turns, keyed ``<session id>:<turn
  index>``): ``recall@k = |E ∩ R_k| / |E|`` and NDCG@10.

Means are over questions, overall and per question type
(:mod:`memoryd.eval.metrics` holds the formulas, :mod:`memoryd.eval.harness`
the timing). ``limit`` and ``types`` pick a quick subset while streaming.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from pydantic import BaseModel

from memoryd.errors import ValidationError
from memoryd.eval.harness import (
    EvalRun,
    EvalTarget,
    ProgressSink,
    RunClock,
    ingest,
    timed_search,
)
from memoryd.eval.metrics import (
    DEFAULT_KS,
    check_ks,
    distinct,
    mean,
    ndcg_at_k,
    recall_all_at_k,
    recall_any_at_k,
    recall_at_k,
)
from memoryd.formats.longmemeval import (
    QUESTION_TYPES,
    LongMemEvalQuestion,
    namespace_for,
    question_inputs,
)
from memoryd.types import SearchMode

__all__ = [
    "NDCG_K",
    "TURN_KEY",
    "LongMemEvalReport",
    "QuestionOutcome",
    "Selection",
    "TypeScores",
    "check_types",
    "evaluate_longmemeval",
    "summarize_types",
]

#: The cut-off of the NDCG figures.
NDCG_K = 10
#: How turns are keyed, as the report says it.
TURN_KEY = "<haystack session id>:<1-based turn index in the session>; evidence = has_answer turns"


class QuestionOutcome(BaseModel):
    """One question's evidence and what was retrieved, best first (distinct sessions)."""

    question_id: str
    question_type: str
    answer_sessions: list[str]
    evidence_turns: list[str]
    retrieved_turns: list[str]
    retrieved_sessions: list[str]


class TypeScores(BaseModel):
    """Means over a set of questions (0..1); dicts map k to the mean."""

    name: str
    questions: int
    session_recall_any: dict[int, float]
    session_recall_all: dict[int, float]
    session_ndcg: float
    turn_recall: dict[int, float]
    turn_ndcg: float


class LongMemEvalReport(EvalRun):
    """Result of ``memoryd eval longmemeval`` (scores in 0..1, latencies in milliseconds)."""

    questions: int
    abstention_excluded: int
    """Abstention questions (``_abs``) met while reading and left out."""
    sessions: int
    turns: int
    """Non-blank haystack turns of the evaluated questions (each one memory)."""
    blank_turns: int
    ndcg_k: int = NDCG_K
    turn_key: str = TURN_KEY
    overall: TypeScores
    types: list[TypeScores]


def check_types(types: Iterable[str] | None) -> list[str]:
    """The question types to evaluate (all of :data:`QUESTION_TYPES` for ``None``), in that order.

    Raises:
        ValidationError: a name is not a LongMemEval question type, or none is given.
    """
    if types is None:
        return list(QUESTION_TYPES)
    wanted = set(types)
    unknown = sorted(wanted - set(QUESTION_TYPES))
    if unknown or not wanted:
        raise ValidationError(
            f"unknown question types {unknown}; known: {', '.join(QUESTION_TYPES)}",
            unknown=unknown,
        )
    return [t for t in QUESTION_TYPES if t in wanted]


class Selection:
    """Which questions of a stream to evaluate: non-abstention, of ``types``, within ``limit``.

    ``limit`` N is spread evenly over the types, in their order (60 over six
    types: the first 10 of each); a type with fewer questions leaves its
    share unused. Reading stops once every share is filled.
    """

    def __init__(self, types: Sequence[str], limit: int | None) -> None:
        if limit is not None and limit < 1:
            raise ValidationError("limit must be at least 1", limit=limit)
        self.types = list(types)
        self.quota: dict[str, int] | None = None
        if limit is not None:
            base, extra = divmod(limit, len(self.types))
            self.quota = {t: base + (i < extra) for i, t in enumerate(self.types)}
        self.total = None if self.quota is None else sum(self.quota.values())
        """How many questions at most (``None``: as many as the file has)."""
        self.abstention_excluded = 0

    def pick(self, questions: Iterable[LongMemEvalQuestion]) -> Iterator[LongMemEvalQuestion]:
        """The selected questions of ``questions``, in file order."""
        for question in questions:
            if question.abstention:
                self.abstention_excluded += 1
                continue
            if question.question_type not in self.types:
                continue
            if self.quota is not None:
                if self.quota[question.question_type] == 0:
                    continue
                self.quota[question.question_type] -= 1
            yield question
            if self.quota is not None and not any(self.quota.values()):
                return


_Metric = Callable[[Sequence[str], Sequence[str], int], float]


def _scores(name: str, outcomes: Sequence[QuestionOutcome], ks: Sequence[int]) -> TypeScores:
    sessions = [(o.answer_sessions, o.retrieved_sessions) for o in outcomes]
    turns = [(o.evidence_turns, o.retrieved_turns) for o in outcomes]

    def per_k(metric: _Metric, pairs: list[tuple[list[str], list[str]]]) -> dict[int, float]:
        return {k: mean(metric(e, r, k) for e, r in pairs) for k in ks}

    return TypeScores(
        name=name,
        questions=len(outcomes),
        session_recall_any=per_k(recall_any_at_k, sessions),
        session_recall_all=per_k(recall_all_at_k, sessions),
        session_ndcg=mean(ndcg_at_k(e, r, NDCG_K) for e, r in sessions),
        turn_recall=per_k(recall_at_k, turns),
        turn_ndcg=mean(ndcg_at_k(e, r, NDCG_K) for e, r in turns),
    )


def summarize_types(
    outcomes: Sequence[QuestionOutcome], ks: Sequence[int]
) -> tuple[TypeScores, list[TypeScores]]:
    """Overall and per-type means (types in :data:`QUESTION_TYPES` order, present ones only)."""
    overall = _scores("overall", outcomes, ks)
    present = {o.question_type for o in outcomes}
    by_type = [
        _scores(t, [o for o in outcomes if o.question_type == t], ks)
        for t in QUESTION_TYPES
        if t in present
    ]
    return overall, by_type


def _run_one(
    target: EvalTarget,
    question: LongMemEvalQuestion,
    clock: RunClock,
    *,
    mode: SearchMode,
    limit: int,
) -> QuestionOutcome:
    """Ingest the question's haystack (unless its namespace holds it), then search it once."""
    namespace = namespace_for(question)
    ingest(target, namespace, question_inputs(question, namespace), clock)
    found = timed_search(
        target, question.question, clock, namespace=namespace, limit=limit, mode=mode
    )
    return QuestionOutcome(
        question_id=question.question_id,
        question_type=question.question_type,
        answer_sessions=question.answer_session_ids,
        evidence_turns=question.evidence_turns,
        retrieved_turns=[str(hit.entry.metadata.get("turn", "")) for hit in found.hits],
        retrieved_sessions=distinct(hit.entry.session_id or "" for hit in found.hits),
    )


def evaluate_longmemeval(
    target: EvalTarget,
    questions: Iterable[LongMemEvalQuestion],
    *,
    mode: SearchMode = "hybrid",
    ks: Sequence[int] = DEFAULT_KS,
    types: Sequence[str] | None = None,
    limit: int | None = None,
    dataset: str = "longmemeval",
    progress: ProgressSink | None = None,
) -> LongMemEvalReport:
    """Evaluate the selected ``questions`` (streamed: each is ingested, searched, dropped).

    ``types`` keeps those question types (default all); ``limit`` N keeps N
    questions spread evenly over them (see :class:`Selection`).

    Returns:
        A :class:`LongMemEvalReport`.

    Raises:
        ValidationError: ``ks`` is empty or outside 1..1000, ``types`` names an
            unknown type, ``limit`` < 1, a question of the stream is malformed,
            or its namespace holds part of its turns (:func:`memoryd.eval.harness.ingest`).
    """
    ordered = check_ks(ks)
    selection = Selection(check_types(types), limit)
    clock = RunClock()
    if progress is not None:
        progress.stage("questions", selection.total)
    outcomes: list[QuestionOutcome] = []
    sessions = turns = blank = 0
    for question in selection.pick(questions):
        outcomes.append(_run_one(target, question, clock, mode=mode, limit=ordered[-1]))
        sessions += len(question.sessions)
        all_turns = [t for s in question.sessions for t in s.turns]
        blank += sum(1 for t in all_turns if t.blank)
        turns += len(all_turns)
        if progress is not None:
            progress.advance()
    overall, by_type = summarize_types(outcomes, ordered)
    return LongMemEvalReport(
        dataset=dataset,
        mode=mode,
        ks=ordered,
        questions=len(outcomes),
        abstention_excluded=selection.abstention_excluded,
        sessions=sessions,
        turns=turns - blank,
        blank_turns=blank,
        overall=overall,
        types=by_type,
        **clock.figures(),
    )
