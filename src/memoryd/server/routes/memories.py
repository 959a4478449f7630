"""``/v1/memories``: save, read, change, delete, list, supersede, history; ``/v1/search``;
``/v1/forget`` (erase a subject).

Every route parses, calls :class:`~memoryd.Memory` and renders; errors are
the engine's (see ``server/errors.py`` for the wire shape).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from memoryd.inputs import filter_from_json
from memoryd.operations.bodies import BatchInput
from memoryd.reports import ForgetScope
from memoryd.server.openapi_errors import COMMON_ERRORS, error_responses
from memoryd.server.routes.deps import MemoryDep, Namespace, StateDep, endpoint, json_response
from memoryd.types import (
    Kind,
    MemoryInput,
    MemoryPatch,
    SearchParams,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["memories"], responses=error_responses(*COMMON_ERRORS))


@endpoint(router, "add")
def add_memory(body: MemoryInput, memory: MemoryDep) -> Response:
    """Save one memory; returns the stored entry (or the existing duplicate)."""
    return json_response(memory.add(body), 201)


@endpoint(router, "add_many")
def add_memories(body: BatchInput, memory: MemoryDep) -> Response:
    """Save many memories in order; one transaction per 256 items."""
    return json_response(memory.add_many(body.items))


@endpoint(router, "list")
def list_memories(
    memory: MemoryDep,
    namespace: Namespace = "default",
    kinds: Annotated[list[Kind] | None, Query()] = None,
    session_id: str | None = None,
    tags: Annotated[list[str] | None, Query()] = None,
    filter: Annotated[str | None, Query(description="A Filter tree as a JSON string.")] = None,
    limit: int = 50,
    cursor: str | None = None,
    include_superseded: bool = False,
) -> Response:
    """A page of entries, newest first; pass ``next_cursor`` back as ``cursor``."""
    return json_response(
        memory.list(
            namespace=namespace,
            kinds=kinds,
            session_id=session_id,
            tags=tags,
            filter=filter_from_json(filter),
            limit=limit,
            cursor=cursor,
            include_superseded=include_superseded,
        )
    )


@endpoint(router, "get")
def get_memory(id: str, memory: MemoryDep, namespace: Namespace = "default") -> Response:
    """The entry ``id`` in ``namespace`` (404 ``not_found`` otherwise, foreign ids too)."""
    return json_response(memory.get(id, namespace=namespace))


@endpoint(router, "update")
def update_memory(
    id: str, body: MemoryPatch, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """Change fields in place (only those present in the body); new content is re-embedded."""
    return json_response(memory.update(id, body, namespace=namespace))


@endpoint(router, "delete", response_class=Response)
def delete_memory(id: str, memory: MemoryDep, namespace: Namespace = "default") -> Response:
    """Delete for good; 204 on success, 404 if absent."""
    memory.delete(id, namespace=namespace)
    return Response(status_code=204)


@endpoint(router, "supersede")
def supersede_memory(
    id: str, body: MemoryInput, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """Replace ``id`` by a new entry kept in its history (409 ``conflict`` if done already;
    409 ``id_conflict`` if the body's ``id`` is taken in the namespace).

    Fields absent from the body (kind, session, agent, user, tags, metadata,
    importance) are inherited from the old entry; ``namespace`` is the query's.
    """
    given = body.model_dump(exclude_unset=True, exclude={"namespace"})
    return json_response(memory.supersede(id, given, namespace=namespace), 201)


@endpoint(router, "history")
def memory_history(id: str, memory: MemoryDep, namespace: Namespace = "default") -> Response:
    """The supersede chain containing ``id``, oldest first."""
    return json_response(memory.history(id, namespace=namespace))


@endpoint(router, "forget")
def forget(body: ForgetScope, memory: MemoryDep) -> Response:
    """Erase a namespace, a user or an agent completely: every kind, caches and on-disk copies.

    Fields are AND-ed; at least one is required (422 otherwise). Returns the
    counts removed and whether the WAL and index copies are gone too (``erased``).
    """
    return json_response(
        memory.forget(namespace=body.namespace, user_id=body.user_id, agent_id=body.agent_id)
    )


@endpoint(router, "search", tags=["search"])
def search(body: SearchParams, memory: MemoryDep, state: StateDep) -> Response:
    """Hybrid (BM25 + vector), keyword or vector search; see ``SearchParams``."""
    result = memory.search(body)
    state.metrics.search_latency.labels(result.mode).observe(result.took_ms / 1000)
    return json_response(result)
