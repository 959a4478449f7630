"""Error rendering: every failure leaves the daemon as ``{"error": {code, message, details}}``.

* :class:`~memoryd.errors.MemorydError` → its ``http_status`` and ``code``.
* Request validation (FastAPI) → 422 ``validation_error``; malformed JSON → 400
  ``validation_error``.
* Starlette ``HTTPException`` (unknown route, wrong method) → its status with a
  code from :data:`HTTP_CODES`.
* Anything else → 500 ``internal_error``, logged with its traceback (never the input).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Send

from memoryd.errors import MemorydError

__all__ = ["HTTP_CODES", "error_body", "install_error_handlers", "send_error"]

log = logging.getLogger("memoryd.server")

#: Stable codes for statuses produced outside the engine (routing, middleware).
HTTP_CODES: dict[int, str] = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    414: "uri_too_long",
    421: "forbidden",
    422: "validation_error",
    429: "rate_limited",
    431: "headers_too_large",
    503: "backend_unavailable",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    """The JSON wire form of an error, as bytes."""
    payload = {"error": {"code": code, "message": message, "details": details or {}}}
    return json.dumps(payload, default=str).encode()


def _json_error(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return Response(
        error_body(code, message, details),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


async def send_error(
    send: Send,
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: dict[str, Any] | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Send a complete JSON error response from a pure ASGI middleware."""
    body = error_body(code or HTTP_CODES.get(status, "http_error"), message, details)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _memoryd_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MemorydError)
    if exc.http_status >= 500:
        log.warning("request failed", extra={"code": exc.code, "path": request.url.path})
    headers = None
    if exc.code == "rate_limited" and "retry_after" in exc.details:
        headers = {"Retry-After": str(int(exc.details["retry_after"]))}
    return _json_error(exc.http_status, exc.code, exc.message, exc.details, headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # Only location, message and type: ``input``/``ctx`` may echo large or odd values.
    errors = [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "msg": err.get("msg"),
            "type": err.get("type"),
        }
        for err in exc.errors()
    ]
    malformed = any(err["type"] == "json_invalid" for err in errors)
    message = "malformed JSON body" if malformed else "request does not match the schema"
    return _json_error(400 if malformed else 422, "validation_error", message, {"errors": errors})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    return _json_error(exc.status_code, code, str(exc.detail), headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error(
        "unhandled error",
        exc_info=exc,
        extra={"method": request.method, "path": request.url.path},
    )
    return _json_error(500, "internal_error", "internal error; see the daemon log")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on ``app``."""
    app.add_exception_handler(MemorydError, _memoryd_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
