"""LoCoMo retrieval evaluation: recall@k of the evidence, turn and session level, per category.

Method (Maharana et al., ACL 2024, section 5 "retrieval-augmented
generation", turn-level observations): every turn is one memory in its
conversation's namespace; each question is searched in that namespace with
``limit = max(ks)``. For a question with evidence turn ids ``E`` and
retrieved turn ids ``R_k`` (top k hits)::

    recall@k = |E ∩ R_k| / |E|        (1.0 when E is empty)

averaged over questions, overall and per category (1 multi-hop, 2 temporal,
3 open-domain, 4 single-hop, 5 adversarial). ``E`` holds the valid ids only
(see :func:`memoryd.formats.locomo.normalize_evidence`). Session-level
recall@k is the same with ``E`` the sessions of the evidence turns and
``R_k`` the k best distinct sessions of the hits. With corrections
(:mod:`memoryd.formats.locomo_corrections`) both are also reported against
the corrected key. Timing: :mod:`memoryd.eval.harness`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from memoryd.eval.harness import (
    EvalRun,
    EvalTarget,
    ProgressSink,
    RunClock,
    ingest,
    timed_search,
)
from memoryd.eval.metrics import DEFAULT_KS, check_ks, distinct, mean, recall_at_k
from memoryd.formats.locomo import (
    CATEGORY_NAMES,
    LocomoConversation,
    conversation_inputs,
    namespace_for,
)
from memoryd.types import SearchMode

__all__ = [
    "CategoryRecall",
    "CorrectedKey",
    "LocomoReport",
    "QuestionResult",
    "evaluate_locomo",
    "summarize",
]


class CategoryRecall(BaseModel):
    """Mean recall@k over a set of questions; each maps k to the mean (0..1).

    ``recall`` is turn level (evidence ``dia_id``s), ``session_recall`` session
    level (the sessions of those turns among the k best distinct sessions).
    """

    name: str
    category: int | None = None
    questions: int
    recall: dict[int, float]
    session_recall: dict[int, float] = {}


class QuestionResult(BaseModel):
    """One question's outcome: its evidence and what was retrieved, best first.

    ``evidence``/``evidence_sessions`` are the original key, ``corrected``/
    ``corrected_sessions`` the corrected one where it differs (``None``: unchanged);
    ``retrieved_sessions`` are the sessions of ``retrieved``, distinct.
    """

    category: int
    evidence: list[str]
    retrieved: list[str]
    evidence_sessions: list[str] = []
    retrieved_sessions: list[str] = []
    corrected: list[str] | None = None
    corrected_sessions: list[str] | None = None

    def key(self, corrected: bool) -> tuple[list[str], list[str]]:
        """(turn evidence, session evidence) under the original or the corrected key."""
        if corrected and self.corrected is not None and self.corrected_sessions is not None:
            return self.corrected, self.corrected_sessions
        return self.evidence, self.evidence_sessions


class CorrectedKey(BaseModel):
    """Recall against the corrected answer key (``--corrections``)."""

    source: str
    changes: int
    """Questions whose evidence the corrections changed (in the conversations evaluated)."""
    questions_without_evidence: int
    overall: CategoryRecall
    categories: list[CategoryRecall]


class LocomoReport(EvalRun):
    """Result of ``memoryd eval locomo`` (recall in 0..1, latencies in milliseconds)."""

    conversations: int
    turns: int
    questions: int
    questions_without_evidence: int
    overall: CategoryRecall
    categories: list[CategoryRecall]
    corrected: CorrectedKey | None = None


def _mean_recall(
    name: str,
    category: int | None,
    results: Sequence[QuestionResult],
    ks: Sequence[int],
    corrected: bool,
) -> CategoryRecall:
    keyed = [(*r.key(corrected), r) for r in results]
    return CategoryRecall(
        name=name,
        category=category,
        questions=len(results),
        recall={k: mean(recall_at_k(e, r.retrieved, k) for e, _, r in keyed) for k in ks},
        session_recall={
            k: mean(recall_at_k(s, r.retrieved_sessions, k) for _, s, r in keyed) for k in ks
        },
    )


def summarize(
    results: Sequence[QuestionResult], ks: Sequence[int], *, corrected: bool = False
) -> tuple[CategoryRecall, list[CategoryRecall]]:
    """Overall and per-category mean recall@k (categories in 1..5 order, present ones only).

    ``corrected=True`` scores against the corrected key where a result has one.
    """
    overall = _mean_recall("overall", None, results, ks, corrected)
    categories = []
    for category in sorted({r.category for r in results}):
        subset = [r for r in results if r.category == category]
        name = CATEGORY_NAMES.get(category, f"category-{category}")
        categories.append(_mean_recall(name, category, subset, ks, corrected))
    return overall, categories


def _ingest(
    target: EvalTarget,
    conversations: Sequence[LocomoConversation],
    clock: RunClock,
    progress: ProgressSink | None,
) -> None:
    """Add every turn (batched); namespaces that already hold them are reused as they are."""
    if progress is not None:
        progress.stage("ingest", sum(len(c.turns) for c in conversations))
    for conversation in conversations:
        namespace = namespace_for(conversation)
        ingest(target, namespace, conversation_inputs(conversation, namespace), clock, progress)


def _search_all(
    target: EvalTarget,
    conversations: Sequence[LocomoConversation],
    clock: RunClock,
    *,
    mode: SearchMode,
    limit: int,
    progress: ProgressSink | None,
) -> list[QuestionResult]:
    if progress is not None:
        progress.stage("search", sum(len(c.questions) for c in conversations))
    results: list[QuestionResult] = []
    for conversation in conversations:
        namespace = namespace_for(conversation)
        session = {turn.dia_id: turn.session for turn in conversation.turns}
        for question in conversation.questions:
            found = timed_search(
                target, question.question, clock, namespace=namespace, limit=limit, mode=mode
            )
            retrieved = [str(hit.entry.metadata.get("dia_id", "")) for hit in found.hits]
            fixed = question.corrected_evidence
            results.append(
                QuestionResult(
                    category=question.category,
                    evidence=question.evidence,
                    retrieved=retrieved,
                    evidence_sessions=distinct(session[d] for d in question.evidence),
                    retrieved_sessions=distinct(session.get(d, "") for d in retrieved),
                    corrected=fixed,
                    corrected_sessions=None
                    if fixed is None
                    else distinct(session[d] for d in fixed),
                )
            )
            if progress is not None:
                progress.advance()
    return results


def evaluate_locomo(
    target: EvalTarget,
    conversations: Sequence[LocomoConversation],
    *,
    mode: SearchMode = "hybrid",
    ks: Sequence[int] = DEFAULT_KS,
    dataset: str = "locomo",
    progress: ProgressSink | None = None,
    corrections: tuple[str, int] | None = None,
) -> LocomoReport:
    """Ingest ``conversations`` into ``target`` and measure recall@k for each k in ``ks``.

    ``corrections`` = (source name, changes applied) when the conversations
    carry the corrected key (:func:`memoryd.formats.locomo_corrections.apply_corrections`);
    the report then has :attr:`LocomoReport.corrected`.

    Returns:
        A :class:`LocomoReport` (recall in 0..1, latencies in milliseconds).

    Raises:
        ValidationError: ``ks`` is empty or holds a k outside 1..1000, or a
            conversation's namespace holds part of its turns (see
            :func:`memoryd.eval.harness.ingest`).
    """
    ordered = check_ks(ks)
    clock = RunClock()
    _ingest(target, conversations, clock, progress)
    results = _search_all(
        target, conversations, clock, mode=mode, limit=ordered[-1], progress=progress
    )
    overall, categories = summarize(results, ordered)
    corrected = None
    if corrections is not None:
        fixed_overall, fixed_categories = summarize(results, ordered, corrected=True)
        corrected = CorrectedKey(
            source=corrections[0],
            changes=corrections[1],
            questions_without_evidence=sum(1 for r in results if not r.key(True)[0]),
            overall=fixed_overall,
            categories=fixed_categories,
        )
    return LocomoReport(
        dataset=dataset,
        mode=mode,
        ks=ordered,
        conversations=len(conversations),
        turns=sum(len(c.turns) for c in conversations),
        questions=len(results),
        questions_without_evidence=sum(1 for r in results if not r.evidence),
        overall=overall,
        categories=categories,
        corrected=corrected,
        **clock.figures(),
    )
