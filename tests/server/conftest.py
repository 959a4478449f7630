"""Fixtures for the daemon's tests: real stores, the real embedder, real HTTP.

Every response that goes through :func:`make_client` is checked on arrival:
it never carries ``Access-Control-Allow-Origin`` (S3) and never echoes the
token (S7), whatever the test asserts besides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

import waits
from memoryd import Memory, Settings
from memoryd.server import create_app
from memoryd.server.testing import serve_in_thread

BASE = "http://127.0.0.1"


def checked_response(token: str) -> Callable[[httpx.Response], None]:
    """An httpx response hook asserting the S3/S7 invariants."""

    def check(response: httpx.Response) -> None:
        response.read()
        assert "access-control-allow-origin" not in response.headers
        assert token not in response.text
        assert all(token not in value for value in response.headers.values())

    return check


@pytest.fixture
def server_settings(tmp_path: Path, model_cache_dir: Path) -> Settings:
    """Settings for a fresh daemon data dir (token file inside it)."""
    return Settings(data_dir=tmp_path / "data", model_cache_dir=model_cache_dir)


@pytest.fixture
def memory(server_settings: Settings, embedder: Any) -> Iterator[Memory]:
    """A real engine on a fresh SQLite file with the session's embedder."""
    mem = Memory(server_settings, embedder=embedder)
    yield mem
    mem.close()


@pytest.fixture
def app(server_settings: Settings, memory: Memory) -> FastAPI:
    """The daemon app over ``memory`` (ready at once)."""
    return create_app(server_settings, memory)


@pytest.fixture
def token(app: FastAPI, server_settings: Settings) -> str:
    """The bearer token the app generated."""
    return server_settings.resolved_token_file.read_text().strip()


@pytest.fixture
def make_client(app: FastAPI, token: str) -> Iterator[Callable[..., TestClient]]:
    """Build in-process clients (``auth=False`` for none); all responses are checked."""
    made: list[TestClient] = []

    def make(*, auth: bool = True, **headers: str) -> TestClient:
        base_headers = {"authorization": f"Bearer {token}"} if auth else {}
        client = TestClient(
            app,
            base_url=BASE,
            headers={**base_headers, **headers},
            raise_server_exceptions=True,
        )
        client.event_hooks = {"response": [checked_response(token)]}
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def http(make_client: Callable[..., TestClient]) -> TestClient:
    """An authenticated in-process client."""
    return make_client()


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port, for real-socket tests."""
    with serve_in_thread(app) as base_url:
        yield base_url


@pytest.fixture
def live(live_url: str, token: str) -> Iterator[httpx.Client]:
    """An authenticated httpx client to :func:`live_url`; responses are checked."""
    with httpx.Client(
        base_url=live_url,
        headers={"authorization": f"Bearer {token}"},
        timeout=waits.budget(10.0),
        trust_env=False,
        event_hooks={"response": [checked_response(token)]},
    ) as client:
        yield client
