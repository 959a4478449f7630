"""``/v1/sessions/{session_id}/...`` (conversation turns, session state) and ``/v1/kv/{key}``.

Keys may contain ``/`` (the last path segment takes the rest of the path);
clients percent-encode them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from memoryd.bounds import MAX_LAST_MESSAGES
from memoryd.operations.bodies import DeleteResult, KvInput, MessageInput, ValueInput, ValueOut
from memoryd.server.openapi_errors import COMMON_ERRORS, error_responses
from memoryd.server.routes.deps import MemoryDep, Namespace, endpoint, json_response

__all__ = ["router"]

router = APIRouter(prefix="/v1", responses=error_responses(*COMMON_ERRORS))


@endpoint(router, "append", tags=["conversations"])
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


@endpoint(router, "session_messages", tags=["conversations"])
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


@endpoint(router, "set_state", tags=["state"])
def set_state(
    session_id: str,
    key: str,
    body: ValueInput,
    memory: MemoryDep,
    namespace: Namespace = "default",
) -> Response:
    """Save a JSON value under ``(session_id, key)``; re-saving updates in place."""
    return json_response(memory.set_state(session_id, key, body.value, namespace=namespace))


@endpoint(router, "get_state", tags=["state"])
def get_state(
    session_id: str, key: str, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """The value under ``(session_id, key)``; 404 ``not_found`` if none."""
    return json_response(ValueOut(value=memory.get_state(session_id, key, namespace=namespace)))


@endpoint(router, "delete_state", tags=["state"])
def delete_state(
    session_id: str, key: str, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """Delete a state value; ``deleted`` is false if there was none."""
    return json_response(
        DeleteResult(deleted=memory.delete_state(session_id, key, namespace=namespace))
    )


@endpoint(router, "kv_set", tags=["kv"])
def kv_set(
    key: str, body: KvInput, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """Save a JSON value under ``key``, optionally expiring after ``ttl_seconds`` seconds."""
    return json_response(
        memory.kv_set(key, body.value, ttl_seconds=body.ttl_seconds, namespace=namespace)
    )


@endpoint(router, "kv_get", tags=["kv"])
def kv_get(key: str, memory: MemoryDep, namespace: Namespace = "default") -> Response:
    """The value under ``key``; 404 ``not_found`` if none or expired."""
    return json_response(ValueOut(value=memory.kv_get(key, namespace=namespace)))


@endpoint(router, "kv_delete", tags=["kv"])
def kv_delete(key: str, memory: MemoryDep, namespace: Namespace = "default") -> Response:
    """Delete a key; ``deleted`` is false if there was none."""
    return json_response(DeleteResult(deleted=memory.kv_delete(key, namespace=namespace)))
