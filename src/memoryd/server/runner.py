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
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

import memoryd
from memoryd.config import Settings
from memoryd.engine import Memory
from memoryd.errors import AlreadyRunning, ConfigError, MemorydError, StorageError, StorageFull
from memoryd.lifecycle.notify import sd_notify
from memoryd.lifecycle.ports import bind_listener
from memoryd.lifecycle.runtime import RuntimeInfo, remove_runtime, write_runtime
from memoryd.logs import configure_logging
from memoryd.server.state import ServerState
from memoryd.store.identity import read_store_id
from memoryd.store.space import SpaceReserve, out_of_space

if TYPE_CHECKING:  # the HTTP stack loads in run(), once the store has started opening
    import uvicorn

    from memoryd.server.daemon_server import DaemonServer

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
    import uvicorn

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
    with instance_lock(settings):
        # The store opens (and the model warms up) from here on, while the HTTP
        # stack imports in this thread (FastAPI, uvicorn, the routes): see _serve.
        state = ServerState(settings)
        launch = _Launch(settings, store_id=_known_store_id(settings))  # before a new store
        state.on_failure = launch.failed
        state.on_open = launch.opened
        state.on_ready = _notify_ready
        state.start()
        try:
            _serve(settings, state, launch, auto_started)
        finally:
            state.stop()  # a no-op after the app's own shutdown closed it
        if launch.failure:
            raise launch.failure[0]


def _notify_ready() -> None:
    sd_notify("READY=1")


class _Launch:
    """What the opener thread and the serving thread share while the daemon starts.

    The store opens in a thread of its own (:class:`ServerState`) while the
    HTTP stack imports and the socket binds here, so either may come first:
    the store id of a new store is published by whichever of the two sees
    both the id and the bound port (under :attr:`lock`).
    """

    def __init__(self, settings: Settings, *, store_id: str | None) -> None:
        self.settings = settings
        self.lock = threading.Lock()
        self.store_id = store_id
        self.info: RuntimeInfo | None = None  # once bound: what daemon.json says
        self.failure: list[MemorydError] = []
        self.server: DaemonServer | None = None

    def failed(self, exc: MemorydError) -> None:
        """The open failed: stop the server (now, or as soon as it exists)."""
        self.failure.append(exc)
        if self.server is not None:
            self.server.should_exit = True

    def opened(self, memory: Memory) -> None:
        """The store is open: publish its id if the daemon is bound and it is new."""
        with self.lock:
            self.store_id = memory.store_id
            if self.info is None or self.info.store_id == memory.store_id:
                return  # not bound yet: the bind publishes the id itself
            self.info = self.info.model_copy(update={"store_id": memory.store_id})
            try:  # a new store: its id exists from now on
                write_runtime(self.settings, self.info)
            except OSError as exc:  # clients verify over the wire; the file only saves one
                log.warning(
                    "cannot publish the store id in daemon.json", extra={"reason": str(exc)}
                )

    def bound(self, server: DaemonServer, info: RuntimeInfo) -> RuntimeInfo:
        """The socket is bound: publish ``daemon.json`` (with the id if the store is open)."""
        with self.lock:
            self.server = server
            if self.failure:
                server.should_exit = True  # the open failed before the server existed
            self.info = info.model_copy(update={"store_id": self.store_id})
            if not _publish(self.settings, self.info):
                server.pending_publish = self._republish
            return self.info

    def _republish(self) -> bool:
        with self.lock:
            return self.info is not None and _publish(self.settings, self.info, first=False)


def _serve(settings: Settings, state: ServerState, launch: _Launch, auto_started: bool) -> None:
    """Import the HTTP stack, bind, publish ``daemon.json`` and serve until stopped."""
    from memoryd.server.app import create_app
    from memoryd.server.daemon_server import DaemonServer

    with closing(bind_listener(settings.host, settings.port)) as sock:
        app = create_app(settings, state=state)
        server = DaemonServer(
            uvicorn_config(settings, app),
            activity=state.activity,
            idle_timeout_s=settings.idle_timeout_s if auto_started else 0.0,
        )
        info = RuntimeInfo(
            pid=os.getpid(),
            host=settings.host,
            port=sock.getsockname()[1],
            auto_started=auto_started,
            version=memoryd.__version__,
            store_id=None,
        )
        info = launch.bound(server, info)
        log.info(
            "starting",
            extra={**info.model_dump(mode="json"), "data_dir": str(settings.data_dir)},
        )
        try:
            server.run(sockets=[sock])
        finally:
            remove_runtime(settings, os.getpid())
            log.info("stopped", extra={"reason": server.stop_reason or "shutdown"})
