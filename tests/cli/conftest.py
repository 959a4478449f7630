"""CLI fixtures: a fresh data dir per test, no daemon reachable, a runner helper.

``MEMORYD_PORT`` points at a port nothing listens on, so the CLI's daemon
probe fails fast and every command opens the store in-process (real SQLite,
real embedding model from the session's shared model cache).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from memoryd.cli.main import app

Invoke = Callable[..., Result]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def data_dir(tmp_path: Path, model_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The store folder of this test (``MEMORYD_DATA_DIR``); no daemon answers."""
    folder = tmp_path / "data"
    monkeypatch.setenv("MEMORYD_DATA_DIR", str(folder))
    monkeypatch.setenv("MEMORYD_PORT", str(_closed_port()))
    monkeypatch.setenv("MEMORYD_MODEL_CACHE_DIR", str(model_cache_dir))
    monkeypatch.setenv("COLUMNS", "200")  # rich tables: no wrapping in assertions
    for name in ("MEMORYD_URL", "MEMORYD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return folder


@pytest.fixture
def cli(data_dir: Path, embedder: object) -> Invoke:
    """``cli("add", "text", code=0)`` runs ``memoryd`` in-process and checks the exit code.

    Depends on ``embedder`` so the model is exported once before the first command.
    """
    runner = CliRunner()

    def invoke(*args: str, code: int | None = 0) -> Result:
        result = runner.invoke(app, list(args))
        if code is not None:
            assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    return invoke
