"""``<data_dir>/daemon.json``: where the running daemon listens and how it was started.

The daemon writes the file (mode 0600, atomically) once its socket is bound
and removes it on a clean exit. A daemon killed with ``kill -9`` leaves it
behind; :func:`discover` recognises such a stale file because its pid is no
longer alive or nothing answers ``/healthz`` at its address, and a new daemon
simply overwrites it (the ``flock`` on ``memoryd.pid`` is what guarantees one
daemon per data dir; this file only says where to find it).
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import psutil
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError

from memoryd.config import Settings, http_url
from memoryd.store.space import SpaceReserve, write_atomic
from memoryd.tokens import client_token

__all__ = [
    "RuntimeInfo",
    "daemon_get",
    "discover",
    "healthz",
    "pid_alive",
    "read_runtime",
    "read_token",
    "readyz",
    "remove_runtime",
    "write_runtime",
]


class RuntimeInfo(BaseModel):
    """What a running daemon publishes about itself.

    ``port`` is the bound port (the real one when ``Settings.port`` is 0).
    ``store_id`` is the id of the store it serves (``meta.store_id``), or
    ``None`` until a new store has been created; clients still verify it over
    the wire (:mod:`memoryd.lifecycle.identity`), since a file can be copied.
    """

    pid: int
    host: str
    port: int = Field(ge=1, le=65535)
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    auto_started: bool = False
    version: str = ""
    store_id: str | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` (:func:`memoryd.config.http_url`)."""
        return http_url(self.host, self.port)


def write_runtime(settings: Settings, info: RuntimeInfo) -> None:
    """Publish ``info`` at ``settings.runtime_file`` (mode 0600, atomic rename).

    On a full disk the data dir's space reserve is given up and the write
    retried (:class:`~memoryd.store.space.SpaceReserve`); a failed write leaves
    no temporary file.

    Raises:
        OSError: the file could not be written (``ENOSPC`` with no reserve left).
    """
    path = settings.runtime_file
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = info.model_dump_json().encode("utf-8")
    SpaceReserve.for_settings(settings).call(lambda: write_atomic(path, data), path)


def read_runtime(settings: Settings) -> RuntimeInfo | None:
    """The published runtime info, or ``None`` if there is no (readable, valid) file."""
    try:
        return RuntimeInfo.model_validate_json(settings.runtime_file.read_bytes())
    except (FileNotFoundError, PydanticValidationError):
        return None  # a torn or foreign file is the same as none: the next daemon rewrites it


def remove_runtime(settings: Settings, pid: int) -> None:
    """Delete the runtime file if it still describes process ``pid`` (never another daemon's)."""
    info = read_runtime(settings)
    if info is not None and info.pid == pid:
        settings.runtime_file.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    """True if process ``pid`` exists and is not a zombie."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return bool(psutil.pid_exists(pid))


def discover(settings: Settings, *, timeout_s: float | None = None) -> RuntimeInfo | None:
    """Find the live daemon published in ``settings.data_dir``.

    Returns the runtime info when its pid is alive and ``GET /healthz`` at its
    address answers 200 within ``timeout_s`` seconds (default
    ``settings.probe_timeout_s``: its pid is alive, so it gets a loaded
    machine's patience); ``None`` when there is no file, the file is stale
    (dead pid) or nothing healthy answers. This says that a daemon lives
    there, not that it serves this store: before sending it anything, use
    :func:`memoryd.lifecycle.identity.find_daemon`.
    """
    info = read_runtime(settings)
    if info is None or not pid_alive(info.pid):
        return None
    budget = settings.probe_timeout_s if timeout_s is None else timeout_s
    return info if healthz(info.url, timeout_s=budget) else None


def daemon_get(url: str, path: str, token: str | None, *, timeout_s: float) -> httpx.Response:
    """``GET url+path`` bearing ``token`` (if any), past any proxy, within ``timeout_s`` seconds.

    Raises:
        httpx.HTTPError: no answer (``httpx.TimeoutException`` when the timeout elapsed).
    """
    headers = {"authorization": f"Bearer {token}"} if token is not None else None
    return httpx.get(
        f"{url.rstrip('/')}{path}", headers=headers, timeout=timeout_s, trust_env=False
    )


def _answers_ok(url: str, path: str, token: str | None, timeout_s: float) -> bool:
    try:
        return daemon_get(url, path, token, timeout_s=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def healthz(url: str, *, timeout_s: float) -> bool:
    """True when ``GET url/healthz`` answers 200 within ``timeout_s`` seconds (no proxy)."""
    return _answers_ok(url, "/healthz", None, timeout_s)


def read_token(settings: Settings) -> str | None:
    """The token a client sends (the first of ``settings.resolved_token_file``), or ``None``
    if there is none yet.

    Raises:
        ConfigError: the token file is malformed.
    """
    return client_token(settings.resolved_token_file)


def readyz(url: str, token: str, *, timeout_s: float) -> bool:
    """True when ``GET url/readyz`` with ``token`` answers 200 (store open, index loaded).

    ``timeout_s`` is the request's connect and read timeout, in seconds.
    """
    return _answers_ok(url, "/readyz", token, timeout_s)
