"""The REST routes built from the operation registry: every route not written by hand.

For each operation with a route of its own (``Rest``, no ``via``) that is not
declared ``hand_route``, :func:`handler` makes the FastAPI handler from the
declaration and ``Memory``'s signature:

* path parameters are text, named as on the wire (``Rest.wire``: ``episode_id``
  is ``{id}``);
* the ``Rest.query`` arguments are query parameters with the type and default
  of ``Memory``'s signature (a ``Sequence`` is a repeated ``list``;
  ``namespace`` is documented as :data:`~memoryd.server.routes.deps.Namespace`;
  a ``Filter`` tree is JSON text, parsed by :func:`~memoryd.inputs.filter_from_json`);
* the body is ``Rest.body``. The library parameter whose type accepts that
  model takes it whole (``add``'s ``content``, ``update``'s ``patch``);
  otherwise each field goes to the parameter of its (wire) name, and a field
  that only ``**fields`` takes is passed when the request sets it;
* the result is rendered by :func:`~memoryd.server.routes.deps.json_response`
  with the declared status, wrapped in ``Rest.response`` when the declaration
  names the field that holds it (``Rest.unwrap``), or is an empty ``204``.

The handler is a plain ``def``, so FastAPI runs it (the engine call and the
rendering) in one worker thread. Its name and docstring are the OpenAPI
``operationId``, summary and description: the operation's name and the first
line of ``Memory``'s docstring, or the wire text kept in :data:`ROUTE_NAMES`
and :data:`ROUTE_DOCS`.
"""

from __future__ import annotations

import inspect
import operator
import types
from collections.abc import Callable, Mapping, Sequence
from functools import reduce
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from memoryd.engine import Memory
from memoryd.inputs import filter_from_json
from memoryd.operations import OPERATIONS, Operation
from memoryd.server.openapi_errors import COMMON_ERRORS, error_responses
from memoryd.server.routes.deps import MemoryDep, Namespace, json_response, route_options
from memoryd.types import Filter

__all__ = ["ROUTE_DOCS", "ROUTE_NAMES", "handler", "router"]

#: The handler names (OpenAPI ``operationId`` and summary) that are not the operation's.
ROUTE_NAMES: Mapping[str, str] = {
    "add": "add_memory",
    "list": "list_memories",
    "add_many": "add_memories",
    "get": "get_memory",
    "update": "update_memory",
    "delete": "delete_memory",
    "history": "memory_history",
    "supersede": "supersede_memory",
    "append": "append_message",
}

