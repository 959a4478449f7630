"""Start a daemon on demand: one auto-started daemon per data dir, however many callers ask.

Callers (``memoryd mcp`` processes, ``Client`` objects in discovery mode)
serialise on ``<data_dir>/spawn.lock`` (``flock``). Inside the lock a caller
looks again for a live daemon of this store (``daemon.json``, verified with
:mod:`memoryd.lifecycle.identity`: a ``daemon.json`` copied from another
data dir names a daemon that is not ours) and only starts one when there is
none, so eight agents starting at once start one daemon. The child runs
``python -m memoryd.server --auto-started`` in its own session (it outlives
the caller), with the caller's settings passed as ``MEMORYD_*`` variables and
its stdout/stderr appended to ``<logs>/spawn.out`` (crash output before
logging is configured); the daemon's own log goes to ``Settings.resolved_log_file``.
An auto-started daemon stops itself after ``Settings.idle_timeout_s`` idle seconds.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from memoryd.config import Settings
from memoryd.errors import BackendUnavailable, MemorydError, Timeout
from memoryd.lifecycle.identity import DaemonCheck, check_daemon
from memoryd.lifecycle.runtime import RuntimeInfo, pid_alive, read_runtime, read_token, readyz

__all__ = ["prestart", "settings_env", "start_daemon", "wait_ready"]

#: Seconds between two looks at a starting daemon (a poll interval, not a timeout).
_POLL_S = 0.05
log = logging.getLogger("memoryd.lifecycle")
_PRESTARTED: dict[str, threading.Thread] = {}
_PRESTARTED_LOCK = threading.Lock()


def settings_env(settings: Settings) -> dict[str, str]:
    """``MEMORYD_*`` variables that rebuild ``settings`` in a child process.

    Every field that is not ``None`` is exported (lists and dicts as JSON), so
    the child sees exactly the caller's configuration, not just its env/TOML.
    """
    env: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        if name == "embedding_api_key" and settings.embedding_api_key is not None:
            value = settings.embedding_api_key.get_secret_value()
        text = json.dumps(value) if isinstance(value, list | dict) else str(value)
        env[f"MEMORYD_{name.upper()}"] = text
    return env


def _published(
    settings: Settings, deadline: float
) -> tuple[RuntimeInfo | None, DaemonCheck | None]:
    """The live daemon in ``daemon.json`` and whether it serves this store (``None`` if none).

    Each request gets ``settings.probe_timeout_s`` seconds, at most until ``deadline``.
    """
    info = read_runtime(settings)
    if info is None or not pid_alive(info.pid):
        return None, None
    token = read_token(settings)
    if token is None:
        return info, None  # the daemon writes its token before daemon.json; a foreign file
    timeout_s = max(_POLL_S, min(settings.probe_timeout_s, deadline - time.monotonic()))
    return info, check_daemon(settings, info.url, token, timeout_s=timeout_s)


def wait_ready(
    settings: Settings, deadline: float, process: subprocess.Popen[bytes] | None = None
) -> RuntimeInfo | None:
    """Poll until the daemon of ``settings.data_dir`` serves this store and answers ``/readyz`` 200.

    A daemon published in ``daemon.json`` that serves another store
    (:mod:`memoryd.lifecycle.identity`) is never returned.

    Args:
        deadline: ``time.monotonic()`` value to give up at.
        process: the child just started, if any; its early exit ends the wait
            (unless another daemon of this store, the one that won the lock, is found).

    Returns:
        the ready daemon's runtime info, or ``None`` at the deadline / on the child's exit.
    """
    while time.monotonic() < deadline:
        info, check = _published(settings, deadline)
        if info is not None and check is not None and check.same:
            token = read_token(settings) or ""
            timeout_s = max(_POLL_S, min(settings.probe_timeout_s, deadline - time.monotonic()))
            if readyz(info.url, token, timeout_s=timeout_s):
                return info
        foreign = check is not None and check.verdict in ("other", "refused")
        if process is not None and process.poll() is not None and (info is None or foreign):
            return None
        time.sleep(_POLL_S)
    return None


def _spawn(settings: Settings) -> subprocess.Popen[bytes]:
    log_dir = settings.resolved_log_file.parent
    log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = {**os.environ, **settings_env(settings), "HF_HUB_OFFLINE": "1"}
    env.pop("NOTIFY_SOCKET", None)  # the service manager's socket is not ours to use
    command = [sys.executable, "-m", "memoryd.server", "--auto-started"]
    with open(log_dir / "spawn.out", "ab") as out:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # survives the caller; signals to the caller's group miss it
            close_fds=True,
        )


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def start_daemon(settings: Settings, *, timeout_s: float | None = None) -> RuntimeInfo:
    """Return the ready daemon for ``settings.data_dir``, starting one if none runs.

    Args:
        timeout_s: longest total wait in seconds (default ``settings.start_timeout_s``).

    Raises:
        Timeout: no daemon became ready in time.
        BackendUnavailable: the started daemon exited (the tail of its output is in the message).
    """
    budget = settings.start_timeout_s if timeout_s is None else timeout_s
    deadline = time.monotonic() + budget
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(settings.data_dir / "spawn.lock", "a+b") as lock:
        while True:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Timeout(
                        f"another caller is starting the daemon and it was not ready in {budget} s"
                    ) from None
                time.sleep(_POLL_S)
        try:
            _, check = _published(settings, deadline)
            if check is not None and check.verdict in ("same", "opening"):  # ours, maybe opening
                info = wait_ready(settings, deadline)
                if info is None:
                    raise Timeout(f"the running daemon was not ready within {budget} s")
                return info
            process = _spawn(settings)
            # Reap the child when it exits (idle stop) so it never lingers as a zombie.
            threading.Thread(target=process.wait, name="memoryd-reaper", daemon=True).start()
            info = wait_ready(settings, deadline, process)
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    if info is not None:
        return info
    code = process.poll()
    if code is not None:
        out = _tail(settings.resolved_log_file.parent / "spawn.out")
        raise BackendUnavailable(
            f"the daemon exited with status {code} while starting: {out}", status=code
        )
    raise Timeout(f"the daemon was not ready within {budget} s", pid=process.pid)


def prestart(settings: Settings) -> threading.Thread:
    """Start (or find) the daemon in a background thread; returns the running thread.

    ``memoryd mcp`` calls this before it imports the MCP SDK, so the daemon
    boots while the handshake is answered and the first tool call finds it
    ready. A failure is logged; the first call then retries or falls back
    (:mod:`memoryd.client.routing`) and reports it.
    """

    key = str(settings.data_dir.resolve())
    with _PRESTARTED_LOCK:
        running = _PRESTARTED.get(key)
        if running is not None:
            return running  # at most one pre-start per data dir and process

    def run() -> None:
        try:
            start_daemon(settings)
        except MemorydError as exc:
            log.warning("daemon pre-start failed", extra={"code": exc.code, "reason": exc.message})

    thread = threading.Thread(target=run, name="memoryd-prestart", daemon=True)
    with _PRESTARTED_LOCK:
        _PRESTARTED[key] = thread
    thread.start()
    return thread
