"""``create_app``: the FastAPI application of the daemon.

Layers, outermost first (all pure ASGI, no ``BaseHTTPMiddleware``)::

    AccessMiddleware      metrics + one log line per request, no-store headers
    HeaderLimitMiddleware header count and size (431)
    SecurityMiddleware    Host (421), Origin (403), bearer token (401)
    RateLimitMiddleware   per-token and per-MCP-session rate limits (429), before any body is read
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
from memoryd.server.ratelimit import RateLimitMiddleware
from memoryd.server.routes import generated, handwritten, system
from memoryd.server.security import SecurityMiddleware, load_tokens
from memoryd.server.state import ServerState

__all__ = ["create_app"]


def create_app(settings: Settings, memory: Memory | None = None) -> FastAPI:
    """Build the daemon's ASGI app.

    Args:
        settings: host/origin allow-lists, body limit, token file, rate limits, data dir.
        memory: an engine opened by the caller, used as is and left open on
            shutdown. If ``None``, the app opens ``Memory(settings)`` in a
            background thread at startup (``/readyz`` is 503 until then) and
            closes it (checkpointing the index) at shutdown.

    Raises:
        ConfigError: the token file exists with group/other permissions (S7), or
            is empty or malformed.
    """
    tokens = load_tokens(settings)
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
    app.include_router(handwritten.router)
    app.include_router(generated.router)
    app.router.routes.append(Route(MCP_PATH, endpoint=mcp, include_in_schema=False))
    # add_middleware wraps: the last added is the outermost.
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(RateLimitMiddleware, settings=settings, session_path=MCP_PATH)
    app.add_middleware(SecurityMiddleware, tokens=tokens, settings=settings)
    app.add_middleware(HeaderLimitMiddleware)
    app.add_middleware(AccessMiddleware, metrics=state.metrics, activity=state.activity)
    return app
