"""``create_app``: the FastAPI application of the daemon.

Layers, outermost first (all pure ASGI, no ``BaseHTTPMiddleware``)::

    AccessMiddleware      metrics + one log line per request, no-store headers
    HeaderLimitMiddleware header count and size (431)
    SecurityMiddleware    Host (421), Origin (403), bearer token (401)
    BodyLimitMiddleware   body size (413) and JSON depth (400)
    FastAPI               routes under /v1, /mcp (MCP), /healthz, /readyz, /metrics
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

import memoryd
from memoryd.config import Settings
from memoryd.engine import Memory
from memoryd.mcp.http import MCP_PATH, McpEndpoint
from memoryd.server.errors import install_error_handlers
from memoryd.server.limits import BodyLimitMiddleware, HeaderLimitMiddleware
from memoryd.server.observability import AccessMiddleware
from memoryd.server.routes import learning, memories, sessions, system
from memoryd.server.security import SecurityMiddleware, ensure_token
from memoryd.server.state import ServerState

__all__ = ["create_app"]


def create_app(settings: Settings, memory: Memory | None = None) -> FastAPI:
    """Build the daemon's ASGI app.

    Args:
        settings: host/origin allow-lists, body limit, token file, data dir.
        memory: an engine opened by the caller, used as is and left open on
            shutdown. If ``None``, the app opens ``Memory(settings)`` in a
            background thread at startup (``/readyz`` is 503 until then) and
            closes it (checkpointing the index) at shutdown.

    Raises:
        ConfigError: the token file exists with group/other permissions (S7).
    """
    token = ensure_token(settings)
    state = ServerState(settings, memory)
    mcp = McpEndpoint(state)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.start()
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(mcp.run)  # imports the MCP SDK while the store opens
                yield
                tasks.cancel_scope.cancel()
        finally:
            await run_in_threadpool(state.stop)

    app = FastAPI(
        title="memoryd",
        version=memoryd.__version__,
        summary="Local-first memory service for AI agents.",
        lifespan=lifespan,
        docs_url=None,  # the docs UI loads scripts from a CDN; the schema stays at /openapi.json
        redoc_url=None,
    )
    app.state.server = state
    install_error_handlers(app)
    app.include_router(system.router)
    app.include_router(memories.router)
    app.include_router(sessions.router)
    app.include_router(learning.router)
    app.router.routes.append(Route(MCP_PATH, endpoint=mcp, include_in_schema=False))
    # add_middleware wraps: the last added is the outermost.
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityMiddleware, token=token, settings=settings)
    app.add_middleware(HeaderLimitMiddleware)
    app.add_middleware(AccessMiddleware, metrics=state.metrics, activity=state.activity)
    return app
