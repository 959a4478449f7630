"""LoCoMo retrieval evaluation: recall@k of the evidence turns, per category.

Method (Maharana et al., ACL 2024, section 5 "retrieval-augmented
generation", turn-level observations): every turn is one memory in its
conversation's namespace; each question is searched in that namespace with
``limit = max(ks)``. For a question with evidence turn ids ``E`` and
retrieved turn ids ``R_k`` (top k hits)::

    recall@k = |E ∩ R_k| / |E|        (1.0 when E is empty)

averaged over questions, overall and per category (1 multi-hop, 2 temporal,
3 open-domain, 4 single-hop, 5 adversarial). ``E`` holds the valid ids only
(see :func:`memoryd.formats.locomo.normalize_evidence`). Latencies are wall-clock
milliseconds around each search call; ingest throughput is turns per second
of ``add_many`` (embedding included).
"""

from __future__ import annotations

import builtins
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel

from memoryd.config import Settings
from memoryd.engine import Memory
from memoryd.errors import ValidationError
from memoryd.formats.locomo import (
    CATEGORY_NAMES,
    LocomoConversation,
    conversation_inputs,
    namespace_for,
)
from memoryd.types import MemoryEntry, MemoryInput, Page, SearchMode, SearchResult

__all__ = [
    "DEFAULT_KS",
    "CategoryRecall",
    "EvalTarget",
    "LocomoReport",
    "ProgressSink",
    "QuestionResult",
    "eval_memory",
    "evaluate_locomo",
    "recall_at_k",
    "summarize",
]

DEFAULT_KS: tuple[int, ...] = (1, 5, 10, 25, 50)
_BATCH = 256


class ProgressSink(Protocol):
    """Where the eval reports progress (the CLI draws rich bars on stderr)."""

    def stage(self, name: str, total: int) -> None:
        """A new stage (``"ingest"``, ``"search"``) of ``total`` units begins."""

    def advance(self, amount: int = 1) -> None:
        """``amount`` more units of the current stage are done."""


class EvalTarget(Protocol):
    """The part of the memory interface the eval needs (``Memory`` or ``Client``)."""

    def add_many(
        self, items: Sequence[MemoryInput], *, batch_size: int = ...
    ) -> builtins.list[MemoryEntry]: ...

    def search(self, query: str, **params: Any) -> SearchResult: ...

    def list(self, *, namespace: str = ..., limit: int = ...) -> Page: ...


class CategoryRecall(BaseModel):
    """Mean recall@k over a set of questions. ``recall`` maps k to the mean (0..1)."""

    name: str
    category: int | None = None
    questions: int
    recall: dict[int, float]


class QuestionResult(BaseModel):
    """One question's outcome: its valid evidence and the turn ids retrieved, best first."""

    category: int
    evidence: list[str]
    retrieved: list[str]


class LocomoReport(BaseModel):
    """Result of ``memoryd eval locomo``. Times are seconds unless named ``_ms``."""

    dataset: str
    mode: SearchMode
    ks: list[int]
    conversations: int
    turns: int
    questions: int
    questions_without_evidence: int
    overall: CategoryRecall
    categories: list[CategoryRecall]
    ingested_turns: int
    ingest_seconds: float
    ingest_turns_per_second: float | None
    search_p50_ms: float
    search_p95_ms: float
    total_seconds: float
    cpu_seconds: float
    """CPU time of this process (all threads) during the run; compare with ``total_seconds``
    to see how much the machine's other load slowed the wall clock."""
    embedding_model: str | None = None
    data_dir: str | None = None


def recall_at_k(evidence: Sequence[str], retrieved: Sequence[str], k: int) -> float:
    """Share of ``evidence`` ids found in ``retrieved[:k]``; 1.0 when there is no evidence.

    Example: ``recall_at_k(["D1:1", "D1:2"], ["D1:2", "D3:3"], 1) == 0.5``.
    """
    if not evidence:
        return 1.0
    top = set(retrieved[:k])
    return sum(1 for dia_id in evidence if dia_id in top) / len(evidence)


def _mean_recall(
    name: str, category: int | None, results: Sequence[QuestionResult], ks: Sequence[int]
) -> CategoryRecall:
    recall = {
        k: (
            float(np.mean([recall_at_k(r.evidence, r.retrieved, k) for r in results]))
            if results
            else 0.0
        )
        for k in ks
    }
    return CategoryRecall(name=name, category=category, questions=len(results), recall=recall)


