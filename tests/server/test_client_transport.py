"""The Client's HTTP transport (urllib3 pool) against real sockets: keep-alive, failures."""

from __future__ import annotations

import socket
import time

import pytest

from memoryd import Client
from memoryd.client.transport import KEEPALIVE_EXPIRY_S
from memoryd.errors import BackendUnavailable, Timeout
from memoryd.lifecycle.ports import bind_listener


def test_request_after_the_daemons_keep_alive_expired(live_url: str, token: str) -> None:
    """uvicorn closes idle connections after 5 s; the next call must not fail on one."""
    with Client(base_url=live_url, token=token) as client:
        before = client.stats().total
        time.sleep(KEEPALIVE_EXPIRY_S + 1.5)  # past uvicorn's 5 s keep-alive
        assert client.stats().total == before


def test_refused_connection_is_backend_unavailable_with_base_url() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}"
    with Client(base_url=url, token="t" * 32) as client, pytest.raises(BackendUnavailable) as info:
        client.stats()
    assert info.value.details["base_url"] == url


def test_silent_server_is_a_timeout() -> None:
    """A listener that never answers: the call ends after ``timeout_s``, as ``Timeout``."""
    listener = bind_listener("127.0.0.1", 0, backlog=8)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with Client(base_url=url, token="t" * 32, timeout_s=0.3) as client:
            started = time.monotonic()
            with pytest.raises(Timeout):
                client.stats()
            assert time.monotonic() - started < 5.0
    finally:
        listener.close()
