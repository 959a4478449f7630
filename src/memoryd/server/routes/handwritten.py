"""The ``/v1`` routes of operations declared ``hand_route``, besides the system ones.

Each does work its declaration cannot say (``routes/generated.py`` builds
every other route): ``search`` records its latency by mode,
``session_messages`` serves ``last_messages`` too (``?last=N``),
``start_episode`` puts the query's namespace into the body. Errors are the
engine's (see ``server/errors.py`` for the wire shape). ``system.py`` has
stats, export and import.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from memoryd.bounds import MAX_LAST_MESSAGES
from memoryd.learning.models import EpisodeInput
from memoryd.server.openapi_errors import COMMON_ERRORS, error_responses
from memoryd.server.routes.deps import MemoryDep, Namespace, StateDep, endpoint, json_response
from memoryd.types import SearchParams

__all__ = ["router"]

router = APIRouter(prefix="/v1", responses=error_responses(*COMMON_ERRORS))


@endpoint(router, "search", tags=["search"])
def search(body: SearchParams, memory: MemoryDep, state: StateDep) -> Response:
    """Hybrid (BM25 + vector), keyword or vector search; see ``SearchParams``."""
    result = memory.search(body)
    state.metrics.search_latency.labels(result.mode).observe(result.took_ms / 1000)
    return json_response(result)


@endpoint(router, "session_messages")
def session_messages(
    session_id: str,
    memory: MemoryDep,
    namespace: Namespace = "default",
    last: Annotated[
        int | None, Query(ge=1, le=MAX_LAST_MESSAGES, description="Only the last N turns.")
    ] = None,
) -> Response:
    """Turns of the session, oldest first: all of them, or the last ``last``."""
    if last is None:
        return json_response(memory.session_messages(session_id, namespace=namespace))
    return json_response(memory.last_messages(session_id, last, namespace=namespace))


@endpoint(router, "start_episode")
def start_episode(
    body: EpisodeInput, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """Start an episode (status ``running``)."""
    return json_response(
        memory.start_episode(body.model_copy(update={"namespace": namespace})), 201
    )
