"""Request limits (RELIABILITY.md S5): header count/size, body size, JSON nesting depth.

:class:`HeaderLimitMiddleware` answers 431 ``headers_too_large`` to more than
:data:`MAX_HEADERS` headers or :data:`MAX_HEADER_BYTES` bytes of them, and 414
``uri_too_long`` to a longer path + query string.

:class:`BodyLimitMiddleware` reads the whole body before the app sees it
(bodies are small: ``settings.max_body_bytes``, default 1 MiB):

* a ``Content-Length`` above the limit is refused before reading anything;
* a body sent without ``Content-Length`` (chunked) is counted while it
  streams and refused as soon as it passes the limit → 413 ``payload_too_large``
  (nothing beyond the limit is kept; up to 4x the limit is read and dropped,
  for at most 1 s, so that the client is still reading when the 413 comes);
* a JSON body (``application/json``, ``+json``, ``x-ndjson``) nested deeper
  than :data:`MAX_JSON_DEPTH` arrays/objects → 400 ``validation_error``,
  found by a linear scan that never recurses.

The buffered body is then replayed to the app as one message.
"""

from __future__ import annotations

import re

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memoryd.server.errors import send_error

__all__ = [
    "MAX_HEADERS",
    "MAX_HEADER_BYTES",
    "MAX_JSON_DEPTH",
    "BodyLimitMiddleware",
    "HeaderLimitMiddleware",
    "json_depth_exceeds",
]

#: Most request headers accepted (browsers send ~20; 431 above).
MAX_HEADERS = 100
#: Largest total size of request header names and values, in bytes (431 above).
MAX_HEADER_BYTES = 16 * 1024

#: Oversized bodies up to this many times the limit are read and dropped before the 413.
_DRAIN_FACTOR = 4
_DRAIN_SECONDS = 1.0
#: Deepest JSON nesting accepted (arrays + objects). Filters are capped at 16 levels.
MAX_JSON_DEPTH = 64
# A whole JSON string (with escapes) or one bracket; strings are skipped in C.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``body`` nests arrays/objects deeper than ``limit`` (linear, no recursion)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for match in _TOKENS.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth = max(0, depth - 1)
    return False


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name.lower() == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media.endswith(b"json") or media == b"application/x-ndjson"
    return False


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class HeaderLimitMiddleware:
    """Pure ASGI middleware: more than ``MAX_HEADERS`` headers or ``MAX_HEADER_BYTES`` → 431;
    a path plus query string longer than ``MAX_HEADER_BYTES`` → 414.

    The HTTP parser (httptools) accepts any number of headers, so the app checks.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            size = sum(len(name) + len(value) for name, value in headers)
            target = len(scope.get("raw_path") or b"") + len(scope.get("query_string", b""))
            if target > MAX_HEADER_BYTES:
                await send_error(send, 414, f"request target longer than {MAX_HEADER_BYTES} bytes")
                return
            if len(headers) > MAX_HEADERS or size > MAX_HEADER_BYTES:
                await send_error(
                    send,
                    431,
                    f"more than {MAX_HEADERS} headers or {MAX_HEADER_BYTES} bytes of headers",
                    headers=[(b"connection", b"close")],
                )
                return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Pure ASGI middleware: buffer the body up to ``max_body_bytes`` (bytes) and check it.

    Args:
        app: the wrapped ASGI app.
        max_body_bytes: largest accepted body in bytes (``settings.max_body_bytes``).
        max_depth: deepest accepted JSON nesting.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_depth: int = MAX_JSON_DEPTH):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None and length > self.max_body_bytes:
            if length <= _DRAIN_FACTOR * self.max_body_bytes:
                await self._drain(receive, length)
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                if message.get("more_body", False):
                    await self._drain(receive, _DRAIN_FACTOR * self.max_body_bytes - size)
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and _is_json(scope) and json_depth_exceeds(body, self.max_depth):
            await send_error(send, 400, f"JSON nested deeper than {self.max_depth} levels")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _drain(self, receive: Receive, budget: int) -> None:
        """Read and drop up to ``budget`` more bytes (at most 1 s) so the client sees the 413.

        Closing a socket with unread data makes the kernel send a reset, which
        can destroy the response before the client reads it.
        """
        with anyio.move_on_after(_DRAIN_SECONDS):
            while budget > 0:
                message = await receive()
                if message["type"] != "http.request":
                    return
                budget -= len(message.get("body", b""))
                if not message.get("more_body", False):
                    return

    async def _too_large(self, send: Send) -> None:
        await send_error(
            send,
            413,
            f"request body exceeds {self.max_body_bytes} bytes",
            headers=[(b"connection", b"close")],
        )
