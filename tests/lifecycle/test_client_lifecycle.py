"""``Client(lifecycle=True)``: find or start the daemon, restart it, fall back in-process.

Real daemons (``python -m memoryd.server --auto-started``) on free loopback
ports; the fallback engine is a real ``Memory`` on the same SQLite file.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

import waits
from memoryd import BackendUnavailable, Client, Memory, NotFound, Settings, ValidationError
from memoryd.lifecycle import discover, start_daemon
from memoryd.lifecycle.runtime import pid_alive


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    deadline = waits.deadline(10)
    while pid_alive(pid):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_starts_the_daemon_and_serves_through_it(lifecycle_settings: Settings) -> None:
    assert discover(lifecycle_settings) is None
    with Client(lifecycle_settings, lifecycle=True) as client:
        entry = client.add("Ann prefers green tea")
        assert client.served_by == "daemon" and client.degraded is False
        info = discover(lifecycle_settings)
        assert info is not None and info.auto_started
        assert client.base_url == info.url
        assert client.search("what does Ann drink?").hits[0].entry.id == entry.id
        assert client.served_by == "daemon"


def test_killed_daemon_is_restarted_for_the_next_call(lifecycle_settings: Settings) -> None:
    with Client(lifecycle_settings, lifecycle=True) as client:
        entry = client.add("the deploy key lives in the vault")
        first = discover(lifecycle_settings)
        assert first is not None
        _kill(first.pid)
        assert client.get(entry.id).content == "the deploy key lives in the vault"
        route = client.last_route
        assert route is not None and route.served_by == "daemon" and route.reason == "restarted"
        second = discover(lifecycle_settings)
        assert second is not None and second.pid != first.pid


def test_falls_back_in_process_when_no_daemon_may_start(lifecycle_settings: Settings) -> None:
    settings = lifecycle_settings.model_copy(update={"auto_start": False})
    with Client(settings, lifecycle=True) as client:
        entry = client.add("local write while the daemon is down")
        route = client.last_route
        assert route is not None and route.served_by == "local" and route.degraded
        assert route.reason is not None and route.reason.startswith("backend_unavailable")
        # The circuit is open: the next call goes local without trying the daemon.
        assert client.get(entry.id).id == entry.id
        assert client.served_by == "local"
        assert client.last_route is not None
        assert client.last_route.reason == "circuit open after a daemon failure"
    # The fallback wrote to the daemon's own store: a daemon started later sees it.
    info = start_daemon(lifecycle_settings)
    with Client(lifecycle_settings, base_url=info.url) as direct:
        assert direct.get(entry.id).content == "local write while the daemon is down"


def test_half_open_circuit_returns_to_the_daemon(lifecycle_settings: Settings) -> None:
    down = lifecycle_settings.model_copy(update={"auto_start": False, "breaker_cooldown_s": 0})
    with Client(down, lifecycle=True) as client:
        client.add("written locally")
        assert client.served_by == "local"
        start_daemon(lifecycle_settings)
        client.add("written through the daemon")
        assert client.served_by == "daemon" and not client.degraded


def test_without_fallback_the_daemon_failure_is_raised(lifecycle_settings: Settings) -> None:
    settings = lifecycle_settings.model_copy(update={"auto_start": False, "fallback_local": False})
    with Client(settings, lifecycle=True) as client, pytest.raises(BackendUnavailable):
        client.add("nowhere to go")


def test_caller_errors_are_not_retried_elsewhere(lifecycle_settings: Settings) -> None:
    with Client(lifecycle_settings, lifecycle=True) as client:
        with pytest.raises(NotFound):
            client.get("00000000-0000-0000-0000-000000000000")
        with pytest.raises(ValidationError):
            client.search("")
        assert client._router is not None and client._router._local is None  # no fallback
        client.add("a valid write")
        assert client.served_by == "daemon"


def test_lifecycle_excludes_an_explicit_address(lifecycle_settings: Settings) -> None:
    with pytest.raises(ValidationError, match="lifecycle=True"):
        Client(lifecycle_settings, base_url="http://127.0.0.1:1", lifecycle=True)


def test_memory_and_local_fallback_share_the_store(lifecycle_settings: Settings) -> None:
    settings = lifecycle_settings.model_copy(update={"auto_start": False})
    with Client(settings, lifecycle=True) as client:
        entry = client.add("shared fact")
    with Memory(settings) as memory:
        assert memory.get(entry.id).content == "shared fact"
