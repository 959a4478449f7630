"""``run``: serve the daemon with uvicorn until SIGTERM/SIGINT.

Shutdown (uvicorn's graceful sequence, RELIABILITY.md R13): stop accepting
connections, let in-flight requests finish for at most
``settings.shutdown_timeout_s`` seconds, then the app's lifespan closes the
engine, which checkpoints the vector index and closes SQLite.

One daemon per data dir: ``<data_dir>/memoryd.pid`` is held with an
exclusive ``flock`` for the life of the process (released by the kernel when
the process dies, so a stale file never blocks a restart).
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import uvicorn

from memoryd.config import Settings
from memoryd.errors import ConfigError, MemorydError
from memoryd.logging import configure_logging
from memoryd.server.app import create_app
from memoryd.server.state import ServerState

__all__ = ["LOOPBACK_HOSTS", "instance_lock", "run", "uvicorn_config"]

log = logging.getLogger("memoryd.server")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


@contextmanager
def instance_lock(settings: Settings) -> Iterator[None]:
    """Hold ``<data_dir>/memoryd.pid`` exclusively, with our pid in it.

    Raises:
        ConfigError: another live process holds it (its pid is in ``details``).
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = settings.data_dir / "memoryd.pid"
    handle: IO[str] = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held until exit
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            other = handle.read().strip()
            raise ConfigError(
                f"another memoryd (pid {other or '?'}) is serving {settings.data_dir}",
                pid=other,
                data_dir=str(settings.data_dir),
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


def uvicorn_config(settings: Settings, app: object) -> uvicorn.Config:
    """The uvicorn settings memoryd serves with (no proxy headers, no server header)."""
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=settings.host,
        port=settings.port,
        lifespan="on",
        ws="none",
        log_config=None,
        access_log=False,  # AccessMiddleware writes one structured line per request
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=max(1, round(settings.shutdown_timeout_s)),
        timeout_keep_alive=5,
    )


def run(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT, then drain in-flight requests and close the engine.

    Raises:
        ConfigError: non-loopback ``host`` without ``allow_remote`` (S1), an
            unsafe token file (S7), another daemon on the same data dir, or the
            store failed to open (the error that stopped it).
    """
    if settings.host not in LOOPBACK_HOSTS and not settings.allow_remote:
        raise ConfigError(
            f"refusing to bind {settings.host!r}: not loopback and allow_remote is false",
            host=settings.host,
        )
    configure_logging(settings.log_level, settings.log_format)
    with instance_lock(settings):
        app = create_app(settings)
        server = uvicorn.Server(uvicorn_config(settings, app))
        state: ServerState = app.state.server
        failure: list[MemorydError] = []

        def stop_on_failure(exc: MemorydError) -> None:
            failure.append(exc)
            server.should_exit = True

        state.on_failure = stop_on_failure
        log.info(
            "starting",
            extra={
                "host": settings.host,
                "port": settings.port,
                "data_dir": str(settings.data_dir),
            },
        )
        server.run()
        if failure:
            raise failure[0]
