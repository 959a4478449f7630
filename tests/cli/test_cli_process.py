"""The installed ``memoryd`` script in real processes, alone and against a running daemon."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import waits
from memoryd import Memory, Settings
from memoryd.cli.backend import open_backend
from memoryd.lifecycle.runtime import healthz

SCRIPT = Path(sys.executable).with_name("memoryd")
pytestmark = pytest.mark.skipif(not SCRIPT.exists(), reason="memoryd script not installed")


def run(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=waits.budget(120), check=False
    )
    assert done.returncode == code, (done.stdout, done.stderr)
    return done


def test_script_add_search_and_errors(data_dir: Path, embedder: object) -> None:
    added = json.loads(run("--format", "json", "add", "the build server is named hopper").stdout)
    found = json.loads(run("-f", "json", "search", "which machine builds?").stdout)
    assert found["hits"][0]["entry"]["id"] == added["id"]
    assert (data_dir / "memoryd.db").exists()

    missing = run("get", "00000000-0000-0000-0000-000000000000", code=1)
    assert missing.stdout == ""
    assert missing.stderr.splitlines() == [
        "error[not_found]: no entry 00000000-0000-0000-0000-000000000000 in namespace 'default'"
    ]
    usage = run("search", code=2)
    assert usage.stderr.splitlines() == ["error[usage_error]: Missing argument 'query'."]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def daemon(tmp_path: Path, data_dir: Path, embedder: object) -> Iterator[tuple[str, Path]]:
    """``memoryd serve`` on a free port over its own data dir; stopped with SIGTERM."""
    folder = tmp_path / "daemon-data"
    port = _free_port()
    log = tmp_path / "daemon.log"
    with log.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            [str(SCRIPT), "serve", "--port", str(port), "--data-dir", str(folder)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = waits.deadline(90)
        while not healthz(url, timeout_s=0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"daemon did not start: {log.read_text(encoding='utf-8')}")
            time.sleep(0.2)
        yield url, folder
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=waits.budget(30))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_cli_uses_the_daemon_when_one_answers(
    daemon: tuple[str, Path], data_dir: Path, model_cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, folder = daemon
    token = (folder / "token").read_text(encoding="utf-8").strip()
    added = json.loads(
        run("--url", url, "--token", token, "-f", "json", "add", "served by the daemon").stdout
    )
    stats = json.loads(run("--url", url, "--token", token, "-f", "json", "stats").stdout)
    assert stats["db_path"] == str(folder / "memoryd.db") and stats["total"] == 1
    response = httpx.get(
        f"{url}/v1/memories/{added['id']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200 and response.json()["content"] == "served by the daemon"
    bad = run("--url", url, "--token", "wrong", "stats", code=1)
    assert bad.stderr.startswith("error[unauthorized]: ") and len(bad.stderr.splitlines()) == 1

    # Probe routing: the daemon's own settings (same data dir and port) -> Client.
    port = url.rsplit(":", 1)[1]
    settings = Settings(data_dir=folder, port=int(port), model_cache_dir=model_cache_dir)
    engine = open_backend(settings)
    try:
        assert type(engine).__name__ == "Client"
        assert engine.get(added["id"]).content == "served by the daemon"
    finally:
        engine.close()
    monkeypatch.setenv("MEMORYD_PORT", str(_free_port()))
    local = open_backend(
        Settings(data_dir=data_dir, port=_free_port(), model_cache_dir=model_cache_dir)
    )
    try:
        assert isinstance(local, Memory)
    finally:
        local.close()
    assert os.environ["MEMORYD_DATA_DIR"] == str(data_dir)
