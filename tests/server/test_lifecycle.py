"""Readiness, graceful shutdown of a real daemon process (R13), one instance per data dir, S7."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

import waits
from memoryd import BackendUnavailable, Client, ConfigError, Memory, MemorydError, Settings
from memoryd.server import create_app
from memoryd.server.runner import instance_lock


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_readyz_is_503_until_the_store_is_open(server_settings: Settings) -> None:
    app = create_app(server_settings)
    token = server_settings.resolved_token_file.read_text()
    auth = {"authorization": f"Bearer {token}"}
    http = TestClient(app, base_url="http://127.0.0.1", headers=auth)
    # Before the lifespan starts, nothing is open: alive, not ready, data routes 503.
    assert http.get("/healthz").status_code == 200
    before = http.get("/readyz")
    assert before.status_code == 503 and before.json()["status"] == "opening the store"
    stats = http.get("/v1/stats")
    assert stats.status_code == 503 and stats.json()["error"]["code"] == "backend_unavailable"
    with http:  # runs the lifespan: the store opens in a background thread
        deadline = waits.deadline(60)
        while http.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert http.get("/readyz").json() == {"status": "ready"}
        assert http.post("/v1/memories", json={"content": "ready now"}).status_code == 201
    # After shutdown the engine is closed (checkpointed) and the data is on disk.
    assert http.get("/readyz").status_code == 503
    with Memory(server_settings) as reopened:
        assert [e.content for e in reopened.list().items] == ["ready now"]


def test_store_failure_is_reported_by_readyz(server_settings: Settings) -> None:
    server_settings.data_dir.mkdir(parents=True)
    server_settings.db_path.mkdir()  # a directory where the database file should be
    app = create_app(server_settings)
    token = server_settings.resolved_token_file.read_text()
    with TestClient(
        app, base_url="http://127.0.0.1", headers={"authorization": f"Bearer {token}"}
    ) as http:
        deadline = waits.deadline(30)
        while "opening" in (reason := http.get("/readyz").json()["status"]):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert http.get("/readyz").status_code == 503 and "error" in reason
        assert http.get("/v1/stats").status_code == 503


def test_one_daemon_per_data_dir(server_settings: Settings) -> None:
    with instance_lock(server_settings):
        pid_file = server_settings.data_dir / "memoryd.pid"
        assert pid_file.read_text().strip() == str(os.getpid())
        with pytest.raises(ConfigError, match="another memoryd"), instance_lock(server_settings):
            pass
    with instance_lock(server_settings):  # released on exit: a restart works
        pass


def _start_daemon(
    data_dir: Path, port: int, env: dict[str, str], log: Any
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "memoryd.server", "--data-dir", str(data_dir), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def _daemon_env(tmp_path: Path, model_cache_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        MEMORYD_MODEL_CACHE_DIR=str(model_cache_dir),
        MEMORYD_SHUTDOWN_TIMEOUT_S="8",
    )
    return env


def _wait_ready(proc: subprocess.Popen[bytes], settings: Settings, log_path: Path) -> None:
    deadline = waits.deadline(60)
    with Client(settings, timeout_s=waits.budget(5)) as probe:
        while not probe.ready:
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "daemon did not become ready"
            time.sleep(0.1)


def _batch_rows(db_path: Path) -> int:
    """Committed rows of the slow batch, read straight from the WAL database."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=waits.budget(5))
    try:
        query = "SELECT COUNT(*) FROM memories WHERE content LIKE 'batch item %'"
        return int(conn.execute(query).fetchone()[0])
    finally:
        conn.close()


BATCH = 400  # two server-side transactions (256 + 144): in flight after the first commits


