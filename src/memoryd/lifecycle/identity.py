"""Does the daemon at an address serve *this* data dir's store? Asked before anything is sent.

A port says nothing about which store answers there: the CLI's guess at
``Settings.base_url`` may reach the daemon of another data dir, a stale
``daemon.json`` may name a port that another daemon took since, and a data
dir may hold a copy of another one's token file or ``daemon.json``. So the
CLI, :class:`memoryd.Client` and the auto-starter ask the daemon which store
it serves (``GET /v1/identity``, token required) and compare its answer
with the store in their own data dir, read without writing
(:func:`memoryd.store.identity.local_identity`):

* the same store id *and* the same database file (device and inode): it is
  this store's daemon;
* anything else (another id, a copy of this store, a refused token, no
  identity route, no store in this data dir yet): it is not, and nothing
  else is sent to it.

The store's own id is read *after* the daemon answered, so a daemon that
has just created the store (a new data dir) is recognised. ``/healthz``
stays public and carries no data; the store id is answered only to callers
holding the token (it is not a secret, but it tells one store from another,
and the answer also names the database file).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Literal

import httpx
from pydantic import ValidationError as PydanticValidationError

from memoryd.config import Settings
from memoryd.errors import BackendUnavailable, StoreMismatch, Unauthorized
from memoryd.lifecycle.runtime import (
    RuntimeInfo,
    daemon_get,
    pid_alive,
    read_runtime,
    read_token,
)
from memoryd.store.identity import StoreIdentity, local_identity, read_store_id

__all__ = [
    "IDENTITY_PATH",
    "DaemonCheck",
    "Verdict",
    "check_daemon",
    "find_daemon",
    "log_skipped",
    "names_store",
    "require_same_store",
    "verify_daemon",
]

log = logging.getLogger("memoryd.lifecycle")

#: The daemon's authenticated identity route.
IDENTITY_PATH = "/v1/identity"
#: Seconds between two identity probes of a daemon that is still opening its store.
_POLL_S = 0.1

Verdict = Literal["same", "other", "refused", "opening", "unreachable"]


@dataclass(frozen=True)
class DaemonCheck:
    """The outcome of one identity check of the daemon at ``url``.

    ``verdict``: ``same`` (it serves this store), ``other`` (another store, a
    copy of this one, or not a memoryd daemon that reports its store),
    ``refused`` (401/403: it does not take this token), ``opening`` (503: it
    does not know its store yet), ``unreachable`` (refused connection,
    timeout). ``reason`` is one human sentence.
    """

    url: str
    verdict: Verdict
    reason: str

    @property
    def same(self) -> bool:
        """True when the daemon serves this data dir's store."""
        return self.verdict == "same"


def _busy_s(settings: Settings) -> float:
    return settings.busy_timeout_ms / 1000


def _compare(settings: Settings, url: str, theirs: StoreIdentity) -> DaemonCheck:
    ours = local_identity(settings.db_path, busy_timeout_s=_busy_s(settings))
    if ours is None:
        return DaemonCheck(url, "other", f"{settings.data_dir} holds no store yet")
    if theirs.store_id != ours.store_id:
        reason = f"it serves store {theirs.store_id}; {settings.data_dir} holds {ours.store_id}"
        return DaemonCheck(url, "other", reason)
    if theirs.file_id != ours.file_id:
        reason = f"it serves another copy of store {ours.store_id}, not {settings.db_path}"
        return DaemonCheck(url, "other", reason)
    return DaemonCheck(url, "same", f"it serves store {ours.store_id}")


def check_daemon(settings: Settings, url: str, token: str, *, timeout_s: float) -> DaemonCheck:
    """Ask the daemon at ``url`` once which store it serves and compare with ``settings.data_dir``.

    Args:
        url: ``http://host:port`` of the daemon.
        token: the bearer token to authenticate with.
        timeout_s: connect and read timeout of the request, in seconds.

    Raises:
        StorageError: this data dir's database exists but cannot be read.
    """
    try:
        response = daemon_get(url, IDENTITY_PATH, token, timeout_s=timeout_s)
    except httpx.TimeoutException:
        return DaemonCheck(url, "unreachable", f"no answer within {timeout_s:g} s")
    except httpx.HTTPError as exc:
        return DaemonCheck(url, "unreachable", f"cannot reach it: {exc}")
    status = response.status_code
    if status in (401, 403):
        return DaemonCheck(url, "refused", f"it refuses this store's token (HTTP {status})")
    if status == 503:
        return DaemonCheck(url, "opening", "it is still opening its store")
    if status != 200:
        return DaemonCheck(url, "other", f"it reports no store identity (HTTP {status})")
    try:
        theirs = StoreIdentity.model_validate_json(response.content)
    except PydanticValidationError:
        return DaemonCheck(url, "other", "its identity answer is not a memoryd one")
    return _compare(settings, url, theirs)


