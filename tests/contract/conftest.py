"""The five faces of the contract suite, one set per module (see ``test_contract.py``)."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx2
import pytest
from anyio.from_thread import start_blocking_portal
from contract_faces import CliFace, EngineFace, mcp_face
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

import waits
from memoryd import Client, Memory, Settings
from memoryd.lifecycle.spawn import settings_env
from memoryd.operations import Face
from memoryd.server import create_app
from memoryd.server.testing import serve_in_thread

MEMORYD = str(Path(sys.executable).with_name("memoryd"))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def faces(
    tmp_path_factory: pytest.TempPathFactory, model_cache_dir: Path, embedder: Any
) -> Iterator[dict[str, Any]]:
    """``{"library", "client", "mcp_stdio", "mcp_http", "cli"}`` → a face, each on a real store."""
    root = tmp_path_factory.mktemp("contract")

    def settings(name: str, **extra: Any) -> Settings:
        return Settings(data_dir=root / name, model_cache_dir=model_cache_dir, **extra)

    with ExitStack() as stack:
        library = Memory(settings("library"), embedder=embedder)
        stack.callback(library.close)
        daemon_settings = settings("daemon")
        daemon = Memory(daemon_settings, embedder=embedder)
        stack.callback(daemon.close)
        url = stack.enter_context(serve_in_thread(create_app(daemon_settings, daemon)))
        token = daemon_settings.resolved_token_file.read_text().strip()
        client = Client(daemon_settings, base_url=url, timeout_s=waits.budget(60.0))
        stack.callback(client.close)
        portal = stack.enter_context(start_blocking_portal())
        http = httpx2.AsyncClient(
            headers={"authorization": f"Bearer {token}"}, timeout=waits.budget(60.0)
        )
        stack.callback(portal.call, http.aclose)
        over_http = stack.enter_context(
            mcp_face("mcp_http", portal, streamable_http_client(f"{url}/mcp", http_client=http))
        )
        stdio_settings = settings(
            "stdio",
            port=0,
            start_timeout_s=waits.budget(90),
            daemon_timeout_s=waits.budget(60),
            probe_timeout_s=waits.budget(30),
            idle_timeout_s=600,
        )
        stack.callback(waits.stop_daemon, stdio_settings)
        env = {**os.environ, **settings_env(stdio_settings), "HF_HUB_OFFLINE": "1"}
        params = StdioServerParameters(command=MEMORYD, args=["mcp"], env=env)
        over_stdio = stack.enter_context(mcp_face("mcp_stdio", portal, params))
        cli_env = {
            "MEMORYD_DATA_DIR": str(root / "cli"),
            "MEMORYD_PORT": str(_closed_port()),
            "MEMORYD_MODEL_CACHE_DIR": str(model_cache_dir),
        }
        yield {
            "library": EngineFace(Face.LIBRARY, library),
            "client": EngineFace(Face.CLIENT, client),
            "mcp_stdio": over_stdio,
            "mcp_http": over_http,
            "cli": CliFace(cli_env),
        }
