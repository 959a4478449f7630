"""S1 loopback bind, S2 token on every route, S3 Origin/Host/CORS, S7 token file."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from memoryd import ConfigError, Forbidden, Settings, Unauthorized
from memoryd.client import Client
from memoryd.server import create_app, run
from memoryd.server.security import host_allowed, load_tokens

DUMMY = {
    "id": "00000000-0000-4000-8000-000000000000",
    "session_id": "s",
    "key": "k",
}


def _routes(app: FastAPI, http: TestClient) -> list[tuple[str, str]]:
    """Every (method, path) of the OpenAPI document, path parameters filled in."""
    spec = http.get("/openapi.json").json()
    routes = [("GET", "/openapi.json")]
    for template, methods in spec["paths"].items():
        path = template.format(**DUMMY)
        routes.extend((method.upper(), path) for method in methods)
    return routes


# --- S1 -------------------------------------------------------------------
def test_non_loopback_bind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="allow_remote"):
        Settings(data_dir=tmp_path, host="0.0.0.0")
    unchecked = Settings(data_dir=tmp_path).model_copy(update={"host": "0.0.0.0"})
    with pytest.raises(ConfigError, match="refusing to bind"):
        run(unchecked)


def test_live_server_listens_on_loopback_only(live_url: str) -> None:
    port = int(live_url.rsplit(":", 1)[1])
    listening = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, port_hex = local.split(":")
        if int(port_hex, 16) == port and state == "0A":  # 0A = LISTEN
            listening.append(address)
    assert listening == ["0100007F"]  # 127.0.0.1, little-endian hex


# --- S2 -------------------------------------------------------------------
def test_every_route_requires_the_token(
    app: FastAPI, http: TestClient, make_client: Callable[..., TestClient]
) -> None:
    routes = _routes(app, http)
    assert len(routes) >= 20 and ("GET", "/metrics") in routes
    anonymous = make_client(auth=False)
    wrong = make_client(authorization="Bearer not-the-token")
    basic = make_client(auth=False, authorization="Basic dXNlcjpwYXNz")
    empty = make_client(auth=False, authorization="Bearer ")
    for method, path in routes:
        for client in (anonymous, wrong, basic, empty):
            response = client.request(method, path, json={})
            if path == "/healthz":
                assert response.status_code == 200
                assert response.json() == {"status": "ok"}
                continue
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["error"]["code"] == "unauthorized"
            assert response.headers["www-authenticate"].startswith("Bearer")
    assert anonymous.get("/v1/no-such-route").status_code == 401


def test_token_over_a_real_socket(live_url: str, token: str) -> None:
    with httpx.Client(base_url=live_url, trust_env=False) as raw:
        assert raw.get("/healthz").status_code == 200
        assert raw.get("/v1/stats").status_code == 401
        assert raw.get("/metrics", headers={"authorization": "Bearer x"}).status_code == 401
        assert raw.get("/v1/stats", headers={"authorization": f"Bearer {token}"}).status_code == 200
    with Client(base_url=live_url, token="wrong") as client, pytest.raises(Unauthorized):
        client.stats()


# --- S3 -------------------------------------------------------------------
@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1.evil.example"])
def test_foreign_origin_is_forbidden(http: TestClient, origin: str) -> None:
    for method, path in [("GET", "/v1/stats"), ("POST", "/v1/search"), ("GET", "/healthz")]:
        response = http.request(method, path, headers={"origin": origin}, json={"query": "q"})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    preflight = http.options(
        "/v1/memories",
        headers={"origin": origin, "access-control-request-method": "POST"},
    )
    assert preflight.status_code == 403


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:7077", "127.0.0.1.nip.io", "10.0.0.1"]
)
def test_foreign_host_is_refused(http: TestClient, host: str) -> None:
    response = http.get("/v1/stats", headers={"host": host})
    assert response.status_code == 421
    assert response.json()["error"]["code"] == "forbidden"


def test_loopback_hosts_and_no_origin_pass(http: TestClient) -> None:
    for host in ["127.0.0.1", "127.0.0.1:7077", "localhost", "localhost:1", "[::1]:7077", "[::1]"]:
        assert http.get("/v1/stats", headers={"host": host}).status_code == 200, host
    assert http.get("/v1/stats").status_code == 200


def test_allow_lists(server_settings: Settings, memory: object, token: str) -> None:
    settings = server_settings.model_copy(
        update={"allowed_origins": ["http://app.example"], "allowed_hosts": ["memoryd.internal"]}
    )
    app = create_app(settings, memory)  # type: ignore[arg-type]
    auth = {"authorization": f"Bearer {token}"}
    with TestClient(app, base_url="http://memoryd.internal", headers=auth) as http:
        ok = http.get("/v1/stats", headers={"origin": "http://app.example"})
        assert ok.status_code == 200
        assert "access-control-allow-origin" not in ok.headers
        preflight = http.options("/v1/stats", headers={"origin": "http://app.example"})
        assert "access-control-allow-origin" not in preflight.headers
        assert http.get("/v1/stats", headers={"origin": "http://other.example"}).status_code == 403


def test_client_maps_origin_refusal(live_url: str, token: str) -> None:
    with Client(base_url=live_url, token=token) as client, pytest.raises(Forbidden):
        client._t.json("GET", "/v1/stats", headers={"origin": "http://evil.example"})


def test_host_names() -> None:
    assert host_allowed("LOCALHOST:80", [])
    assert not host_allowed(None, []) and not host_allowed("", [])
    assert not host_allowed("localhost.evil.example", [])
    assert host_allowed("memoryd.internal:9", ["memoryd.internal"])


# --- S7 -------------------------------------------------------------------
def test_token_file_is_private(server_settings: Settings) -> None:
    token = load_tokens(server_settings).first.secret
    path = server_settings.resolved_token_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(token) >= 43 and load_tokens(server_settings).first.secret == token


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_readable_token_file_refuses_to_start(server_settings: Settings, mode: int) -> None:
    path = server_settings.resolved_token_file
    path.parent.mkdir(parents=True)
    path.write_text("a-token-someone-may-have-read")
    path.chmod(mode)
    with pytest.raises(ConfigError, match="chmod 600"):
        create_app(server_settings)


def test_empty_token_file_refuses_to_start(server_settings: Settings) -> None:
    path = server_settings.resolved_token_file
    path.parent.mkdir(parents=True)
    path.write_text("\n")
    path.chmod(0o600)
    with pytest.raises(ConfigError):
        create_app(server_settings)


def test_websocket_handshakes_are_checked_too(make_client: Callable[..., TestClient]) -> None:
    from starlette.websockets import WebSocketDisconnect

    for client in (make_client(auth=False), make_client(origin="http://evil.example")):
        with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/v1/stats"):
            pass
        assert info.value.code == 1008
