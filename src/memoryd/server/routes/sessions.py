"""``/v1/sessions/{session_id}/...`` (conversation turns, session state) and ``/v1/kv/{key}``.

Keys may contain ``/`` (the last path segment takes the rest of the path);
clients percent-encode them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from memoryd.bounds import MAX_LAST_MESSAGES
from memoryd.server.openapi_errors import COMMON_ERRORS, error_responses
from memoryd.server.routes.deps import MemoryDep, Namespace, json_response
from memoryd.server.schemas import DeleteResult, KvInput, MessageInput, ValueInput, ValueOut
from memoryd.types import MemoryEntry

__all__ = ["router"]

router = APIRouter(prefix="/v1", responses=error_responses(*COMMON_ERRORS))


@router.post(
    "/sessions/{session_id}/messages",
    responses=error_responses(404, 409),
    status_code=201,
    response_model=MemoryEntry,
    tags=["conversations"],
)
def append_message(
    session_id: str, body: MessageInput, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """Append one turn to the session; returns the stored entry (kind ``message``)."""
    fields = body.model_dump(exclude_unset=True, exclude={"content", "role", "created_at"})
    return json_response(
        memory.append(
            session_id,
            body.content,
            role=body.role,
            namespace=namespace,
            created_at=body.created_at,
            **fields,
        ),
        201,
    )


@router.get(
    "/sessions/{session_id}/messages",
    responses=error_responses(404),
    response_model=list[MemoryEntry],
    tags=["conversations"],
)
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


@router.put(
    "/sessions/{session_id}/state/{key:path}",
    responses=error_responses(404, 409),
    response_model=MemoryEntry,
    tags=["state"],
)
def set_state(
    session_id: str,
    key: str,
    body: ValueInput,
    memory: MemoryDep,
    namespace: Namespace = "default",
) -> Response:
    """Save a JSON value under ``(session_id, key)``; re-saving updates in place."""
    return json_response(memory.set_state(session_id, key, body.value, namespace=namespace))


@router.get(
    "/sessions/{session_id}/state/{key:path}",
    responses=error_responses(404),
    response_model=ValueOut,
    tags=["state"],
)
def get_state(
    session_id: str, key: str, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """The value under ``(session_id, key)``; 404 ``not_found`` if none."""
    return json_response(ValueOut(value=memory.get_state(session_id, key, namespace=namespace)))


@router.delete(
    "/sessions/{session_id}/state/{key:path}",
    responses=error_responses(404),
    response_model=DeleteResult,
    tags=["state"],
)
def delete_state(
    session_id: str, key: str, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """Delete a state value; ``deleted`` is false if there was none."""
    return json_response(
        DeleteResult(deleted=memory.delete_state(session_id, key, namespace=namespace))
    )


@router.put(
    "/kv/{key:path}", responses=error_responses(404, 409), response_model=MemoryEntry, tags=["kv"]
)
def kv_set(
    key: str, body: KvInput, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """Save a JSON value under ``key``, optionally expiring after ``ttl_seconds`` seconds."""
    return json_response(
        memory.kv_set(key, body.value, ttl_seconds=body.ttl_seconds, namespace=namespace)
    )


@router.get("/kv/{key:path}", responses=error_responses(404), response_model=ValueOut, tags=["kv"])
def kv_get(key: str, memory: MemoryDep, namespace: Namespace = "default") -> Response:
    """The value under ``key``; 404 ``not_found`` if none or expired."""
    return json_response(ValueOut(value=memory.kv_get(key, namespace=namespace)))


@router.delete(
    "/kv/{key:path}", responses=error_responses(404), response_model=DeleteResult, tags=["kv"]
)
def kv_delete(key: str, memory: MemoryDep, namespace: Namespace = "default") -> Response:
    """Delete a key; ``deleted`` is false if there was none."""
    return json_response(DeleteResult(deleted=memory.kv_delete(key, namespace=namespace)))
