"""``/mcp`` on the daemon: the MCP tools over streamable HTTP.

The route is a plain Starlette ``Route`` (not a ``Mount``), so ``POST /mcp``
answers directly instead of redirecting to ``/mcp/``. It sits inside the
daemon's middleware stack: the bearer token, Host (421) and Origin (403)
checks, body limit and access log apply exactly as on ``/v1`` (RELIABILITY.md
S2, S3); the SDK's own DNS-rebinding check is therefore off. Sessions are
stateful (``Mcp-Session-Id``) and answers are JSON, not SSE streams.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route

from memoryd.mcp.backend import EngineBackend
from memoryd.mcp.tools import build_server
from memoryd.server.state import ServerState

__all__ = ["MCP_PATH", "mount_mcp"]

MCP_PATH = "/mcp"


def mount_mcp(app: FastAPI, state: ServerState) -> AbstractAsyncContextManager[None]:
    """Add ``/mcp`` to ``app``; returns the session manager's run context for the lifespan.

    Tool calls run on the daemon's engine (``state.memory()``), ``served_by="daemon"``.
    """
    server = build_server(EngineBackend(state.memory))
    server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        max_request_body_size=state.settings.max_body_bytes,
    )
    manager = server.session_manager
    app.router.routes.append(
        Route(MCP_PATH, endpoint=StreamableHTTPASGIApp(manager), include_in_schema=False)
    )
    return manager.run()
