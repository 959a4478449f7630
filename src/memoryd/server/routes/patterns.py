"""``/v1/patterns/...`` (recommend, feedback, extract, decay, analyze) and ``/v1/analysis``.

Every route parses, calls :class:`~memoryd.Memory` and renders; errors are
the engine's (``pattern_not_found`` 404, ``invalid_series`` 422, ...).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from memoryd.learning.models import (
    FeedbackInput,
    PatternKind,
)
from memoryd.operations.learning_bodies import (
    AnalyzeBody,
    DecayBody,
    ExtractBody,
    RecommendBody,
    SearchBody,
    SeriesBody,
)
from memoryd.server.openapi_errors import COMMON_ERRORS, error_responses
from memoryd.server.routes.deps import MemoryDep, Namespace, endpoint, json_response

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["patterns"], responses=error_responses(*COMMON_ERRORS))


@endpoint(router, "list_patterns")
def list_patterns(
    memory: MemoryDep,
    namespace: Namespace = "default",
    kinds: Annotated[list[PatternKind] | None, Query()] = None,
    domain: str | None = None,
    task_type: str | None = None,
    include_archived: bool = False,
    limit: int = 100,
) -> Response:
    """Live patterns, best Wilson lower bound first."""
    return json_response(
        memory.list_patterns(
            namespace=namespace,
            kinds=kinds,
            domain=domain,
            task_type=task_type,
            include_archived=include_archived,
            limit=limit,
        )
    )


@endpoint(router, "recommend_patterns")
def recommend_patterns(
    body: RecommendBody, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """Patterns for a task, ranked by relevance, effectiveness and recency."""
    return json_response(
        memory.recommend_patterns(
            body.task,
            domain=body.domain,
            task_type=body.task_type,
            kinds=body.kinds,
            limit=body.limit,
            namespace=namespace,
        )
    )


@endpoint(router, "search_patterns")
def search_patterns(
    body: SearchBody, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """Patterns whose description is closest to the query."""
    return json_response(
        memory.search_patterns(
            body.query, domain=body.domain, kinds=body.kinds, limit=body.limit, namespace=namespace
        )
    )


@endpoint(router, "extract_patterns")
def extract_patterns(body: ExtractBody, memory: MemoryDep) -> Response:
    """Drain the extraction queue now (the background worker does it too)."""
    return json_response(memory.extract_patterns(limit=body.limit))


@endpoint(router, "decay_patterns")
def decay_patterns(
    body: DecayBody, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """Archive patterns whose decayed effectiveness fell below ``min_score``."""
    return json_response(
        memory.decay_patterns(
            namespace=namespace,
            min_score=body.min_score,
            min_age_days=body.min_age_days,
            dry_run=body.dry_run,
        )
    )


@endpoint(router, "analyze_patterns")
def analyze_patterns(
    body: AnalyzeBody, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """Patterns above a success rate, with statistics."""
    return json_response(
        memory.analyze_patterns(
            task_type=body.task_type,
            min_success_rate=body.min_success_rate,
            limit=body.limit,
            domain=body.domain,
            namespace=namespace,
        )
    )


@endpoint(router, "get_pattern")
def get_pattern(id: str, memory: MemoryDep, namespace: Namespace = "default") -> Response:
    """One pattern (a merged id gives the pattern it was merged into)."""
    return json_response(memory.get_pattern(id, namespace=namespace))


@endpoint(router, "record_feedback")
def record_feedback(
    id: str, body: FeedbackInput, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """Record whether the pattern was applied and how it went."""
    return json_response(
        memory.record_feedback(
            id,
            applied=body.applied,
            success=body.success,
            reward=body.reward,
            episode_id=body.episode_id,
            namespace=namespace,
        )
    )


@endpoint(router, "advanced_pattern_analysis")
def advanced_pattern_analysis(body: SeriesBody, memory: MemoryDep) -> Response:
    """Statistics, trend, forecast, anomalies, change points or Granger causality."""
    return json_response(memory.advanced_pattern_analysis(body.kind, body.series, body.config))
