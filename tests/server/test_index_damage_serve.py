"""``memoryd serve`` over a damaged vector-index checkpoint starts, rebuilds and serves.

Issue 11, defects 2 and 8, through the real daemon (the installed script in a
subprocess, a free loopback port, real HTTP): over every kind of checkpoint
damage of one family (manifest, missing file, ``.usearch`` bytes) it answers
``/readyz`` 200, finds the rows, logs a warning and saves the rebuilt
checkpoint; SIGTERM saves the index; after kill -9 the restart loads the
checkpoint and replays the tail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

import waits
from _damage import INDEX_DAMAGE
from memoryd import Memory, Settings
from memoryd.lifecycle.runtime import read_runtime
from memoryd.store.vector_index import VectorIndex

SCRIPT = Path(sys.executable).with_name("memoryd")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SCRIPT.exists(), reason="memoryd script not installed"),
]
TEXT = "the lighthouse keeper painted the door blue"


@contextmanager
def _daemon(
    settings: Settings, log: Path, **env: str
) -> Iterator[tuple[subprocess.Popen[bytes], httpx.Client]]:
    """``memoryd serve`` on ``settings.data_dir`` until ``/readyz`` is 200; killed after.

    ``env``: more ``MEMORYD_*`` variables for the daemon.
    """
    with log.open("ab") as sink:
        process = subprocess.Popen(  # port 0: the daemon picks one and writes it to daemon.json
            [str(SCRIPT), "serve", "--port", "0", "--data-dir", str(settings.data_dir)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
    try:
        token_file = settings.resolved_token_file

        def ready() -> httpx.Client | None:
            assert process.poll() is None, f"daemon exited {process.returncode}: {log.read_text()}"
            info = read_runtime(settings)
            if info is None or info.pid != process.pid or not token_file.exists():
                return None
            token = token_file.read_text().strip()
            client = httpx.Client(
                base_url=f"http://{info.host}:{info.port}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=waits.budget(30),
            )
            try:
                if client.get("/readyz").status_code == 200:
                    return client
            except httpx.TransportError:
                pass
            client.close()
            return None

        client = waits.wait_until(ready, timeout_s=120, message="/readyz 200")
        try:
            yield process, client
        finally:
            client.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=waits.budget(60))


def _saved_seq(settings: Settings, embedder: Any) -> int | None:
    index = VectorIndex(settings.index_dir, embedder.dim, embedder.model)
    return index.applied_seq if index.load_checkpoint() else None


def _head(settings: Settings) -> int:
    import sqlite3

    with sqlite3.connect(settings.db_path) as conn:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'index_log'").fetchone()
    return int(row[0])


def _found(client: httpx.Client, query: str) -> list[str]:
    response = client.post("/v1/search", json={"query": query, "mode": "vector", "limit": 3})
    assert response.status_code == 200, response.text
    return [hit["entry"]["content"] for hit in response.json()["hits"]]


@pytest.mark.parametrize(
    "damage", ["garbled manifest", "manifest names a missing file", "random usearch"]
)
def test_serve_rebuilds_a_damaged_checkpoint_and_sigterm_saves_the_index(
    damage: str, settings: Settings, embedder: Any, tmp_path: Path
) -> None:
    with Memory(settings, embedder=embedder, background=False) as mem:
        mem.add(TEXT)
        mem.store.vectors.checkpoint()
    INDEX_DAMAGE[damage](settings.index_dir)
    log = tmp_path / "daemon.out"
    with _daemon(settings, log) as (process, client):
        assert TEXT in _found(client, "who painted the door")
        text = log.read_text() + settings.resolved_log_file.read_text()
        assert "is damaged" in text and "rebuilding it from the table" in text, text[-3000:]
        assert _saved_seq(settings, embedder) == _head(settings)  # saved at open
        added = client.post("/v1/memories", json={"content": "a violin concert on saturday"})
        assert added.status_code == 201, added.text
        assert _stop(process) == 0
    assert _saved_seq(settings, embedder) == _head(settings)  # SIGTERM saved the new row too
    settings.resolved_log_file.unlink()
    with _daemon(settings, log) as (process, client):
        assert "a violin concert on saturday" in _found(client, "violin concert")
        assert "is damaged" not in settings.resolved_log_file.read_text()
        assert _stop(process) == 0


def test_after_kill_9_the_restart_replays_the_tail_and_saves_it(
    settings: Settings, embedder: Any, tmp_path: Path
) -> None:
    with Memory(settings, embedder=embedder, background=False) as mem:
        mem.add(TEXT)
        mem.store.vectors.checkpoint()
    saved = _saved_seq(settings, embedder)
    log = tmp_path / "daemon.out"
    with _daemon(settings, log) as (process, client):
        for i in range(5):
            response = client.post("/v1/memories", json={"content": f"after the checkpoint {i}"})
            assert response.status_code == 201, response.text
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert _saved_seq(settings, embedder) == saved  # the interval (30 s) had not come
    # An interval longer than the test: only the save at open can satisfy the wait below.
    with _daemon(settings, log, MEMORYD_INDEX_SAVE_INTERVAL_S="3600") as (process, client):
        assert "after the checkpoint 4" in _found(client, "after the checkpoint 4")
        # Loaded from the checkpoint (no rebuild); the replayed tail is saved soon after.
        waits.wait_until(
            lambda: _saved_seq(settings, embedder) == _head(settings),
            timeout_s=30,
            message="checkpoint holding the replayed tail",
        )
        assert "rebuilding" not in settings.resolved_log_file.read_text()
        assert _stop(process) == 0
