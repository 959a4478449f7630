"""Defect 10 / S3: the Host header is parsed strictly (RFC 9110 7.2, RFC 3986 3.2.2) and
must be sent exactly once; anything else is 421, on REST and on ``/mcp``."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from memoryd.server.security import host_allowed, parse_host

VALID = [
    ("localhost", "localhost"),
    ("LocalHost:7077", "localhost"),
    ("127.0.0.1", "127.0.0.1"),
    ("127.0.0.1:1", "127.0.0.1"),
    ("127.0.0.1:65535", "127.0.0.1"),
    ("[::1]", "::1"),
    ("[::1]:7077", "::1"),
    ("[0:0:0:0:0:0:0:1]:80", "::1"),
    (" localhost\t", "localhost"),  # surrounding OWS is not part of the value (RFC 9110 5.5)
    ("memoryd.internal", "memoryd.internal"),
    ("my-host_1.example:8080", "my-host_1.example"),
]
INVALID = [
    "",
    " ",
    "[::1].evil",  # defect 10: anything after "]" but ":port"
    "[::1]evil",
    "[::1]:",
    "[::1]:80:81",
    "[::1]:8o",
    "[::1",
    "::1",  # a bare IPv6 address
    "[]",
    "[localhost]",
    "[fe80::1%25eth0]",  # zone ids are not accepted
    "[v1.fe]",  # IPvFuture
    "localhost:",
    "localhost:80:81",
    "localhost:99999",
    "localhost:0080808",
    "localhost:-1",
    "localhost :80",
    "local host",
    "user@localhost",
    "user:pass@localhost",
    "localhost/path",
    "localhost?x",
    "localhost#x",
    "local\\host",
    "localhost\r\n",
    "lócalhost",
]


@pytest.mark.parametrize(("value", "host"), VALID)
def test_valid_host_values_parse(value: str, host: str) -> None:
    assert parse_host(value) == host


@pytest.mark.parametrize("value", INVALID)
def test_invalid_host_values_are_refused(value: str) -> None:
    assert parse_host(value) is None
    assert not host_allowed(value, ["localhost", "memoryd.internal"])


def test_allowed_hosts_match_name_or_name_and_port() -> None:
    assert host_allowed("memoryd.internal:9", ["memoryd.internal"])
    assert host_allowed("Memoryd.Internal:9", ["memoryd.internal:9"])
    assert not host_allowed("memoryd.internal:10", ["memoryd.internal:9"])
    assert not host_allowed("127.0.0.1.nip.io", [])
    assert not host_allowed("[::ffff:127.0.0.1]", [])


@pytest.mark.parametrize("path", ["/v1/stats", "/mcp", "/healthz"])
@pytest.mark.parametrize(
    "host", ["[::1].evil", "[::1]evil.example:80", "localhost:", "a@localhost"]
)
def test_malformed_host_gets_421(http: TestClient, path: str, host: str) -> None:
    response = http.get(path, headers={"host": host})
    assert response.status_code == 421, response.text
    assert response.json()["error"]["code"] == "forbidden"


def _raw(url: str, request: bytes) -> bytes:
    """Send ``request`` as is over a new connection; the response head and body."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("path", [b"/v1/stats", b"/mcp", b"/healthz"])
def test_two_host_headers_get_421_over_a_real_socket(
    live_url: str, token: str, path: bytes
) -> None:
    """Defect 10: a loopback Host first and a foreign one second must not pass."""
    auth = f"Authorization: Bearer {token}\r\n".encode()
    head = b"GET " + path + b" HTTP/1.1\r\n"
    twice = (
        head + b"Host: 127.0.0.1\r\nHost: evil.example\r\n" + auth + b"Connection: close\r\n\r\n"
    )
    response = _raw(live_url, twice)
    assert response.startswith(b"HTTP/1.1 421"), response[:200]
    assert b'"code": "forbidden"' in response
    same = head + b"Host: 127.0.0.1\r\nHost: 127.0.0.1\r\n" + auth + b"Connection: close\r\n\r\n"
    assert _raw(live_url, same).startswith(b"HTTP/1.1 421")
    once = head + b"Host: 127.0.0.1\r\n" + auth + b"Connection: close\r\n\r\n"
    assert not _raw(live_url, once).startswith(b"HTTP/1.1 421")


def test_bracketed_loopback_with_suffix_is_refused_over_a_real_socket(
    live_url: str, token: str
) -> None:
    request = (
        b"GET /v1/stats HTTP/1.1\r\nHost: [::1].evil\r\n"
        + f"Authorization: Bearer {token}\r\n".encode()
        + b"Connection: close\r\n\r\n"
    )
    assert _raw(live_url, request).startswith(b"HTTP/1.1 421")


def test_origin_or_authorization_sent_twice_is_refused(live_url: str, token: str) -> None:
    head = b"GET /v1/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    auth = f"Authorization: Bearer {token}\r\n".encode()
    origins = b"Origin: http://evil.example\r\nOrigin: http://evil.example\r\n"
    assert _raw(live_url, head + auth + origins + b"\r\n").startswith(b"HTTP/1.1 403")
    twice = auth + b"Authorization: Bearer other\r\n"
    assert _raw(live_url, head + twice + b"\r\n").startswith(b"HTTP/1.1 401")
    assert _raw(live_url, head + auth + b"\r\n").startswith(b"HTTP/1.1 200")
