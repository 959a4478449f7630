"""``memoryd mcp``: an MCP server on stdin/stdout for agent clients.

It answers ``initialize`` at once: this process opens no store and loads
no model before the handshake (``memoryd mcp`` starts the daemon in the
background first, :func:`memoryd.lifecycle.spawn.prestart`, so it boots
while the handshake is answered). The first tool call builds a
lifecycle :class:`memoryd.Client` (:mod:`memoryd.client.routing`), which
forwards calls to the daemon of ``settings.data_dir``, starts one when none
runs and ``settings.auto_start`` allows it, and serves a call in-process
when the daemon fails or times out (``settings.daemon_timeout_s``). Every
result says ``served_by`` and ``degraded``. stdout carries only MCP
messages; logs go to stderr.

The client's first request decides the protocol era of the connection (mcp
SDK 2.3, ``serve_dual_era_loop``): ``initialize`` opens a 2025-11-25 (or
earlier) session, a request carrying the 2026-07-28 ``_meta`` envelope (e.g.
``server/discover``) a stateless 2026-07-28 one.
"""

from __future__ import annotations

import logging

from memoryd.client import Client
from memoryd.config import Settings
from memoryd.logs import configure_logging
from memoryd.mcp.backend import ClientBackend
from memoryd.mcp.tools import build_server

__all__ = ["run_stdio"]

log = logging.getLogger("memoryd.mcp")


def run_stdio(settings: Settings) -> None:
    """Serve MCP on stdio until the client closes stdin; then close the client."""
    configure_logging(settings.log_level, settings.log_format)  # stderr: stdout is the protocol
    backend = ClientBackend(lambda: Client(settings, lifecycle=True))
    server = build_server(backend, max_result_bytes=settings.mcp_max_result_bytes)
    log.info("mcp stdio server starting", extra={"data_dir": str(settings.data_dir)})
    try:
        server.run("stdio")
    finally:
        backend.close()