def test_graceful_shutdown_keeps_acknowledged_writes(tmp_path: Path, model_cache_dir: Path) -> None:
    data_dir, port, log_path = tmp_path / "daemon", _free_port(), tmp_path / "daemon.log"
    env = _daemon_env(tmp_path, model_cache_dir)
    # Every batch embeds before its commit, so the big one is still in flight
    # (embedding its second half) when SIGTERM arrives.
    env["MEMORYD_WRITE_EMBED_BUDGET_MS"] = "0"
    with log_path.open("wb") as log:
        proc = _start_daemon(data_dir, port, env, log)
    settings = Settings(data_dir=data_dir, port=port, model_cache_dir=model_cache_dir)
    acknowledged: list[str] = []
    failures: list[MemorydError] = []
    batch_result: list[Any] = []

    def writer(worker: int) -> None:
        with Client(settings, timeout_s=waits.budget(20)) as client:
            for i in range(10_000):
                try:
                    acknowledged.append(str(client.add(f"worker {worker} wrote fact {i}").id))
                except BackendUnavailable:
                    return  # the daemon stopped accepting connections
                except MemorydError as exc:
                    failures.append(exc)
                    return

    def slow_batch() -> None:
        items = [{"content": f"batch item {i} about topic {i % 7}"} for i in range(BATCH)]
        with Client(settings, timeout_s=waits.budget(30)) as client:
            try:
                batch_result.append(client.add_many(items, batch_size=BATCH))
            except MemorydError as exc:
                failures.append(exc)

    try:
        _wait_ready(proc, settings, log_path)
        threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
        threads.append(threading.Thread(target=slow_batch))
        for thread in threads:
            thread.start()
        deadline = waits.deadline(60)
        while (in_db := _batch_rows(settings.db_path)) == 0:  # first half committed
            assert time.monotonic() < deadline and not batch_result
            time.sleep(0.005)
        proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        proc.wait(timeout=waits.budget(15))
        exited_after = time.monotonic() - sent
        for thread in threads:
            thread.join(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # R13: the drain is bounded by shutdown_timeout_s; closing the engine adds little.
    assert exited_after <= settings.shutdown_timeout_s + waits.budget(5)
    assert proc.returncode in (0, -signal.SIGTERM), log_path.read_text()
    assert failures == []
    assert in_db < BATCH  # the batch was in flight when SIGTERM arrived...
    assert len(batch_result) == 1 and len(batch_result[0]) == BATCH  # ...and completed
    assert len(acknowledged) > 0
    with Memory(settings) as reopened:
        stored = {str(e.id) for e in reopened.export()}
    assert set(acknowledged) <= stored and {str(e.id) for e in batch_result[0]} <= stored
    text = log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    requests = [line for line in lines if line.get("event") == "request"]
    assert requests and all({"method", "path", "status", "ms"} <= set(r) for r in requests)
    assert any(line.get("event") == "store closed" for line in lines)
    assert settings.resolved_token_file.read_text().strip() not in text


def test_unsafe_files_refuse_to_start(tmp_path: Path, model_cache_dir: Path) -> None:
    env = _daemon_env(tmp_path, model_cache_dir)
    config = tmp_path / "config.toml"
    config.write_text('log_level = "info"\n')
    config.chmod(0o644)
    result = subprocess.run(
        [sys.executable, "-m", "memoryd.server", "--data-dir", str(tmp_path / "a"), "--port", "0"],
        env={**env, "MEMORYD_CONFIG": str(config)},
        capture_output=True,
        timeout=waits.budget(60),
    )
    assert result.returncode == 2 and b"error[config_error]" in result.stderr
    assert b"chmod 600" in result.stderr
    data_dir = tmp_path / "b"
    data_dir.mkdir()
    (data_dir / "token").write_text("world-readable-token")
    (data_dir / "token").chmod(0o644)
    result = subprocess.run(
        [sys.executable, "-m", "memoryd.server", "--data-dir", str(data_dir), "--port", "0"],
        env=env,
        capture_output=True,
        timeout=waits.budget(60),
    )
    assert result.returncode == 2 and b"error[config_error]" in result.stderr
    assert b"world-readable-token" not in result.stderr + result.stdout


def test_client_reports_unreachable_and_slow_daemons(tmp_path: Path) -> None:
    port = _free_port()
    with Client(base_url=f"http://127.0.0.1:{port}", token="t") as client:
        with pytest.raises(BackendUnavailable):
            client.stats()
        assert client.ready is False
    no_token = Client(Settings(data_dir=tmp_path), base_url=f"http://127.0.0.1:{port}")
    with no_token, pytest.raises(BackendUnavailable, match="token"):
        no_token.stats()
    # A listener that never answers: only the client timeout can end the call.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with Client(base_url=url, token="t", timeout_s=0.3) as client:
            start = time.monotonic()
            with pytest.raises(MemorydError) as info:
                client.stats()
            assert info.value.code == "timeout" and time.monotonic() - start < 5


def test_raw_http_against_live_server(live: httpx.Client) -> None:
    created = live.post("/v1/memories", json={"content": "over a real socket"})
    assert created.status_code == 201
    entry_id = created.json()["id"]
    assert live.get(f"/v1/memories/{entry_id}").json()["content"] == "over a real socket"
    assert live.delete(f"/v1/memories/{entry_id}").status_code == 204
    assert live.get(f"/v1/memories/{entry_id}").status_code == 404
