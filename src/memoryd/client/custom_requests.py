"""The requests :class:`memoryd.Client` builds by hand (operations declared ``custom``).

Each function takes the transport and the library's arguments and returns the
library's result. They exist where the request needs more than the registry
says: the engine's own input coercion (``coerce_input``, ``coerce_model``,
``explicit_fields``), a patch merged from a model and keywords, a filter tree
sent as JSON text, chunking of bulk bodies within the daemon's body limit,
a streamed export, a default for a missing value.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from uuid import UUID

from pydantic_core import to_jsonable_python

from memoryd.client.requests import query_value, request
from memoryd.client.transport import Transport, entries, segment
from memoryd.errors import NotFound, ValidationError
from memoryd.inputs import (
    MISSING,
    coerce_input,
    coerce_patch,
    coerce_search,
    explicit_fields,
    forget_scope,
)
from memoryd.learning.models import (
    CompletionResult,
    Episode,
    EpisodeInput,
    EpisodePatch,
    Outcome,
    Step,
    StepInput,
    coerce_model,
    coerce_outcome,
    coerce_steps,
)
from memoryd.reports import ForgetResult, StoreStats
from memoryd.types import Filter, MemoryEntry, MemoryInput, MemoryPatch, Page, SearchParams

__all__ = ["CUSTOMIZED", "send"]


def _id(value: UUID | str, what: str = "episode") -> str:
    try:
        return str(UUID(str(value)))
    except ValueError as exc:
        raise ValidationError(f"invalid {what} id {value!r}") from exc


# --- memories ---------------------------------------------------------------
def add(t: Transport, content: str | MemoryInput | dict[str, Any], **fields: Any) -> MemoryEntry:
    item = coerce_input(content, fields)
    payload = item.model_dump(mode="json", exclude_none=True)
    return MemoryEntry.model_validate(t.json("POST", "/v1/memories", json=payload))


def add_many(
    t: Transport, items: Iterable[MemoryInput | dict[str, Any]], batch_size: int = 256
) -> list[MemoryEntry]:
    lines = (coerce_input(item, {}).model_dump_json(exclude_none=True).encode() for item in items)
    out: list[MemoryEntry] = []
    for group in t.chunks(lines, max(1, min(batch_size, 1000))):
        body = b'{"items":[' + b",".join(group) + b"]}"
        headers = {"content-type": "application/json"}
        out.extend(entries(t.json("POST", "/v1/memories/batch", content=body, headers=headers)))
    return out


def update(
    t: Transport,
    id: UUID | str,
    patch: MemoryPatch | dict[str, Any] | None = None,
    namespace: str = "default",
    **fields: Any,
) -> MemoryEntry:
    change = coerce_patch(patch, fields)
    data = t.json(
        "PATCH",
        f"/v1/memories/{segment(str(id))}",
        params={"namespace": namespace},
        json=change.model_dump(mode="json", exclude_unset=True),
    )
    return MemoryEntry.model_validate(data)


def supersede(
    t: Transport,
    id: UUID | str,
    content: str | MemoryInput | dict[str, Any],
    namespace: str = "default",
    **fields: Any,
) -> MemoryEntry:
    if isinstance(content, str):
        body: dict[str, Any] = {"content": content}
    else:
        body = {k: v for k, v in explicit_fields(content).items() if k != "namespace"}
    body.update(fields)
    data = t.json(
        "POST",
        f"/v1/memories/{segment(str(id))}/supersede",
        params={"namespace": namespace},
        json=to_jsonable_python(body),
    )
    return MemoryEntry.model_validate(data)


#: ``list`` arguments left out of the query when empty (the daemon's defaults apply).
_OMITTED_WHEN_EMPTY = frozenset({"kinds", "tags", "cursor"})


def list_entries(t: Transport, **args: Any) -> Page:
    """``list`` with ``Memory.list``'s arguments: the query parameters that are
    given (``kinds``, ``tags`` and ``cursor`` only when non-empty), the filter
    tree as JSON text."""
    tree = args.pop("filter", None)
    params = {
        k: query_value(v)
        for k, v in args.items()
        if v is not None and (v or k not in _OMITTED_WHEN_EMPTY)
    }
    if isinstance(tree, Filter):
        tree = tree.model_dump(mode="json", by_alias=True, exclude_none=True)
    if tree is not None:
        try:
            params["filter"] = json.dumps(tree)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"invalid filter: {exc}") from exc
    return Page.model_validate(t.json("GET", "/v1/memories", params=params))


def search(t: Transport, query: str | SearchParams | dict[str, Any], **params: Any) -> Any:
    sp = coerce_search(query, params)
    return request(t, "search", sp.model_dump(mode="json", by_alias=True, exclude_none=True))


def stats(t: Transport) -> StoreStats:
    data = t.json("GET", "/v1/stats")
    # Fields an older daemon does not send keep their defaults; uptime is the daemon's own.
    return StoreStats.model_validate({k: data[k] for k in StoreStats.model_fields if k in data})


def forget(
    t: Transport,
    namespace: str | None = None,
    user_id: str | None = None,
    agent_id: str | None = None,
) -> ForgetResult:
    scope = forget_scope(namespace=namespace, user_id=user_id, agent_id=agent_id)
    body = scope.model_dump(mode="json", exclude_none=True)
    return ForgetResult.model_validate(t.json("POST", "/v1/forget", json=body))


def export(t: Transport, namespace: str | None = None, batch: int = 500) -> Iterator[MemoryEntry]:
    params = {"namespace": namespace} if namespace is not None else {}
    for line in t.stream_lines("POST", "/v1/export", params=params):
        yield MemoryEntry.model_validate_json(line)


def import_entries(
    t: Transport, entries: Iterable[MemoryEntry | dict[str, Any]], batch: int = 500
) -> int:
    def lines() -> Iterator[bytes]:
        for raw in entries:
            try:
                entry = raw if isinstance(raw, MemoryEntry) else MemoryEntry.model_validate(raw)
            except ValueError as exc:
                raise ValidationError(f"invalid export record: {exc}") from exc
            yield entry.model_dump_json().encode()

    inserted = 0
    headers = {"content-type": "application/x-ndjson"}
    for group in t.chunks(lines(), max(1, batch)):
        content = b"\n".join(group) + b"\n"
        inserted += int(t.json("POST", "/v1/import", content=content, headers=headers)["inserted"])
    return inserted


# --- values -----------------------------------------------------------------
def _value_or_default(t: Transport, name: str, default: Any, args: dict[str, Any]) -> Any:
    try:
        return request(t, name, args)
    except NotFound:
        if default is MISSING:
            raise
        return default


def get_state(
    t: Transport, session_id: str, key: str, default: Any = MISSING, namespace: str = "default"
) -> Any:
    args = {"session_id": session_id, "key": key, "namespace": namespace}
    return _value_or_default(t, "get_state", default, args)


def kv_get(t: Transport, key: str, default: Any = MISSING, namespace: str = "default") -> Any:
    return _value_or_default(t, "kv_get", default, {"key": key, "namespace": namespace})


# --- episodes ---------------------------------------------------------------
def start_episode(
    t: Transport,
    task_description: str | EpisodeInput | dict[str, Any],
    namespace: str = "default",
    **fields: Any,
) -> Episode:
    if isinstance(task_description, str):
        data: Any = {"task_description": task_description}
    elif isinstance(task_description, dict):
        data = dict(task_description)
        namespace = data.pop("namespace", namespace)
    else:
        data = task_description.model_dump(exclude_unset=True)
        namespace = task_description.namespace
    item = coerce_model(EpisodeInput, data, "episode", **fields)
    body = item.model_dump(mode="json", exclude={"namespace"})
    return Episode.model_validate(
        t.json("POST", "/v1/episodes", params={"namespace": namespace}, json=body)
    )


def log_steps(
    t: Transport,
    episode_id: UUID | str,
    steps: Iterable[StepInput | dict[str, Any]],
    namespace: str = "default",
) -> builtins.list[Step]:
    args = {"episode_id": _id(episode_id), "steps": coerce_steps(steps), "namespace": namespace}
    added: builtins.list[Step] = request(t, "log_steps", args)
    return added


def log_step(
    t: Transport,
    episode_id: UUID | str,
    step: StepInput | dict[str, Any] | None = None,
    namespace: str = "default",
    **fields: Any,
) -> Step:
    item = coerce_model(StepInput, step, "step", **fields)
    return log_steps(t, episode_id, [item], namespace=namespace)[0]


def complete_episode(
    t: Transport,
    episode_id: UUID | str,
    outcome: Outcome | dict[str, Any],
    applied_patterns: Iterable[UUID | str] = (),
    namespace: str = "default",
) -> CompletionResult:
    args = {
        "episode_id": _id(episode_id),
        "outcome": coerce_outcome(outcome),
        "applied_patterns": [_id(p, "pattern") for p in applied_patterns],
        "namespace": namespace,
    }
    result: CompletionResult = request(t, "complete_episode", args)
    return result


def update_episode(
    t: Transport,
    episode_id: UUID | str,
    patch: EpisodePatch | dict[str, Any] | None = None,
    namespace: str = "default",
    **fields: Any,
) -> Episode:
    change = coerce_model(EpisodePatch, patch, "episode update", **fields)
    data = t.json(
        "PATCH",
        f"/v1/episodes/{segment(_id(episode_id))}",
        params={"namespace": namespace},
        json=change.model_dump(mode="json", exclude_unset=True),
    )
    return Episode.model_validate(data)


#: Operation name → its hand-built request.
_CUSTOM: dict[str, Callable[..., Any]] = {
    "add": add,
    "add_many": add_many,
    "update": update,
    "supersede": supersede,
    "list": list_entries,
    "search": search,
    "stats": stats,
    "forget": forget,
    "export": export,
    "import_entries": import_entries,
    "get_state": get_state,
    "kv_get": kv_get,
    "start_episode": start_episode,
    "log_steps": log_steps,
    "log_step": log_step,
    "complete_episode": complete_episode,
    "update_episode": update_episode,
}


def send(t: Transport, name: str, args: dict[str, Any]) -> Any:
    """Perform operation ``name`` with the library's arguments ``args`` over ``t``.

    A ``custom`` operation goes through its function here; any other through
    :func:`memoryd.client.requests.request`. Returns the library's result;
    raises what the daemon answers, rebuilt from its error code by the transport.
    """
    custom = _CUSTOM.get(name)
    return custom(t, **args) if custom is not None else request(t, name, args)


#: The operations whose request is built here (the registry marks them ``custom``).
CUSTOMIZED = frozenset(_CUSTOM)
