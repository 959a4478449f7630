"""Dependencies and the JSON rendering shared by the routes.

Routes return :func:`json_response` instead of a model: pydantic's own
serializer renders the body in the worker thread that ran the engine call,
so FastAPI neither re-validates the model nor hops to another thread to
serialise it (each hop is a thread hand-off through the event loop, ~0.2 ms
on two cores). Each route keeps its ``response_model`` for the OpenAPI document.

:func:`route_options` reads a route from the operation registry
(:mod:`memoryd.operations`): method, path, success status, response model,
tag and documented error answers all come from the operation's declaration.
``routes/generated.py`` builds the routes of most operations from it alone;
:func:`endpoint` declares the few written by hand (``Rest.hand_route``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import cache
from typing import Annotated, Any, TypeVar, get_origin

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, TypeAdapter

from memoryd.engine import Memory
from memoryd.operations import Operation, operation
from memoryd.server.openapi_errors import error_responses
from memoryd.server.state import ServerState

__all__ = [
    "MemoryDep",
    "Namespace",
    "StateDep",
    "endpoint",
    "get_memory",
    "get_state",
    "json_response",
    "route_options",
    "tag_of",
]

Route = TypeVar("Route", bound=Callable[..., Any])


#: The OpenAPI tag of the routes under a path (the path itself or below it),
#: where the tag is not the path's first segment after ``/v1``.
_TAGS = {
    "/v1/search": "memories",
    "/v1/forget": "memories",
    "/v1/sessions/{session_id}/messages": "conversations",
    "/v1/sessions/{session_id}/state": "state",
    "/v1/context": "episodes",
    "/v1/analysis": "patterns",
    "/v1/stats": "system",
    "/v1/storage": "system",
    "/v1/export": "system",
    "/v1/import": "system",
}


def tag_of(path: str) -> str:
    """The OpenAPI tag of a ``/v1`` route: its resource (``/v1/kv/{key:path}`` → ``kv``)."""
    for prefix, tag in _TAGS.items():
        if path == prefix or path.startswith(prefix + "/"):
            return tag
    return path.removeprefix("/v1/").split("/", 1)[0]


def route_options(router: APIRouter, op: Operation, **extra: Any) -> dict[str, Any]:
    """The :meth:`fastapi.APIRouter.api_route` arguments of operation ``op``'s route.

    The method, path (less the router's prefix), success status, response
    model (the REST one if declared, else the operation's; none for ``204``
    or a stream), tag (:func:`tag_of`, unless the router carries it) and the
    error answers only this operation gives come from the declaration;
    ``extra`` adds the rest (more ``tags``, ``response_class``, ``openapi_extra``).

    Raises:
        ValueError: the operation has no route of its own (no ``rest``, or ``via``).
    """
    rest = op.rest
    if rest is None or rest.via is not None:
        raise ValueError(f"{op.name} has no REST route of its own")
    model = rest.response if rest.response is not None else op.response
    if rest.status == 204 or get_origin(model) is Iterator:
        model = None
    tag = tag_of(rest.path)
    tags = [*([] if tag in router.tags else [tag]), *extra.pop("tags", [])]
    options: dict[str, Any] = {
        "path": rest.path.removeprefix(router.prefix),
        "methods": [rest.method],
        "response_model": model,
        **({"tags": tags} if tags else {}),
        **extra,
    }
    if rest.status != 200:
        options["status_code"] = rest.status
    if op.error_statuses:
        options["responses"] = error_responses(*op.error_statuses)
    return options


def endpoint(router: APIRouter, name: str, **extra: Any) -> Callable[[Route], Route]:
    """A decorator that adds the hand-written route of operation ``name`` to ``router``.

    Everything but the function comes from the declaration
    (:func:`route_options`, which ``extra`` is passed to). Only operations
    declared ``hand_route`` have one; ``routes/generated.py`` builds the rest.

    Raises:
        KeyError: ``name`` is not a declared operation.
        ValueError: the operation has no route of its own, or its route is
            not declared ``hand_route``.
    """
    op = operation(name)
    if op.rest is not None and not op.rest.hand_route:
        raise ValueError(f"{name}: its route is built from the registry (not hand_route)")
    return router.api_route(**route_options(router, op, **extra))


async def get_state(request: Request) -> ServerState:
    """The app's :class:`ServerState` (async: resolved on the event loop, no thread hop)."""
    state: ServerState = request.app.state.server
    return state


async def get_memory(request: Request) -> Memory:
    """The open engine; raises ``BackendUnavailable`` (503) until it is ready."""
    return (await get_state(request)).memory()


@cache
def _list_adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def json_response(value: BaseModel | Sequence[BaseModel], status_code: int = 200) -> Response:
    """``value`` rendered as JSON (field aliases used) in an ``application/json`` response.

    Args:
        value: a pydantic model, or a list of models of one type (``[]`` renders ``[]``).
        status_code: the HTTP status (the route's documented one).
    """
    if isinstance(value, BaseModel):
        body = value.model_dump_json(by_alias=True)
    elif not value:
        body = "[]"
    else:
        body = _list_adapter(type(value[0])).dump_json(list(value), by_alias=True).decode()
    return Response(body, status_code=status_code, media_type="application/json")


MemoryDep = Annotated[Memory, Depends(get_memory)]
StateDep = Annotated[ServerState, Depends(get_state)]
Namespace = Annotated[str, Query(description="Tenant scope of the record.")]