def verify_daemon(
    settings: Settings, url: str, token: str, *, timeout_s: float, patience_s: float
) -> DaemonCheck:
    """:func:`check_daemon`, asked again while the daemon is still opening its store.

    Args:
        timeout_s: timeout of each request, in seconds.
        patience_s: how long to keep asking a daemon that answers ``opening``, in seconds.
    """
    deadline = time.monotonic() + patience_s
    while True:
        check = check_daemon(settings, url, token, timeout_s=timeout_s)
        if check.verdict != "opening" or time.monotonic() >= deadline:
            return check
        time.sleep(_POLL_S)


def find_daemon(
    settings: Settings, *, token: str | None = None, patience_s: float | None = None
) -> RuntimeInfo | None:
    """The daemon named by ``<data_dir>/daemon.json``, if it is alive and serves this store.

    A ``daemon.json`` whose store id differs from this data dir's store is
    skipped without a request (a copied file). Every other candidate is
    asked (:func:`verify_daemon`, ``settings.probe_timeout_s`` per request).
    A daemon that serves another store is logged (``store_mismatch``) and
    skipped.

    Args:
        token: the bearer token (default: ``settings.resolved_token_file``).
        patience_s: how long to wait for a daemon that is still opening its
            store, in seconds (default ``settings.probe_timeout_s``; 0 = ask once).

    Returns:
        its runtime info, or ``None`` (no file, dead pid, no token, not ours, no answer).
    """
    info = read_runtime(settings)
    if info is None or not pid_alive(info.pid):
        return None
    ours = read_store_id(settings.db_path, busy_timeout_s=_busy_s(settings))
    if info.store_id is not None and ours is not None and info.store_id != ours:
        reason = f"daemon.json names store {info.store_id}; {settings.data_dir} holds {ours}"
        log_skipped(DaemonCheck(info.url, "other", reason), settings)
        return None
    token = token or read_token(settings)
    if token is None:
        return None  # no daemon of this data dir could authenticate us
    wait = settings.probe_timeout_s if patience_s is None else patience_s
    check = verify_daemon(
        settings, info.url, token, timeout_s=settings.probe_timeout_s, patience_s=wait
    )
    if check.same:
        return info
    if check.verdict in ("other", "refused"):
        log_skipped(check, settings)
    return None


def log_skipped(check: DaemonCheck, settings: Settings) -> None:
    """Log (warning, code ``store_mismatch``) that the daemon of ``check`` is not used."""
    log.warning(
        "not using the daemon at %s: %s",
        check.url,
        check.reason,
        extra={"code": StoreMismatch.code, "url": check.url, "data_dir": str(settings.data_dir)},
    )


def names_store(settings: Settings) -> bool:
    """True when ``data_dir`` was set explicitly (argument, env, config) and holds a store.

    Only then is a daemon named by URL required to serve that store
    (:func:`require_same_store`): a client of a remote daemon that leaves
    ``data_dir`` at its default is not refused for the local default store.
    """
    return "data_dir" in settings.model_fields_set and settings.db_path.is_file()


def require_same_store(settings: Settings, url: str, token: str, *, timeout_s: float) -> None:
    """Check that the daemon named by ``url`` serves the store of ``settings.data_dir``.

    A no-op unless :func:`names_store`. Waits up to ``timeout_s`` seconds for
    a daemon that is still opening its store.

    Raises:
        StoreMismatch: it serves another store (or a copy of this one).
        Unauthorized: it refuses the token.
        BackendUnavailable: nothing answers at ``url``, or it is still opening.
    """
    if not names_store(settings):
        return
    check = verify_daemon(settings, url, token, timeout_s=timeout_s, patience_s=timeout_s)
    if check.same:
        return
    details = {"url": url, "data_dir": str(settings.data_dir)}
    if check.verdict == "refused":
        raise Unauthorized(f"the daemon at {url} refused the token: {check.reason}", **details)
    if check.verdict in ("unreachable", "opening"):
        raise BackendUnavailable(f"no memoryd daemon answers at {url}: {check.reason}", **details)
    raise StoreMismatch(
        f"the daemon at {url} does not serve the store in {settings.data_dir}: {check.reason}",
        **details,
    )
