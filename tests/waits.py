"""Every wait and timeout of the tests, sized for a busy 2-core machine.

The figures passed to :func:`budget` are sized for a load average of 8 on
2 cores (the suite beside ``stress-ng --cpu 4`` and other test runs); a
slower machine scales them all with one variable,
``MEMORYD_TEST_TIMEOUT_SCALE`` (default 1; ``2`` doubles every budget).
A wait polls its condition (:func:`wait_until`) instead of sleeping a fixed
time, so a quiet machine does not pay the budget. Unit is seconds throughout.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["POLL_S", "SCALE", "budget", "deadline", "stop_daemon", "wait_until"]

T = TypeVar("T")

#: Multiplier of every test budget (``MEMORYD_TEST_TIMEOUT_SCALE``).
SCALE = float(os.environ.get("MEMORYD_TEST_TIMEOUT_SCALE", "1") or "1")
#: Seconds between two looks at a condition (a poll interval, not a timeout).
POLL_S = 0.05


def budget(seconds: float) -> float:
    """``seconds`` (a budget sized for load 8 on 2 cores) times :data:`SCALE`."""
    return seconds * SCALE


def deadline(seconds: float) -> float:
    """The ``time.monotonic()`` value :func:`budget` ``(seconds)`` from now."""
    return time.monotonic() + budget(seconds)


def wait_until(
    condition: Callable[[], T | None],
    *,
    timeout_s: float,
    message: str = "condition",
    interval_s: float = POLL_S,
) -> T:
    """Poll ``condition`` until it returns a truthy value; return that value.

    Args:
        timeout_s: budget in seconds before scaling (see :func:`budget`).
        message: what was awaited, for the failure message.

    Raises:
        AssertionError: the condition stayed falsy for the whole budget.
    """
    limit = budget(timeout_s)
    end = time.monotonic() + limit
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= end:
            raise AssertionError(f"{message}: not reached within {limit:g} s")
        time.sleep(interval_s)


def stop_daemon(settings, timeout_s: float | None = None) -> None:  # type: ignore[no-untyped-def]
    """SIGTERM the daemon of ``settings.data_dir`` (if one runs) and wait for it to exit."""
    import signal
    import time

    from memoryd.lifecycle.runtime import pid_alive, read_runtime

    info = read_runtime(settings)
    if info is None or not pid_alive(info.pid):
        return
    os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + (budget(20) if timeout_s is None else timeout_s)
    while pid_alive(info.pid):
        if time.monotonic() > deadline:
            os.kill(info.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
