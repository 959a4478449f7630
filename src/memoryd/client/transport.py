"""HTTP plumbing of :class:`memoryd.Client`: auth header, error mapping, body chunking.

Requests go through a keep-alive :class:`urllib3.PoolManager` (TCP_NODELAY is
urllib3's default; no retries: the lifecycle client decides what a failure
means). urllib3 costs ~0.5 ms less per request than httpx here (GET /healthz
round trip 0.8–1.0 vs 1.2–2.3 ms on the 2-core machine; docs/PERFORMANCE.md),
which every REST call and every ``memoryd mcp`` tool call pays.

Error responses ``{"error": {"code", "message", "details"}}`` become the
exception of that ``code`` (:func:`memoryd.errors.error_from_code`); a body
without that shape falls back to a code chosen by HTTP status. Timeouts
become :class:`~memoryd.errors.Timeout`, other transport failures (refused,
reset, DNS) :class:`~memoryd.errors.BackendUnavailable`.

A 429 answer is the caller's own condition (its token or session is over its
rate limit; RELIABILITY.md S6). The daemon decides it before reading the
body, so the request is sent again after the ``Retry-After`` it names (plus
up to 0.25 s of jitter, tenacity) for as long as the waits stay within
``settings.rate_limit_max_wait_s`` in total; then :class:`~memoryd.errors.RateLimited`
is raised, ``details["retry_after"]`` in seconds.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import urllib3
from tenacity import RetryCallState, Retrying, retry_if_result, stop_before_delay, wait_random
from tenacity.wait import wait_base
from urllib3.exceptions import HTTPError, NewConnectionError
from urllib3.exceptions import TimeoutError as TransportTimeout

from memoryd.config import Settings
from memoryd.errors import BackendUnavailable, MemorydError, Timeout, error_from_code
from memoryd.tokens import client_token
from memoryd.types import MemoryEntry

__all__ = ["KEEPALIVE_EXPIRY_S", "Transport", "entries", "retry_after_s", "segment"]

_STATUS_CODES = {400: "validation_error", 401: "unauthorized", 403: "forbidden", 404: "not_found"}
_STATUS_CODES |= {409: "conflict", 413: "payload_too_large", 421: "forbidden"}
_STATUS_CODES |= {422: "validation_error", 429: "rate_limited", 503: "backend_unavailable"}
_STATUS_CODES |= {504: "timeout", 507: "storage_full"}

#: Idle seconds after which pooled connections are dropped before the next request:
#: below uvicorn's 5 s keep-alive, so a request never goes out on a connection the
#: daemon is closing at that moment.
KEEPALIVE_EXPIRY_S = 4.0
#: Most random seconds added to a 429's ``Retry-After``, so that clients told the
#: same second do not all come back at once.
_RETRY_JITTER_S = 0.25


def retry_after_s(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` value asks to wait, or ``None`` if absent or invalid.

    Accepts both forms of RFC 9110 section 10.2.3: ``delay-seconds`` (``"3"``)
    and an HTTP-date (seconds from now, at least 0).
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _rate_limited(response: urllib3.BaseHTTPResponse) -> bool:
    return response.status == 429 and retry_after_s(response.headers.get("retry-after")) is not None


class _WaitRetryAfter(wait_base):
    """tenacity wait: the ``Retry-After`` of the last (429) response, in seconds."""

    def __call__(self, retry_state: RetryCallState) -> float:
        assert retry_state.outcome is not None
        response: urllib3.BaseHTTPResponse = retry_state.outcome.result()
        return retry_after_s(response.headers.get("retry-after")) or 0.0


def _release(retry_state: RetryCallState) -> None:
    """Before waiting: give the refused response's connection back to the pool."""
    assert retry_state.outcome is not None
    response: urllib3.BaseHTTPResponse = retry_state.outcome.result()
    response.drain_conn()
    response.release_conn()


def _last_response(retry_state: RetryCallState) -> urllib3.BaseHTTPResponse:
    """When the wait budget is spent: the last 429, for :meth:`Transport.error`."""
    assert retry_state.outcome is not None
    response: urllib3.BaseHTTPResponse = retry_state.outcome.result()
    return response


def segment(value: str) -> str:
    """One percent-encoded path segment (``/`` and dot-segments included)."""
    text = quote(value, safe="")
    return text.replace(".", "%2E") if text in (".", "..") else text


def entries(payload: Any) -> list[MemoryEntry]:
    """A JSON list of entries as :class:`~memoryd.types.MemoryEntry` objects."""
    return [MemoryEntry.model_validate(item) for item in payload]


