"""Coercing what callers pass (text, dict or model) into validated inputs.

Shared by the in-process engine and the HTTP client so both accept the same
forms and raise the same :class:`~memoryd.errors.ValidationError`.
"""

from __future__ import annotations

import json
from typing import Any

from memoryd.errors import ValidationError
from memoryd.reports import ForgetScope
from memoryd.types import MemoryInput, MemoryPatch, SearchParams

__all__ = [
    "MISSING",
    "coerce_input",
    "coerce_patch",
    "coerce_search",
    "explicit_fields",
    "filter_from_json",
    "forget_scope",
]

#: Default of ``get_state``/``kv_get``'s ``default``: "none given, raise ``NotFound``".
#: One object for ``Memory`` and ``Client``, so their signatures are identical.
MISSING: Any = object()


def explicit_fields(content: str | MemoryInput | dict[str, Any]) -> dict[str, Any]:
    """The fields a caller actually gave: ``{"content": text}``, the dict, or the set fields."""
    if isinstance(content, MemoryInput):
        return content.model_dump(exclude_unset=True)
    if isinstance(content, dict):
        return dict(content)
    return {"content": content}


def coerce_input(
    content: str | MemoryInput | dict[str, Any], fields: dict[str, Any]
) -> MemoryInput:
    """Validate ``content`` with ``fields`` laid over it.

    Raises:
        ValidationError: the result is not a valid :class:`MemoryInput`.
    """
    if isinstance(content, MemoryInput) and not fields:
        return content
    try:
        return MemoryInput.model_validate({**explicit_fields(content), **fields})
    except ValueError as exc:
        raise ValidationError(f"invalid memory: {exc}") from exc


def coerce_patch(patch: MemoryPatch | dict[str, Any] | None, fields: dict[str, Any]) -> MemoryPatch:
    """``patch`` (a model, a dict or ``None``) with ``fields`` on top, as a :class:`MemoryPatch`.

    Only the fields given count (``exclude_unset``), so an update changes
    nothing else. Raises ``ValidationError`` when the result is not a valid patch.
    """
    try:
        data = (
            patch.model_dump(exclude_unset=True)
            if isinstance(patch, MemoryPatch)
            else dict(patch or {})
        )
        return MemoryPatch.model_validate({**data, **fields})
    except ValueError as exc:
        raise ValidationError(f"invalid update: {exc}") from exc


def coerce_search(
    query: str | SearchParams | dict[str, Any], params: dict[str, Any]
) -> SearchParams:
    """``query`` (text, a dict or a model) with ``params`` on top, as :class:`SearchParams`.

    Raises:
        ValidationError: the result is not a valid search.
    """
    try:
        if isinstance(query, SearchParams):
            if not params:
                return query
            # Validated again: model_copy(update=...) would skip the bounds (limit <= 1000).
            return SearchParams.model_validate({**query.model_dump(exclude_unset=True), **params})
        if isinstance(query, dict):
            return SearchParams.model_validate({**query, **params})
        return SearchParams.model_validate({"query": query, **params})
    except ValueError as exc:
        raise ValidationError(f"invalid search: {exc}") from exc


def filter_from_json(text: str | None, *, name: str = "filter") -> dict[str, Any] | None:
    """A filter given as JSON text (CLI ``--filter``, REST ``?filter=``) -> a dict.

    The dict is validated as a :class:`~memoryd.types.Filter` by the engine.

    Raises:
        ValidationError: not JSON, nested too deeply, or not a JSON object.
    """
    if not text:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise ValidationError(f"{name} is not valid JSON: {reason}") from exc
    if not isinstance(value, dict):
        raise ValidationError(f"{name} must be a JSON object")
    return value


def forget_scope(
    *, namespace: str | None, user_id: str | None, agent_id: str | None
) -> ForgetScope:
    """The validated scope of a ``forget`` call.

    Raises:
        ValidationError: no field given, or an invalid one (a namespace pattern, empty ids).
    """
    try:
        return ForgetScope(namespace=namespace, user_id=user_id, agent_id=agent_id)
    except ValueError as exc:
        raise ValidationError(f"invalid forget scope: {exc}") from exc
