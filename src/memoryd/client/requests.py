"""One request per operation: how :class:`memoryd.Client` turns a call into REST.

:func:`request` builds the request from the registry (:mod:`memoryd.operations`):
the path parameters are the arguments the route's path names (percent-encoded,
one segment each), the query parameters the ``Rest.query`` arguments, and the
JSON body the remaining arguments validated as ``Rest.body`` — the daemon's own
request model, so bad input raises ``ValidationError`` before any request.
The answer is validated as the operation's response (``Rest.unwrap`` picks a
field of a wrapper such as ``{"value": ...}``). Operations whose request needs
more (local coercion shared with the engine, chunking, streaming) are declared
``custom`` and built in :mod:`memoryd.client.custom_requests`.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticSerializationError

from memoryd.client.transport import Transport, segment
from memoryd.errors import ValidationError
from memoryd.operations import Rest, operation

__all__ = ["query_value", "request"]


def query_value(value: Any) -> Any:
    """A query parameter as the daemon reads it: booleans ``true``/``false``,
    sequences repeated, anything else as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return str(value)


@cache
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


def _path(rest: Rest, args: dict[str, Any]) -> str:
    """The route's path with each parameter taken (and removed) from ``args``."""
    by_wire = {wire: lib for lib, wire in rest.wire.items()}
    path = rest.path
    for param in rest.path_params:
        name = by_wire.get(param, param)
        text = str(args.pop(name))
        if not text:
            raise ValidationError(f"{name} must not be empty", **{name: text})
        path = re.sub(r"\{" + param + r"(?::path)?\}", segment(text), path)
    return path


def _body(name: str, model: type[BaseModel], fields: dict[str, Any]) -> Any:
    """``fields`` validated as the route's body ``model``, as JSON data."""
    try:
        return model.model_validate(fields).model_dump(mode="json")
    except PydanticValidationError as exc:
        raise ValidationError(f"invalid {name}: {exc}") from exc
    except PydanticSerializationError as exc:
        raise ValidationError(f"invalid {name}: not JSON-serialisable ({exc})") from exc


def request(t: Transport, name: str, args: dict[str, Any]) -> Any:
    """Operation ``name``'s request built from the registry alone; returns its result.

    Raises:
        ValidationError: before sending, when the arguments do not fit the
            route's body model or a path parameter is empty.
        TypeError: an argument has no place in the request (a registry error).
    """
    op = operation(name)
    rest = op.rest
    if rest is None:
        raise TypeError(f"{name} has no REST route")
    args = dict(args)
    path = _path(rest, args)
    params: dict[str, Any] = {}
    for arg in rest.query:
        value = args.pop(arg, None)
        if value is not None:
            params[rest.wire.get(arg, arg)] = query_value(value)
    body = None
    if rest.body is not None:
        body = _body(name, rest.body, {rest.wire.get(k, k): v for k, v in args.items()})
    elif args:
        raise TypeError(f"{name}: no place in the request for {sorted(args)}")
    if rest.status == 204:
        t.request(rest.method, path, params=params)
        return None
    data = t.json(rest.method, path, params=params, json=body)
    if rest.unwrap is not None:
        data = data[rest.unwrap]
    return _adapter(op.response).validate_python(data)
