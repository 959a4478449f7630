"""HTTP plumbing of :class:`memoryd.Client`: auth header, error mapping, body chunking.

Error responses ``{"error": {"code", "message", "details"}}`` become the
exception of that ``code`` (:func:`memoryd.errors.error_from_code`); a body
without that shape falls back to a code chosen by HTTP status. httpx timeouts
become :class:`~memoryd.errors.Timeout`, other transport failures (refused,
reset, DNS) :class:`~memoryd.errors.BackendUnavailable`.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

import httpx

from memoryd.config import Settings
from memoryd.errors import BackendUnavailable, MemorydError, Timeout, error_from_code
from memoryd.types import MemoryEntry

__all__ = ["Transport", "entries", "segment"]

_STATUS_CODES = {400: "validation_error", 401: "unauthorized", 403: "forbidden", 404: "not_found"}
_STATUS_CODES |= {409: "conflict", 413: "payload_too_large", 421: "forbidden"}
_STATUS_CODES |= {422: "validation_error", 429: "rate_limited", 503: "backend_unavailable"}
_STATUS_CODES |= {504: "timeout", 507: "storage_full"}


#: TCP_NODELAY on the client's connections: a request is written in more than one
#: ``send``; Nagle's algorithm must not hold the last one back for a delayed ACK.
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def segment(value: str) -> str:
    """One percent-encoded path segment (``/`` and dot-segments included)."""
    text = quote(value, safe="")
    return text.replace(".", "%2E") if text in (".", "..") else text


def entries(payload: Any) -> list[MemoryEntry]:
    """A JSON list of entries as :class:`~memoryd.types.MemoryEntry` objects."""
    return [MemoryEntry.model_validate(item) for item in payload]


class Transport:
    """A keep-alive httpx pool to one daemon, with its bearer token.

    Args:
        settings: ``base_url``, ``resolved_token_file``, ``client_timeout_s``
            (seconds) and ``max_body_bytes`` (bytes) are used.
        base_url: overrides ``settings.base_url``.
        token: the bearer token; default read from the token file on first request.
        timeout_s: per-request timeout in seconds; default ``settings.client_timeout_s``.
        transport: an httpx transport (``httpx.ASGITransport`` for in-process use).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        base_url: str | None,
        token: str | None,
        timeout_s: float | None,
        transport: httpx.BaseTransport | None,
    ) -> None:
        self.settings = settings
        self.base_url = (base_url or settings.base_url).rstrip("/")
        self._given_token = token
        self._token = token
        #: Largest request body the client builds, in bytes (the daemon's limit minus headroom).
        self.body_budget = max(4096, settings.max_body_bytes - 4096)
        # Expire idle connections before uvicorn's 5 s keep-alive closes them.
        limits = httpx.Limits(max_connections=32, keepalive_expiry=4.0)
        self.http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(
                timeout_s if timeout_s is not None else settings.client_timeout_s
            ),
            trust_env=False,  # never route loopback traffic through a proxy
            transport=transport or httpx.HTTPTransport(limits=limits, socket_options=NODELAY),
        )

    def retarget(self, base_url: str) -> None:
        """Send the next requests to ``base_url`` (a daemon found or restarted elsewhere)."""
        self.base_url = base_url.rstrip("/")
        self.http.base_url = self.base_url
        self._token = self._given_token  # else re-read: a new daemon may have written it

    def auth(self) -> dict[str, str]:
        """The ``Authorization`` header. Raises ``BackendUnavailable`` if there is no token."""
        if self._token is None:
            path = self.settings.resolved_token_file
            try:
                self._token = path.read_text(encoding="utf-8").strip()
            except FileNotFoundError:
                raise BackendUnavailable(
                    f"no token file at {path}; is the memoryd daemon running?", path=str(path)
                ) from None
        return {"authorization": f"Bearer {self._token}"}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request; a 4xx/5xx answer raises the matching ``MemorydError``."""
        try:
            headers = {**self.auth(), **kwargs.pop("headers", {})}
            response = self.http.request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException as exc:
            raise Timeout(f"{method} {path} timed out: {exc}", base_url=self.base_url) from exc
        except httpx.TransportError as exc:
            raise BackendUnavailable(
                f"cannot reach memoryd at {self.base_url}: {exc}", base_url=self.base_url
            ) from exc
        if response.status_code >= 400:
            raise self.error(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """:meth:`request`, then the decoded JSON body."""
        return self.request(method, path, **kwargs).json()

    def error(self, response: httpx.Response) -> MemorydError:
        """The exception an error response stands for."""
        code = _STATUS_CODES.get(response.status_code, "internal_error")
        message = f"HTTP {response.status_code}"
        details: dict[str, Any] = {}
        try:
            error = response.json()["error"]
            code, message = str(error["code"]), str(error["message"])
            details = dict(error.get("details") or {})
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {response.status_code}: {response.text[:200]}"
        details = {k: v for k, v in details.items() if k not in ("message", "code")}
        return error_from_code(code, message, details)

    def stream_lines(self, method: str, path: str, **kwargs: Any) -> Iterator[bytes]:
        """Non-empty lines of a streamed response body (JSONL)."""
        try:
            with self.http.stream(method, path, headers=self.auth(), **kwargs) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self.error(response)
                for line in response.iter_lines():
                    if line.strip():
                        yield line.encode()
        except httpx.TimeoutException as exc:
            raise Timeout(f"{method} {path} timed out: {exc}", base_url=self.base_url) from exc
        except httpx.TransportError as exc:
            raise BackendUnavailable(
                f"{method} {path} failed: {exc}", base_url=self.base_url
            ) from exc

    def chunks(self, lines: Iterable[bytes], limit: int) -> Iterator[list[bytes]]:
        """Groups of at most ``limit`` lines whose total size stays within :attr:`body_budget`."""
        group: list[bytes] = []
        size = 0
        for line in lines:
            if group and (len(group) >= limit or size + len(line) > self.body_budget):
                yield group
                group, size = [], 0
            group.append(line)
            size += len(line) + 1
        if group:
            yield group

    def close(self) -> None:
        """Close the pool (idempotent)."""
        self.http.close()