class Transport:
    """A keep-alive connection pool to one daemon, with its bearer token.

    Thread-safe: one :class:`memoryd.Client` may be used from many threads.

    Args:
        settings: ``base_url``, ``resolved_token_file``, ``client_timeout_s``
            (seconds), ``max_body_bytes`` (bytes) and ``rate_limit_max_wait_s``
            (seconds) are used.
        base_url: overrides ``settings.base_url``.
        token: the bearer token; default read from the token file on first request.
        timeout_s: connect and read timeout in seconds; default ``settings.client_timeout_s``.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        base_url: str | None,
        token: str | None,
        timeout_s: float | None,
    ) -> None:
        self.settings = settings
        self.base_url = (base_url or settings.base_url).rstrip("/")
        self._given_token = token
        self._token = token
        #: Largest request body the client builds, in bytes (the daemon's limit minus headroom).
        self.body_budget = max(4096, settings.max_body_bytes - 4096)
        self.timeout_s = timeout_s if timeout_s is not None else settings.client_timeout_s
        self.pool = urllib3.PoolManager(maxsize=32, block=False, retries=False)
        self._lock = threading.Lock()
        self._last_used = time.monotonic()
        # 429 → wait Retry-After (+ jitter) while the total stays within the budget.
        self._retrying = Retrying(
            retry=retry_if_result(_rate_limited),
            wait=_WaitRetryAfter() + wait_random(0, _RETRY_JITTER_S),
            stop=stop_before_delay(settings.rate_limit_max_wait_s),
            before_sleep=_release,
            retry_error_callback=_last_response,
        )
        #: Called before every request (``Client`` checks the daemon's store once there).
        self.before_send: Callable[[], None] | None = None

    @property
    def timeout_s(self) -> float:
        """Connect and read timeout of each request, in seconds."""
        return self._timeout_s

    @timeout_s.setter
    def timeout_s(self, seconds: float) -> None:
        self._timeout_s = seconds
        self._timeout = urllib3.Timeout(connect=seconds, read=seconds)

    def retarget(self, base_url: str) -> None:
        """Send the next requests to ``base_url`` (a daemon found or restarted elsewhere)."""
        self.base_url = base_url.rstrip("/")
        self._token = self._given_token  # else re-read: a new daemon may have written it

    def auth(self) -> dict[str, str]:
        """The ``Authorization`` header. Raises as :meth:`token`."""
        return {"authorization": f"Bearer {self.token()}"}

    def token(self) -> str:
        """The bearer token: the given one, else the token file's first
        (:func:`memoryd.tokens.client_token`), read on first use.

        Raises:
            BackendUnavailable: no token was given and there is no token file (or no token in it).
            ConfigError: the token file is malformed.
        """
        if self._token is None:
            path = self.settings.resolved_token_file
            self._token = client_token(path)
            if self._token is None:
                raise BackendUnavailable(
                    f"no token file at {path}; is the memoryd daemon running?", path=str(path)
                )
        return self._token

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
    ) -> urllib3.BaseHTTPResponse:
        if self.before_send is not None:
            self.before_send()
        url = self.base_url + path
        if params:
            url += "?" + urlencode(params, doseq=True)
        sent = {**self.auth(), **(headers or {})}
        body = content
        if json is not None:
            body = _dumps(json)
            sent["content-type"] = "application/json"
        response: urllib3.BaseHTTPResponse = self._retrying(
            self._send_once, method, url, path, body, sent, stream
        )
        return response

    def _send_once(
        self,
        method: str,
        url: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
        stream: bool,
    ) -> urllib3.BaseHTTPResponse:
        with self._lock:
            now = time.monotonic()
            if now - self._last_used > KEEPALIVE_EXPIRY_S:
                self.pool.clear()  # idle connections may be closing on the daemon's side
            self._last_used = now
        with self._mapped(method, path):
            response = self.pool.request(
                method,
                url,
                body=body,
                headers=headers,
                timeout=self._timeout,
                preload_content=not stream,
                redirect=False,
            )
        self._last_used = time.monotonic()
        return response

    @contextlib.contextmanager
    def _mapped(self, method: str, path: str) -> Iterator[None]:
        """Transport failures as ``Timeout`` / ``BackendUnavailable`` carrying ``base_url``."""
        try:
            yield
        except NewConnectionError as exc:  # refused, unreachable (before TransportTimeout:
            raise BackendUnavailable(  # urllib3 makes it a ConnectTimeoutError subclass)
                f"cannot reach memoryd at {self.base_url}: {exc}", base_url=self.base_url
            ) from exc
        except TransportTimeout as exc:
            raise Timeout(f"{method} {path} timed out: {exc}", base_url=self.base_url) from exc
        except (HTTPError, OSError) as exc:
            raise BackendUnavailable(
                f"{method} {path} failed at {self.base_url}: {exc}", base_url=self.base_url
            ) from exc

    def request(self, method: str, path: str, **kwargs: Any) -> urllib3.BaseHTTPResponse:
        """Send one request (``params``, ``json`` or ``content``, ``headers``).

        Returns the response, body read. Raises the matching ``MemorydError``
        for a 4xx/5xx answer, ``Timeout`` or ``BackendUnavailable`` for transport failures.
        """
        response = self._send(method, path, **kwargs)
        if response.status >= 400:
            raise self.error(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """:meth:`request`, then the decoded JSON body."""
        return json.loads(self.request(method, path, **kwargs).data)

    def error(self, response: urllib3.BaseHTTPResponse) -> MemorydError:
        """The exception an error response stands for."""
        code = _STATUS_CODES.get(response.status, "internal_error")
        message = f"HTTP {response.status}"
        details: dict[str, Any] = {}
        try:
            error = json.loads(response.data)["error"]
            code, message = str(error["code"]), str(error["message"])
            details = dict(error.get("details") or {})
        except (ValueError, KeyError, TypeError):
            text = response.data.decode("utf-8", errors="replace")
            message = f"HTTP {response.status}: {text[:200]}"
        details = {k: v for k, v in details.items() if k not in ("message", "code")}
        return error_from_code(code, message, details)

    def stream_lines(self, method: str, path: str, **kwargs: Any) -> Iterator[bytes]:
        """Non-empty lines of a streamed response body (JSONL), without line ends."""
        response = self._send(method, path, stream=True, **kwargs)
        try:
            if response.status >= 400:
                response.read(cache_content=True)  # ``error`` reads ``response.data``
                raise self.error(response)
            with self._mapped(method, path):
                for line in response:
                    if line.strip():
                        yield line.rstrip(b"\r\n")
        finally:
            response.release_conn()

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
        self.pool.clear()


def _dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, as the daemon's JSON bodies are."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
