"""``/v1/episodes/...`` (episode lifecycle) and ``/v1/context`` (``retrieve_context``).

Every route parses, calls :class:`~memoryd.Memory` and renders; errors are
the engine's (``episode_not_found`` 404, ``episode_already_completed`` 409,
``validation_error`` 422; see ``server/errors.py`` for the wire shape).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from memoryd.learning.models import (
    EpisodeInput,
    EpisodePatch,
)
from memoryd.operations.learning_bodies import (
    CheckpointBody,
    CompleteBody,
    ContextQuery,
    ResumeBody,
    StepsBody,
)
from memoryd.server.openapi_errors import COMMON_ERRORS, error_responses
from memoryd.server.routes.deps import MemoryDep, Namespace, endpoint, json_response

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["episodes"], responses=error_responses(*COMMON_ERRORS))


@endpoint(router, "start_episode")
def start_episode(
    body: EpisodeInput, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """Start an episode (status ``running``)."""
    return json_response(
        memory.start_episode(body.model_copy(update={"namespace": namespace})), 201
    )


@endpoint(router, "list_episodes")
def list_episodes(
    memory: MemoryDep,
    namespace: Namespace = "default",
    domain: str | None = None,
    task_type: str | None = None,
    status: str | None = None,
    outcome: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Response:
    """A page of episodes (without steps), newest first."""
    return json_response(
        memory.list_episodes(
            namespace=namespace,
            domain=domain,
            task_type=task_type,
            status=status,
            outcome=outcome,
            limit=limit,
            cursor=cursor,
        )
    )


@endpoint(router, "get_episode")
def get_episode(
    id: str,
    memory: MemoryDep,
    namespace: Namespace = "default",
    include_steps: Annotated[bool, Query()] = True,
) -> Response:
    """The episode with its steps."""
    return json_response(memory.get_episode(id, namespace=namespace, include_steps=include_steps))


@endpoint(router, "update_episode")
def update_episode(
    id: str, body: EpisodePatch, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """Replace tags and/or merge metadata keys."""
    return json_response(memory.update_episode(id, body, namespace=namespace))


@endpoint(router, "delete_episode")
def delete_episode(id: str, memory: MemoryDep, namespace: Namespace = "default") -> Response:
    """Delete the episode, its steps and its evidence in patterns."""
    memory.delete_episode(id, namespace=namespace)
    return Response(status_code=204)


@endpoint(router, "log_steps")
def log_steps(
    id: str, body: StepsBody, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """Append steps; the response is sent after they are committed."""
    return json_response(memory.log_steps(id, body.steps, namespace=namespace), 201)


@endpoint(router, "complete_episode")
def complete_episode(
    id: str, body: CompleteBody, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """Complete the episode: reward, reflection, and queued pattern extraction (or why not)."""
    return json_response(
        memory.complete_episode(
            id, body.outcome, applied_patterns=body.applied_patterns, namespace=namespace
        )
    )


@endpoint(router, "checkpoint_episode")
def checkpoint_episode(
    id: str, body: CheckpointBody, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """Record a checkpoint and return the hand-off pack."""
    return json_response(
        memory.checkpoint_episode(id, note=body.note, agent_id=body.agent_id, namespace=namespace)
    )


@endpoint(router, "resume_episode")
def resume_episode(
    id: str, body: ResumeBody, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """The hand-off pack to continue the episode; ``agent_id`` takes it over."""
    return json_response(memory.resume_episode(id, agent_id=body.agent_id, namespace=namespace))


@endpoint(router, "retrieve_context")
def retrieve_context(
    body: ContextQuery, memory: MemoryDep, namespace: Namespace = "default"
) -> Response:
    """Past episodes and patterns most useful for a new task, with the reasons."""
    return json_response(
        memory.retrieve_context(
            body.task,
            domain=body.domain,
            task_type=body.task_type,
            context=body.context,
            limit=body.limit,
            namespace=namespace,
        )
    )
