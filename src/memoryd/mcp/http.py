"""``/mcp`` on the daemon: the MCP tools over streamable HTTP.

The route is a plain Starlette ``Route`` (not a ``Mount``), so ``POST /mcp``
answers directly instead of redirecting to ``/mcp/``. It sits inside the
daemon's middleware stack: the bearer token, Host (421) and Origin (403)
checks, body limit and access log apply exactly as on ``/v1`` (RELIABILITY.md
S2, S3); the SDK's own DNS-rebinding check is therefore off. Answers are
JSON, not SSE streams.

Both protocol eras are served side by side (mcp SDK 2.3's session manager
routes on the ``MCP-Protocol-Version`` header): a client of 2025-11-25 or
earlier opens a stateful session with ``initialize`` (``Mcp-Session-Id``); a
2026-07-28 client sends self-contained requests (``server/discover``, then
e.g. ``tools/call``, each with its ``_meta`` envelope), no session and no
handshake. Both pass the same middleware, so the token and Host/Origin checks
hold for each (tests/mcp_server/test_protocol_eras.py).

Every (2025-era) session is bound to the token that opened it (RELIABILITY.md S12):
the caller's token id (``scope["user"]``, set by the security middleware) is
handed to the SDK as its ``AuthenticatedUser`` (``client_id`` = token id), and
the SDK's session manager answers a request that carries a session id opened
under another token exactly as an unknown session: 404 ``Session not found``
(MCP basic/transports; the session is neither used nor revealed). Each
session also has its own rate limit (:mod:`memoryd.server.ratelimit`).

Importing the MCP SDK takes about half a second, so the daemon does it on a
worker thread once the store is open and the model warm, and
:data:`~memoryd.server.state.SETTLE_S` later unless an MCP request comes
first (:meth:`McpEndpoint.run`, in the app's lifespan): it never delays
readiness or a new daemon's first REST calls; an MCP request waits for it.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from memoryd.errors import BackendUnavailable
from memoryd.server.errors import send_error
from memoryd.server.security import TokenUser
from memoryd.server.state import SETTLE_S, ServerState

__all__ = ["MCP_PATH", "McpEndpoint"]

MCP_PATH = "/mcp"
log = logging.getLogger("memoryd.server")
_BUILD_WAIT_S = 60.0


class McpEndpoint:
    """The ASGI app of ``/mcp``; :meth:`run` builds and serves it for the app's lifetime.

    Tool calls run on the daemon's engine (``state.memory()``), ``served_by="daemon"``.
    """

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self._app: ASGIApp | None = None
        self._ready = anyio.Event()
        self._requested = anyio.Event()
        self._error: BaseException | None = None
        self._principals: dict[str, Any] = {}  # token id -> the SDK's AuthenticatedUser

    def _build(self) -> Any:
        from mcp.server.transport_security import TransportSecuritySettings

        from memoryd.mcp.backend import EngineBackend
        from memoryd.mcp.tools import build_server

        settings = self.state.settings
        server = build_server(
            EngineBackend(self.state.memory), max_result_bytes=settings.mcp_max_result_bytes
        )
        server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            json_response=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
            max_request_body_size=settings.max_body_bytes,
        )
        return server.session_manager

    async def run(self) -> None:
        """After readiness, import the SDK off the event loop; serve sessions until cancelled."""
        while self.state.error is None and not self.state.ready:  # start-up first
            await anyio.sleep(0.05)
        with anyio.move_on_after(SETTLE_S):  # ... then the first requests, unless one is MCP
            await self._requested.wait()
        from mcp.server.streamable_http_manager import StreamableHTTPASGIApp

        try:
            # Abandoned on shutdown: stopping must not wait for an import to finish.
            manager = await anyio.to_thread.run_sync(self._build, abandon_on_cancel=True)
        except Exception as exc:  # REST keeps serving; every /mcp request gets a 503 saying why
            self._error = exc
            self._ready.set()
            log.error("MCP endpoint failed to start", exc_info=exc)
            return
        async with manager.run():
            self._app = StreamableHTTPASGIApp(manager)
            self._ready.set()
            await anyio.sleep_forever()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._requested.set()
        if self._app is None:
            with anyio.move_on_after(_BUILD_WAIT_S):
                await self._ready.wait()
        if self._app is None:
            error = BackendUnavailable(f"MCP endpoint unavailable: {self._error or 'starting'}")
            await send_error(send, error.http_status, error.message, code=error.code)
            return
        user = scope.get("user")
        if not isinstance(user, TokenUser):  # the security middleware lets none through
            await send_error(send, 401, "missing or invalid bearer token")
            return
        await self._app({**scope, "user": self._principal(user)}, receive, send)

    def _principal(self, user: TokenUser) -> Any:
        """The SDK's ``AuthenticatedUser`` for ``user``: its session owner is the token id."""
        principal = self._principals.get(user.identity)
        if principal is None:
            from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
            from mcp.server.auth.provider import AccessToken

            # The fingerprint stands in for the token: nothing reads it, and it may be logged.
            access = AccessToken(token=user.token.fingerprint, client_id=user.identity, scopes=[])
            principal = self._principals[user.identity] = AuthenticatedUser(access)
        return principal
