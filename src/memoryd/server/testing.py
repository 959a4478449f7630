"""Serve an app on a real loopback socket from a thread (for tests and embedding).

Example::

    with serve_in_thread(create_app(settings, memory)) as base_url:
        httpx.get(f"{base_url}/healthz")

The socket is bound before the server starts (port 0 → a free port chosen by
the kernel), so there is no race for the port.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from memoryd.lifecycle.ports import bind_listener

__all__ = ["serve_in_thread"]


@contextmanager
def serve_in_thread(
    app: ASGIApp, *, host: str = "127.0.0.1", startup_timeout_s: float = 30.0
) -> Iterator[str]:
    """Run ``app`` with uvicorn on ``host`` and a free port; yields ``"http://host:port"``.

    On exit the server shuts down gracefully (lifespan shutdown included).

    Raises:
        RuntimeError: the server did not start within ``startup_timeout_s`` seconds.
    """
    sock = bind_listener(host, 0, backlog=128)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="on",
        ws="none",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="memoryd-test-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    name = f"[{host}]" if ":" in host else host
    try:
        yield f"http://{name}:{port}"
    finally:
        server.should_exit = True
        thread.join(30.0)
        sock.close()
