"""Coercing what callers pass (text, dict or model) into validated inputs.

Shared by the in-process engine and the HTTP client so both accept the same
forms and raise the same :class:`~memoryd.errors.ValidationError`.
"""

from __future__ import annotations

from typing import Any

from memoryd.errors import ValidationError
from memoryd.types import MemoryInput

__all__ = ["coerce_input", "explicit_fields"]


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
