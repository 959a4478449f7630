"""Rate limits per bearer token and per MCP session (RELIABILITY.md S6).

:class:`RateLimitMiddleware` is a pure ASGI middleware between the security
checks (which name the caller's token, ``scope["user"]``) and the body limit,
so a 429 is decided from the headers alone, before any of the body is read,
and costs a few dictionary look-ups. Limits come from :class:`~memoryd.config.Settings`:

* per token (its token id, never the token itself): at most
  ``rate_limit_token_burst`` requests in any 1 second and at most
  ``10 x rate_limit_token_rps`` in any 10 seconds
  (:data:`~memoryd.config.RATE_LIMIT_WINDOW_S`);
* per MCP session (``Mcp-Session-Id`` on ``/mcp``, within its token):
  ``rate_limit_session_burst`` / ``rate_limit_session_rps`` the same way,
  so one runaway agent session cannot use up its token's budget.

A ``*_rps`` of 0 turns that limit off. ``/healthz`` is never limited, nor
are the probes a client makes before its first call (:data:`UNLIMITED_PATHS`:
``/readyz`` and ``/v1/identity``, constant-cost answers), and requests
without a valid token never get here (401 first).

Each window is a moving window (the ``limits`` library's
``MovingWindowRateLimiter`` over its in-memory storage): exact counts over
the last 1 s / 10 s, no burst at window edges. Session windows are checked
before anything is counted; the token's windows are then counted, and the
session's only for a request that passed both, so refused requests cost no
budget of another window and a runaway session leaves the rest of its
token's budget to the token's other sessions.

A refused request gets 429 ``rate_limited`` with ``Retry-After`` (integer
seconds, RFC 9110 section 10.2.3: until every full window of the request's
session and token has room again, at least 1) and ``details`` ``{"retry_after": seconds, "limit":
"token" | "session"}``.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from memoryd.config import RATE_LIMIT_WINDOW_S, Settings
from memoryd.server.errors import send_error
from memoryd.server.security import TokenUser

__all__ = ["UNLIMITED_PATHS", "RateLimitMiddleware", "Windows"]

log = logging.getLogger("memoryd.server")
#: Authenticated probes never rate limited: readiness and the store identity a
#: client checks before its first call (``memoryd/lifecycle/identity.py``).
UNLIMITED_PATHS = frozenset({"/readyz", "/v1/identity"})
_SESSION_HEADER = b"mcp-session-id"
# MCP (basic/transports): a session id is visible ASCII (0x21-0x7E); the SDK's are 32 hex digits.
_SESSION_ID = re.compile(rb"[\x21-\x7e]{1,128}")


@dataclass(frozen=True)
class Windows:
    """The moving windows of one kind of limit (token or session).

    Attributes:
        kind: ``"token"`` or ``"session"`` (the ``limit`` detail of a 429).
        rps: the configured requests per second (for messages).
        burst: the most requests in any 1 s.
        items: the ``limits`` items checked, shortest window first; empty = off.
    """

    kind: str
    rps: float
    burst: int
    items: tuple[RateLimitItem, ...]

    @classmethod
    def of(cls, kind: str, rps: float, burst: int) -> Windows:
        """``burst`` per 1 s and ``round(rps x 10)`` per 10 s; no windows when ``rps`` is 0."""
        if rps <= 0:
            return cls(kind, rps, burst, ())
        sustained = max(1, round(rps * RATE_LIMIT_WINDOW_S))
        items = (
            RateLimitItemPerSecond(burst, 1, namespace="memoryd"),
            RateLimitItemPerSecond(sustained, RATE_LIMIT_WINDOW_S, namespace="memoryd"),
        )
        return cls(kind, rps, burst, items)


def _session_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name.lower() == _SESSION_HEADER:
            return value.decode("ascii") if _SESSION_ID.fullmatch(value) else None
    return None


class RateLimitMiddleware:
    """Pure ASGI middleware: 429 with ``Retry-After`` over the token's or session's limit.

    Args:
        app: the wrapped ASGI app.
        settings: ``rate_limit_token_rps`` / ``_burst`` and
            ``rate_limit_session_rps`` / ``_burst`` (requests per second, requests).
        session_path: the path whose ``Mcp-Session-Id`` header names an MCP session.
    """

    def __init__(self, app: ASGIApp, *, settings: Settings, session_path: str) -> None:
        self.app = app
        self.session_path = session_path
        self.token = Windows.of(
            "token", settings.rate_limit_token_rps, settings.rate_limit_token_burst
        )
        self.session = Windows.of(
            "session", settings.rate_limit_session_rps, settings.rate_limit_session_burst
        )
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._warned: dict[str, float] = {}  # token id -> monotonic time of the last warning

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        unlimited = scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS
        # Only /healthz (PUBLIC_PATHS) is served without a token: never limited.
        if unlimited or not isinstance(user, TokenUser):
            await self.app(scope, receive, send)
            return
        refusal = self._refused(scope, user.identity)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        windows, retry_after = refusal
        await send_error(
            send,
            429,
            f"rate limit of this {windows.kind} exceeded ({windows.rps:g} requests/s, "
            f"{windows.burst} in any second); retry after {retry_after} s",
            details={"retry_after": retry_after, "limit": windows.kind},
            headers=[(b"retry-after", str(retry_after).encode())],
        )

    def _refused(self, scope: Scope, token_id: str) -> tuple[Windows, int] | None:
        """``(windows, retry_after_s)`` of the limit the request exceeds, else ``None``."""
        session = None
        if self.session.items and scope["path"] == self.session_path:
            session = _session_id(scope)
        token_key: tuple[str, ...] = ("token", token_id)
        checks: list[tuple[Windows, tuple[str, ...]]] = [(self.token, token_key)]
        if session is not None:
            session_key: tuple[str, ...] = ("session", token_id, session)
            checks.insert(0, (self.session, session_key))
            if not all(self._limiter.test(item, *session_key) for item in self.session.items):
                return self._refusal(self.session, checks, token_id)
        for item in self.token.items:
            if not self._limiter.hit(item, *token_key):
                return self._refusal(self.token, checks, token_id)
        if session is not None:
            for item in self.session.items:
                self._limiter.hit(item, *session_key)
        return None

    def _refusal(
        self, windows: Windows, checks: list[tuple[Windows, tuple[str, ...]]], token_id: str
    ) -> tuple[Windows, int]:
        """``windows`` refused the request: wait until every full window has room again."""
        now = time.time()
        waits = [
            self._limiter.get_window_stats(item, *key).reset_time - now
            for limit, key in checks
            for item in limit.items
            if not self._limiter.test(item, *key)
        ]
        retry_after = max(1, math.ceil(max(waits, default=1.0)))
        moment = time.monotonic()
        if moment - self._warned.get(token_id, -math.inf) >= RATE_LIMIT_WINDOW_S:
            self._warned[token_id] = moment
            log.warning(
                "rate limit exceeded",
                extra={"token_id": token_id, "limit": windows.kind, "retry_after": retry_after},
            )
        return windows, retry_after
