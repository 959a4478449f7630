"""Request activity of the daemon: what idle stop and the systemd watchdog look at."""

from __future__ import annotations

import threading
import time

__all__ = ["Activity"]


class Activity:
    """Count of in-flight HTTP requests and the monotonic time the last one started or ended.

    Thread-safe; :class:`~memoryd.server.observability.AccessMiddleware` calls
    :meth:`begin` and :meth:`end` around every request (MCP included).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self._last = time.monotonic()

    def begin(self) -> None:
        """A request started."""
        with self._lock:
            self._in_flight += 1
            self._last = time.monotonic()

    def end(self) -> None:
        """A request finished (successfully or not)."""
        with self._lock:
            self._in_flight -= 1
            self._last = time.monotonic()

    def idle_s(self) -> float:
        """Seconds since the last request started or ended; 0 while any is in flight."""
        with self._lock:
            return 0.0 if self._in_flight else time.monotonic() - self._last