#: The route descriptions (OpenAPI) that are not the first line of ``Memory``'s docstring.
ROUTE_DOCS: Mapping[str, str] = {
    "add": "Save one memory; returns the stored entry (or the existing duplicate).",
    "add_many": "Save many memories in order; one transaction per 256 items.",
    "get": "The entry ``id`` in ``namespace`` (404 ``not_found`` otherwise, foreign ids too).",
    "update": "Change fields in place (only those present in the body); "
    "new content is re-embedded.",
    "delete": "Delete for good; 204 on success, 404 if absent.",
    "history": "The supersede chain containing ``id``, oldest first.",
    "supersede": "Replace ``id`` by a new entry kept in its history (409 ``conflict`` if done"
    " already;\n409 ``id_conflict`` if the body's ``id`` is taken in the namespace).\n\n"
    "Fields absent from the body (kind, session, agent, user, tags, metadata,\n"
    "importance) are inherited from the old entry; ``namespace`` is the query's.",
    "list": "A page of entries, newest first; pass ``next_cursor`` back as ``cursor``.",
    "forget": "Erase a namespace, a user or an agent completely: every kind, caches and"
    " on-disk copies.\n\n"
    "Fields are AND-ed; at least one is required (422 otherwise). Returns the\n"
    "counts removed and whether the WAL and index copies are gone too (``erased``).",
    "append": "Append one turn to the session; returns the stored entry (kind ``message``).",
    "set_state": "Save a JSON value under ``(session_id, key)``; re-saving updates in place.",
    "get_state": "The value under ``(session_id, key)``; 404 ``not_found`` if none.",
    "delete_state": "Delete a state value; ``deleted`` is false if there was none.",
    "kv_set": "Save a JSON value under ``key``, optionally expiring after ``ttl_seconds`` seconds.",
    "kv_get": "The value under ``key``; 404 ``not_found`` if none or expired.",
    "kv_delete": "Delete a key; ``deleted`` is false if there was none.",
    "list_episodes": "A page of episodes (without steps), newest first.",
    "get_episode": "The episode with its steps.",
    "update_episode": "Replace tags and/or merge metadata keys.",
    "delete_episode": "Delete the episode, its steps and its evidence in patterns.",
    "log_steps": "Append steps; the response is sent after they are committed.",
    "complete_episode": "Complete the episode: reward, reflection, and queued pattern "
    "extraction (or why not).",
    "checkpoint_episode": "Record a checkpoint and return the hand-off pack.",
    "resume_episode": "The hand-off pack to continue the episode; ``agent_id`` takes it over.",
    "retrieve_context": "Past episodes and patterns most useful for a new task, with the reasons.",
    "list_patterns": "Live patterns, best Wilson lower bound first.",
    "get_pattern": "One pattern (a merged id gives the pattern it was merged into).",
    "search_patterns": "Patterns whose description is closest to the query.",
    "recommend_patterns": "Patterns for a task, ranked by relevance, effectiveness and recency.",
    "record_feedback": "Record whether the pattern was applied and how it went.",
    "analyze_patterns": "Patterns above a success rate, with statistics.",
    "extract_patterns": "Drain the extraction queue now (the background worker does it too).",
    "decay_patterns": "Archive patterns whose decayed effectiveness fell below ``min_score``.",
    "advanced_pattern_analysis": "Statistics, trend, forecast, anomalies, change points or "
    "Granger causality.",
    "verify_storage": "Verify the store file now (SQLite's checks, FTS5's, every checksum, "
    "the id sets).",
}

_KW = inspect.Parameter.KEYWORD_ONLY
#: A query parameter whose library type takes a ``Filter``: the tree as JSON text.
_FILTER_TEXT = Annotated[str | None, Query(description="A Filter tree as a JSON string.")]
#: Handler parameters that are not the request's (no wire name may be one).
_OWN = ("memory", "body")


def _wire_type(hint: Any) -> Any:
    """A library parameter's type as a query parameter's: each ``Sequence[X]`` a ``list[X]``."""
    if get_origin(hint) in (Union, types.UnionType):
        return reduce(operator.or_, (_wire_type(arg) for arg in get_args(hint)))
    if get_origin(hint) is Sequence:
        return list[get_args(hint)[0]]  # type: ignore[misc]
    return hint


def _accepts(hint: Any, model: type[BaseModel]) -> bool:
    """Whether a library parameter of type ``hint`` takes a ``model`` instance as it is."""
    if get_origin(hint) in (Union, types.UnionType):
        return model in get_args(hint)
    return hint is model


def _body_arguments(
    name: str,
    library: Mapping[str, inspect.Parameter],
    model: type[BaseModel],
    to_library: Mapping[str, str],
) -> Callable[[BaseModel], dict[str, Any]]:
    """How a ``model`` body becomes arguments of ``Memory.<name>`` (see the module's docstring).

    Args:
        library: the method's parameters (less ``self``) by name.
        to_library: wire name → library name, where they differ.

    Raises:
        ValueError: more than one parameter takes the whole body, or a body
            field has no parameter to go to (a registry error).
    """
    whole = [lib for lib, param in library.items() if _accepts(param.annotation, model)]
    if len(whole) > 1:
        raise ValueError(f"{name}: {whole} all take a whole {model.__name__}")
    if whole:
        return lambda body: {whole[0]: body}
    takes_more = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in library.values())
    named, optional = [], []
    for field in model.model_fields:
        lib = to_library.get(field, field)
        if lib in library and library[lib].kind is not inspect.Parameter.VAR_KEYWORD:
            named.append((field, lib))
        elif takes_more:
            optional.append((field, lib))
        else:
            raise ValueError(f"{name}: body field {field!r} is no parameter of Memory.{name}")

    def arguments(body: BaseModel) -> dict[str, Any]:
        args = {lib: getattr(body, field) for field, lib in named}
        given = body.model_fields_set
        args.update((lib, getattr(body, field)) for field, lib in optional if field in given)
        return args

    return arguments


