"""``DaemonServer``: uvicorn's server plus idle stop, systemd notifications and watchdog pings.

uvicorn calls :meth:`on_tick` every 0.1 s from its event loop. Ours also

* stops an auto-started daemon once :class:`~memoryd.server.activity.Activity`
  has been idle for ``idle_timeout_s`` seconds (``0`` disables it);
* sends ``WATCHDOG=1`` to systemd about once a second when the unit sets
  ``WatchdogSec`` (``$WATCHDOG_USEC``), so a loop blocked for longer than
  that gets the daemon restarted (RELIABILITY.md R15: liveness fails if the
  loop is blocked);
* sends ``STOPPING=1`` when shutdown begins (signal or idle stop);
* retries :attr:`DaemonServer.pending_publish` (writing ``daemon.json`` after
  a full disk refused it at start) every :data:`PUBLISH_RETRY_S` seconds.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from types import FrameType

import uvicorn

from memoryd.lifecycle.notify import sd_notify
from memoryd.server.activity import Activity

__all__ = ["DaemonServer"]

log = logging.getLogger("memoryd.server")
#: Seconds between attempts to write ``daemon.json`` while the disk is full.
PUBLISH_RETRY_S = 5.0


class DaemonServer(uvicorn.Server):
    """A uvicorn server with idle stop and systemd integration.

    Args:
        config: the uvicorn config (see :func:`memoryd.server.runner.uvicorn_config`).
        activity: request activity of the app being served.
        idle_timeout_s: stop after this many idle seconds (0 = never).
    """

    def __init__(
        self, config: uvicorn.Config, *, activity: Activity, idle_timeout_s: float
    ) -> None:
        super().__init__(config)
        self.activity = activity
        self.idle_timeout_s = idle_timeout_s
        self.stop_reason: str | None = None
        usec = os.environ.get("WATCHDOG_USEC", "")
        self._watchdog_s = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 else 0.0
        self._last_ping = 0.0
        #: Writes ``daemon.json`` and returns ``True`` once done; set while a full disk refuses it.
        self.pending_publish: Callable[[], bool] | None = None
        self._last_publish = time.monotonic()

    async def on_tick(self, counter: int) -> bool:
        """uvicorn's periodic check; True ends the main loop (graceful shutdown follows)."""
        if await super().on_tick(counter):
            return True
        now = time.monotonic()
        if self._watchdog_s and now - self._last_ping >= min(1.0, self._watchdog_s):
            sd_notify("WATCHDOG=1")
            self._last_ping = now
        if self.pending_publish is not None and now - self._last_publish >= PUBLISH_RETRY_S:
            self._last_publish = now
            if self.pending_publish():
                self.pending_publish = None
        if self.idle_timeout_s and self.activity.idle_s() >= self.idle_timeout_s:
            self.stop_reason = "idle"
            log.info("idle stop", extra={"idle_timeout_s": self.idle_timeout_s})
            sd_notify("STOPPING=1")
            self.should_exit = True
            return True
        return False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT: tell systemd we are stopping, then uvicorn's graceful shutdown.

        Unlike uvicorn's own handler, the signal is not raised again after the
        shutdown, so the runner still removes its runtime file and the process
        exits with status 0 (a second SIGINT forces the exit, as in uvicorn).
        """
        if self.stop_reason is None:
            self.stop_reason = "signal"
            sd_notify("STOPPING=1")
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True
