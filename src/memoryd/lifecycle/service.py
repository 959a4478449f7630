"""``memoryd service``: install and control memoryd as a per-user service.

:class:`ServiceManager` writes the systemd user unit (Linux) or launchd agent
(macOS) from :mod:`memoryd.lifecycle.service_files` and drives
``systemctl --user`` or ``launchctl``. :func:`daemon_status` and
:func:`tail_log` work without any service manager: they read the daemon's
runtime file, probe it, and read its log file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from memoryd.config import Settings
from memoryd.errors import NotFound, ServiceError
from memoryd.lifecycle.runtime import discover, read_runtime, read_token, readyz
from memoryd.lifecycle.service_files import (
    LAUNCHD_LABEL,
    SYSTEMD_UNIT,
    launchd_plist,
    launchd_plist_path,
    systemd_unit,
    systemd_unit_path,
)
from memoryd.store.space import write_atomic

__all__ = ["DaemonStatus", "ManagerKind", "ServiceManager", "daemon_status", "tail_log"]

ManagerKind = Literal["systemd", "launchd"]
Action = Literal["start", "stop", "restart"]


class ServiceManager:
    """The user's service manager for memoryd.

    Args:
        settings: whose data dir the service serves.
        kind: ``"systemd"`` or ``"launchd"``; default by platform (macOS → launchd).
        home: the home folder the unit/agent file goes under (default ``Path.home()``).
    """

    def __init__(
        self, settings: Settings, *, kind: ManagerKind | None = None, home: Path | None = None
    ) -> None:
        self.settings = settings
        self.kind: ManagerKind = kind or ("launchd" if sys.platform == "darwin" else "systemd")
        self.home = home

    @property
    def path(self) -> Path:
        """Where the unit (systemd) or property list (launchd) is installed."""
        if self.kind == "systemd":
            return systemd_unit_path(self.home)
        return launchd_plist_path(self.home)

    def render(self) -> bytes:
        """The unit or plist for this data dir and this Python."""
        if self.kind == "systemd":
            return systemd_unit(self.settings).encode("utf-8")
        return launchd_plist(self.settings)

    # --- commands -----------------------------------------------------------
    def _run(self, *args: str) -> str:
        tool = args[0]
        if shutil.which(tool) is None:
            raise ServiceError(f"{tool} is not available on this machine", tool=tool)
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            message = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
            raise ServiceError(f"{' '.join(args)} failed: {message}", status=done.returncode)
        return done.stdout

    def _domain(self) -> str:
        return f"gui/{os.getuid()}"

    def install(self, *, start: bool = True) -> Path:
        """Write the unit/agent file (0644, folders created) and, if ``start``, enable it now.

        Raises:
            ServiceError: the service manager is missing or refused (the file stays written).
        """
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, self.render(), mode=0o644)
        if start:
            if self.kind == "systemd":
                self._run("systemctl", "--user", "daemon-reload")
                self._run("systemctl", "--user", "enable", "--now", SYSTEMD_UNIT)
            else:
                self._run("launchctl", "bootstrap", self._domain(), str(path))
        return path

    def uninstall(self) -> Path:
        """Stop and disable the service, then remove its file.

        Raises:
            NotFound: the service is not installed.
            ServiceError: the service manager refused to stop it (the file is kept).
        """
        path = self.path
        if not path.exists():
            raise NotFound(f"no memoryd service installed at {path}", path=str(path))
        if self.kind == "systemd":
            self._run("systemctl", "--user", "disable", "--now", SYSTEMD_UNIT)
            path.unlink()
            self._run("systemctl", "--user", "daemon-reload")
        else:
            self._run("launchctl", "bootout", f"{self._domain()}/{LAUNCHD_LABEL}")
            path.unlink()
        return path

    def control(self, action: Action) -> None:
        """``start``, ``stop`` or ``restart`` the installed service.

        Raises:
            NotFound: the service is not installed.
            ServiceError: the service manager is missing or refused.
        """
        if not self.path.exists():
            raise NotFound(
                f"no memoryd service installed at {self.path}; run: memoryd service install",
                path=str(self.path),
            )
        if self.kind == "systemd":
            self._run("systemctl", "--user", action, SYSTEMD_UNIT)
        elif action == "stop":
            self._run("launchctl", "kill", "SIGTERM", f"{self._domain()}/{LAUNCHD_LABEL}")
        else:
            self._run("launchctl", "kickstart", "-k", f"{self._domain()}/{LAUNCHD_LABEL}")


class DaemonStatus(BaseModel):
    """What ``memoryd service status`` reports (sizes in bytes, uptime in seconds)."""

    running: bool
    healthy: bool
    ready: bool
    pid: int | None = None
    url: str | None = None
    port: int | None = None
    uptime_s: float | None = None
    auto_started: bool | None = None
    version: str | None = None
    data_dir: str
    store_bytes: int
    log_file: str
    service_file: str | None = None


def _store_bytes(settings: Settings) -> int:
    db = settings.db_path
    files = (db.with_name(db.name + suffix) for suffix in ("", "-wal", "-shm"))
    return sum(path.stat().st_size for path in files if path.exists())


def daemon_status(settings: Settings, service_file: Path | None = None) -> DaemonStatus:
    """The daemon of ``settings.data_dir``: running?, healthy?, ready?, pid, port, uptime, size."""
    info = discover(settings)
    common = {
        "data_dir": str(settings.data_dir),
        "store_bytes": _store_bytes(settings),
        "log_file": str(settings.resolved_log_file),
        "service_file": str(service_file) if service_file and service_file.exists() else None,
    }
    if info is None:
        stale = read_runtime(settings)
        return DaemonStatus(
            running=False, healthy=False, ready=False, pid=stale.pid if stale else None, **common
        )
    token = read_token(settings)
    return DaemonStatus(
        running=True,
        healthy=True,
        ready=token is not None and readyz(info.url, token, timeout_s=settings.probe_timeout_s),
        pid=info.pid,
        url=info.url,
        port=info.port,
        uptime_s=round((datetime.now(UTC) - info.started_at).total_seconds(), 1),
        auto_started=info.auto_started,
        version=info.version,
        **common,
    )


def tail_log(
    path: Path, *, lines: int = 50, follow: bool = False, poll_s: float = 0.25
) -> Iterator[str]:
    """The last ``lines`` lines of ``path``; with ``follow``, then every new line as it comes.

    Follows across rotation (the file replaced or truncated: the new file is
    read from its start). Ends when the caller stops iterating (Ctrl-C for the CLI).

    Raises:
        NotFound: there is no log file yet (the daemon never ran with this data dir).
    """
    if not path.exists():
        raise NotFound(f"no log file at {path}; has the daemon run?", path=str(path))
    handle = path.open("r", encoding="utf-8", errors="replace")
    try:
        yield from (line.rstrip("\n") for line in deque(handle, maxlen=max(0, lines)))
        while follow:
            line = handle.readline()
            if line:
                yield line.rstrip("\n")
                continue
            time.sleep(poll_s)
            try:
                current = path.stat()
            except FileNotFoundError:
                continue  # between rotation's rename and the new file
            if (
                current.st_ino != os.fstat(handle.fileno()).st_ino
                or current.st_size < handle.tell()
            ):
                handle.close()
                handle = path.open("r", encoding="utf-8", errors="replace")
    finally:
        handle.close()