def summarize(
    results: Sequence[QuestionResult], ks: Sequence[int]
) -> tuple[CategoryRecall, list[CategoryRecall]]:
    """Overall and per-category mean recall@k (categories in 1..5 order, present ones only)."""
    overall = _mean_recall("overall", None, results, ks)
    categories = []
    for category in sorted({r.category for r in results}):
        subset = [r for r in results if r.category == category]
        name = CATEGORY_NAMES.get(category, f"category-{category}")
        categories.append(_mean_recall(name, category, subset, ks))
    return overall, categories


def _ingest(
    target: EvalTarget,
    conversations: Sequence[LocomoConversation],
    progress: ProgressSink | None,
) -> tuple[int, float]:
    """Add every turn (batched); namespaces that already hold entries are reused as they are."""
    todo = [c for c in conversations if not target.list(namespace=namespace_for(c), limit=1).items]
    total = sum(len(c.turns) for c in todo)
    if progress is not None:
        progress.stage("ingest", total)
    started = time.perf_counter()
    for conversation in todo:
        inputs = conversation_inputs(conversation, namespace_for(conversation))
        for start in range(0, len(inputs), _BATCH):
            chunk = inputs[start : start + _BATCH]
            target.add_many(chunk, batch_size=_BATCH)
            if progress is not None:
                progress.advance(len(chunk))
    return total, time.perf_counter() - started


def _search_all(
    target: EvalTarget,
    conversations: Sequence[LocomoConversation],
    *,
    mode: SearchMode,
    limit: int,
    progress: ProgressSink | None,
) -> tuple[list[QuestionResult], list[float]]:
    if progress is not None:
        progress.stage("search", sum(len(c.questions) for c in conversations))
    results: list[QuestionResult] = []
    latencies: list[float] = []
    for conversation in conversations:
        namespace = namespace_for(conversation)
        for question in conversation.questions:
            started = time.perf_counter()
            found = target.search(question.question, namespace=namespace, limit=limit, mode=mode)
            latencies.append((time.perf_counter() - started) * 1000.0)
            retrieved = [str(hit.entry.metadata.get("dia_id", "")) for hit in found.hits]
            results.append(
                QuestionResult(
                    category=question.category, evidence=question.evidence, retrieved=retrieved
                )
            )
            if progress is not None:
                progress.advance()
    return results, latencies


def evaluate_locomo(
    target: EvalTarget,
    conversations: Sequence[LocomoConversation],
    *,
    mode: SearchMode = "hybrid",
    ks: Sequence[int] = DEFAULT_KS,
    dataset: str = "locomo",
    progress: ProgressSink | None = None,
) -> LocomoReport:
    """Ingest ``conversations`` into ``target`` and measure recall@k for each k in ``ks``.

    Returns:
        A :class:`LocomoReport` (recall in 0..1, latencies in milliseconds).

    Raises:
        ValidationError: ``ks`` is empty or holds a k outside 1..1000.
    """
    ordered = sorted(set(ks))
    if not ordered or ordered[0] < 1 or ordered[-1] > 1000:
        raise ValidationError("ks must be a non-empty list of integers in 1..1000", ks=list(ks))
    started, cpu_started = time.perf_counter(), time.process_time()
    ingested, ingest_seconds = _ingest(target, conversations, progress)
    results, latencies = _search_all(
        target, conversations, mode=mode, limit=ordered[-1], progress=progress
    )
    overall, categories = summarize(results, ordered)
    lat = np.asarray(latencies or [0.0])
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
        ingested_turns=ingested,
        ingest_seconds=ingest_seconds,
        ingest_turns_per_second=ingested / ingest_seconds if ingested and ingest_seconds else None,
        search_p50_ms=float(np.percentile(lat, 50)),
        search_p95_ms=float(np.percentile(lat, 95)),
        total_seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu_started,
    )


@contextmanager
def eval_memory(settings: Settings, data_dir: Path | None = None) -> Iterator[Memory]:
    """An in-process :class:`Memory` for an eval run.

    ``data_dir=None`` (default) uses a fresh temporary folder, deleted at exit;
    otherwise the store in ``data_dir`` is kept. Either way the embedding
    model is taken from ``settings.model_dir`` so it is exported only once.
    """
    with tempfile.TemporaryDirectory(prefix="memoryd-eval-") as scratch:
        folder = data_dir if data_dir is not None else Path(scratch)
        local = settings.model_copy(
            update={"data_dir": folder, "model_cache_dir": settings.model_dir}
        )
        with Memory(local, background=False) as memory:
            if local.keyword_index == "memory":  # every search of the run on one backend
                memory.store.keywords.start(background=False)
            yield memory
