"""The error answers each route documents in ``/openapi.json``, with their body model.

Every failure leaves the daemon as ``{"error": {"code", "message", "details"}}``
(:func:`memoryd.server.errors.error_body`); :class:`ErrorResponse` is that
body's schema. :data:`COMMON_ERRORS` are the statuses any route behind the
middleware can answer (malformed body, token, Origin, Host, size limits,
request validation, rate limit, storage state); routers pass
:func:`error_responses` of them as their ``responses=`` and each route adds
the statuses only it can give (``404`` for a path whose parameters name a
record, or that cannot be routed (a newline in a key),
``409`` for a write that can conflict) with :func:`error_responses` too.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "COMMON_ERRORS",
    "ERROR_CODES",
    "ErrorDetail",
    "ErrorResponse",
    "error_responses",
]


class ErrorDetail(BaseModel):
    """One error: a stable ``code`` (see :mod:`memoryd.errors`), a message and context."""

    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


#: Status → the stable codes the daemon answers with it (documentation text).
ERROR_CODES: dict[int, str] = {
    400: "validation_error (malformed JSON body), invalid_query (unparsable search query)",
    401: "unauthorized (missing or wrong bearer token)",
    403: "forbidden (Origin not allowed)",
    404: "not_found, episode_not_found, pattern_not_found",
    409: "conflict, id_conflict, dimension_mismatch, episode_already_completed",
    413: "payload_too_large (body over the size limit)",
    414: "uri_too_long (request target over the header limit)",
    421: "forbidden (Host not allowed), store_mismatch",
    422: "validation_error, invalid_series (input outside the documented bounds)",
    429: "rate_limited (with Retry-After)",
    431: "headers_too_large",
    500: "storage_error, internal_error",
    503: "backend_unavailable, storage_corrupted, storage_read_only, opening",
    507: "storage_full (the disk is full; nothing was written)",
}

#: Statuses any route behind the middleware can answer.
COMMON_ERRORS: tuple[int, ...] = (400, 401, 403, 413, 414, 421, 422, 429, 431, 500, 503, 507)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """FastAPI ``responses=`` entries for ``statuses``, each with :class:`ErrorResponse`.

    Raises:
        KeyError: a status with no entry in :data:`ERROR_CODES`.
    """
    return {
        status: {"model": ErrorResponse, "description": ERROR_CODES[status]}
        for status in sorted(statuses)
    }
