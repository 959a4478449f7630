"""Dependencies and the JSON rendering shared by the routes.

Routes return :func:`json_response` instead of a model: pydantic's own
serializer renders the body in the worker thread that ran the engine call,
so FastAPI neither re-validates the model nor hops to another thread to
serialise it (each hop is a thread hand-off through the event loop, ~0.2 ms
on two cores). Each route keeps its ``response_model`` for the OpenAPI document.

:func:`endpoint` declares a route from the operation registry
(:mod:`memoryd.operations`): method, path, success status, response model and
documented error answers all come from the operation's declaration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import cache
from typing import Annotated, Any, TypeVar, get_origin

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, TypeAdapter

from memoryd.engine import Memory
from memoryd.operations import operation
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
]

Route = TypeVar("Route", bound=Callable[..., Any])


def endpoint(router: APIRouter, name: str, **extra: Any) -> Callable[[Route], Route]:
    """A decorator that adds the route of operation ``name`` to ``router``.

    The method, path (less the router's prefix), success status, response
    model (the REST one if declared, else the operation's; none for ``204``
    or a stream) and the error answers only this operation gives come from
    :func:`memoryd.operations.operation`; ``extra`` passes the rest to
    :meth:`fastapi.APIRouter.api_route` (tags, ``response_class``, ``openapi_extra``).

    Raises:
        KeyError: ``name`` is not a declared operation.
        ValueError: the operation has no route of its own (no ``rest``, or ``via``).
    """
    op = operation(name)
    rest = op.rest
    if rest is None or rest.via is not None:
        raise ValueError(f"{name} has no REST route of its own")
    model = rest.response if rest.response is not None else op.response
    if rest.status == 204 or get_origin(model) is Iterator:
        model = None
    options: dict[str, Any] = {"methods": [rest.method], "response_model": model}
    if rest.status != 200:
        options["status_code"] = rest.status
    if op.error_statuses:
        options["responses"] = error_responses(*op.error_statuses)
    return router.api_route(rest.path.removeprefix(router.prefix), **options, **extra)


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