def _query_parameter(wire: str, library: inspect.Parameter) -> inspect.Parameter:
    """The handler parameter of query argument ``library`` (named ``wire`` on the wire)."""
    hint = library.annotation
    annotation: Any = Namespace
    if _accepts(hint, Filter):
        annotation = _FILTER_TEXT
    elif (wire, hint) != ("namespace", str):
        annotation = Annotated[_wire_type(hint), Query()]
    return inspect.Parameter(wire, _KW, default=library.default, annotation=annotation)


def handler(op: Operation) -> Callable[..., Response]:
    """The FastAPI handler of operation ``op``'s route, built from its declaration.

    Raises:
        ValueError: ``op`` has no route of its own, is ``hand_route``,
            names a path, query or body argument ``Memory.<name>`` lacks, or
            unwraps a result without a ``Rest.response`` to wrap it in.
    """
    rest = op.rest
    if rest is None or rest.via is not None or rest.hand_route:
        raise ValueError(f"{op.name}: no route to build (none, via another, or hand-written)")
    method = getattr(Memory, op.name)
    signature = inspect.signature(method, eval_str=True)
    library = dict(list(signature.parameters.items())[1:])  # less self
    to_library = {wire: lib for lib, wire in rest.wire.items()}
    path = [to_library.get(wire, wire) for wire in rest.path_params]
    for lib in (*path, *rest.query):
        if lib not in library or rest.wire.get(lib, lib) in _OWN:
            raise ValueError(f"{op.name}: {lib!r} is no parameter of Memory.{op.name}")
    params = [inspect.Parameter(wire, _KW, annotation=str) for wire in rest.path_params]
    spread = None
    if rest.body is not None:
        params.append(inspect.Parameter("body", _KW, annotation=rest.body))
        spread = _body_arguments(op.name, library, rest.body, to_library)
    params.append(inspect.Parameter("memory", _KW, annotation=MemoryDep))
    params += [_query_parameter(rest.wire.get(lib, lib), library[lib]) for lib in rest.query]
    trees = [lib for lib in rest.query if _accepts(library[lib].annotation, Filter)]
    name, status, unwrap, wrapper = op.name, rest.status, rest.unwrap, rest.response
    if unwrap is not None and wrapper is None:
        raise ValueError(f"{op.name}: unwrap={unwrap!r} names a field of no Rest.response")

    def route(memory: Memory, body: BaseModel | None = None, **request: Any) -> Response:
        args = {to_library.get(k, k): v for k, v in request.items()} if to_library else request
        for lib in trees:
            args[lib] = filter_from_json(args[lib])
        if spread is not None and body is not None:
            args.update(spread(body))
        result = getattr(memory, name)(**args)
        if status == 204:
            return Response(status_code=204)
        if unwrap is not None:
            result = wrapper(**{unwrap: result})
        return json_response(result, status)

    route.__name__ = route.__qualname__ = ROUTE_NAMES.get(op.name, op.name)
    route.__doc__ = ROUTE_DOCS.get(op.name, (inspect.getdoc(method) or "").partition("\n")[0])
    route.__signature__ = inspect.Signature(params, return_annotation=Response)  # type: ignore[attr-defined]
    return route


router = APIRouter(responses=error_responses(*COMMON_ERRORS))
for _op in OPERATIONS:
    if _op.rest is not None and _op.rest.via is None and not _op.rest.hand_route:
        router.api_route(**route_options(router, _op))(handler(_op))
