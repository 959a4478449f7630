"""``run``: serve the daemon with uvicorn until SIGTERM/SIGINT.

Shutdown (uvicorn's graceful sequence, RELIABILITY.md R13): stop accepting
connections, let in-flight requests finish for at most
``settings.shutdown_timeout_s`` seconds, then the app's lifespan closes the
engine, which checkpoints the vector index and closes SQLite.

One daemon per data dir: ``<data_dir>/memoryd.pid`` is held with an
exclusive ``flock`` for the life of the process (released by the kernel when
the process dies, so a stale file never blocks a restart). Once the socket is
bound, ``<data_dir>/daemon.json`` says where the daemon listens
(:mod:`memoryd.lifecycle.runtime`); systemd hears READY=1 when the engine is
warm and STOPPING=1 when shutdown starts (:mod:`memoryd.lifecycle.notify`).
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import IO

import uvicorn

import memoryd
from memoryd.config import Settings
from memoryd.engine import Memory
from memoryd.errors import AlreadyRunning, ConfigError, MemorydError, StorageError, StorageFull
from memoryd.lifecycle.notify import sd_notify
from memoryd.lifecycle.ports import bind_listener
from memoryd.lifecycle.runtime import RuntimeInfo, remove_runtime, write_runtime
from memoryd.logs import configure_logging
from memoryd.server.app import create_app
from memoryd.server.daemon_server import DaemonServer
from memoryd.server.state import ServerState
from memoryd.store.identity import read_store_id
from memoryd.store.space import SpaceReserve, out_of_space

__all__ = ["LOOPBACK_HOSTS", "instance_lock", "run", "uvicorn_config"]

log = logging.getLogger("memoryd.server")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


@contextmanager
def instance_lock(settings: Settings) -> Iterator[None]:
    """Hold ``<data_dir>/memoryd.pid`` exclusively, with our pid in it.

    A pid file left by a killed daemon is not locked (the kernel drops the
    ``flock`` with the process), so it is taken over and rewritten.

    Raises:
        AlreadyRunning: another live process holds it (its pid is in ``details``).
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
            raise AlreadyRunning(
                f"another memoryd (pid {other or '?'}) is serving {settings.data_dir}",
                pid=other,
                data_dir=str(settings.data_dir),
            ) from None
        handle.seek(0)
        stale = handle.read().strip()
        if stale and stale != str(os.getpid()):
            log.info("replacing a stale pid file", extra={"stale_pid": stale})
        _write_pid(settings, handle)
        yield
    finally:
        handle.close()


def _write_pid(settings: Settings, handle: IO[str]) -> None:
    """Put our pid in the locked pid file; on a full disk give up the space reserve first.

    The ``flock`` is what keeps a second daemon out; the pid in the file only
    names the holder in ``AlreadyRunning``. If even the reserve cannot make
    room, the file stays empty (logged) and the daemon starts anyway.
    """

    def write() -> None:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()

    path = Path(handle.name)
    try:
        SpaceReserve.for_settings(settings).call(write, path)
    except OSError as exc:
        if not out_of_space(exc, path):
            raise
        log.error("cannot write the pid file: the disk is full", extra={"path": str(path)})


def _known_store_id(settings: Settings) -> str | None:
    """The store id already in the database, for ``daemon.json`` (``None``: a new store).

    An unreadable file is reported by the engine as it opens (``/readyz``),
    and a full disk (a read-only connection that cannot create the ``-shm``
    file) is handled there through the space reserve; here either only means
    the id is published once the store is open.
    """
    try:
        return read_store_id(settings.db_path, busy_timeout_s=settings.busy_timeout_ms / 1000)
    except (StorageError, StorageFull) as exc:
        log.warning("cannot read the store id yet", extra={"code": exc.code, "reason": exc.message})
        return None


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


def _publish(settings: Settings, info: RuntimeInfo, *, first: bool = True) -> bool:
    """Write ``daemon.json``; ``False`` on a full disk with no reserve left (logged once).

    The daemon then serves without it and tries again every few seconds
    (:attr:`DaemonServer.pending_publish`); meanwhile clients do not find it by
    discovery and fall back to the in-process engine (reads work there too).
    """
    try:
        write_runtime(settings, info)
    except OSError as exc:
        if not out_of_space(exc, settings.runtime_file):
            raise
        if first:
            log.error(
                "cannot write daemon.json: the disk is full; serving without it and "
                "retrying (until then clients fall back to the in-process engine)",
                extra={"path": str(settings.runtime_file)},
            )
        return False
    if not first:
        log.info("daemon.json written: disk space returned", extra={"port": info.port})
    return True


def run(settings: Settings, *, auto_started: bool = False) -> None:
    """Serve until SIGTERM/SIGINT (or idle stop), then drain requests and close the engine.

    Args:
        settings: the daemon's settings.
        auto_started: started on demand by a client (``memoryd mcp``, ``Client``):
            stops after ``settings.idle_timeout_s`` idle seconds and logs only to
            ``settings.resolved_log_file``. A daemon started by a person or a
            service manager never stops for idleness.

    Raises:
        ConfigError: non-loopback ``host`` without ``allow_remote`` (S1), an
            unsafe token file (S7), or the store failed to open (the error that stopped it).
        AlreadyRunning: another daemon serves the same data dir.
        PortInUse: the port is held by another program (named in the message).
    """
    if settings.host not in LOOPBACK_HOSTS and not settings.allow_remote:
        raise ConfigError(
            f"refusing to bind {settings.host!r}: not loopback and allow_remote is false",
            host=settings.host,
        )
    configure_logging(
        settings.log_level,
        settings.log_format,
        file=settings.resolved_log_file,
        console=not auto_started,
    )
    with instance_lock(settings), closing(bind_listener(settings.host, settings.port)) as sock:
        app = create_app(settings)
        state: ServerState = app.state.server
        server = DaemonServer(
            uvicorn_config(settings, app),
            activity=state.activity,
            idle_timeout_s=settings.idle_timeout_s if auto_started else 0.0,
        )
        failure: list[MemorydError] = []

        def stop_on_failure(exc: MemorydError) -> None:
            failure.append(exc)
            server.should_exit = True

        state.on_failure = stop_on_failure

        info = RuntimeInfo(
            pid=os.getpid(),
            host=settings.host,
            port=sock.getsockname()[1],
            auto_started=auto_started,
            version=memoryd.__version__,
            store_id=_known_store_id(settings),
        )
        published = [info]  # the newest info: the store id is known once the store opens

        def opened(memory: Memory) -> None:
            if published[0].store_id == memory.store_id:
                return
            published[0] = published[0].model_copy(update={"store_id": memory.store_id})
            try:  # a new store: its id exists from now on
                write_runtime(settings, published[0])
            except OSError as exc:  # clients verify over the wire; the file only saves a request
                log.warning(
                    "cannot publish the store id in daemon.json", extra={"reason": str(exc)}
                )

        def ready() -> None:
            sd_notify("READY=1")

        state.on_open = opened
        state.on_ready = ready
        if not _publish(settings, info):
            server.pending_publish = lambda: _publish(settings, published[0], first=False)
        log.info(
            "starting",
            extra={**info.model_dump(mode="json"), "data_dir": str(settings.data_dir)},
        )
        try:
            server.run(sockets=[sock])
        finally:
            remove_runtime(settings, os.getpid())
            log.info("stopped", extra={"reason": server.stop_reason or "shutdown"})
        if failure:
            raise failure[0]
