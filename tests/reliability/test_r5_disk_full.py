"""R5: a real daemon on a real full filesystem (tmpfs, else a loop-mounted ext4 image).

One data dir on a small filesystem (``MEMORYD_R5_DISK_BYTES``, 8 MiB), the
model cache outside it, the daemon a real child process (``python -m
memoryd.server``), every write through REST with a client-side
acknowledgement log (a write counts once its 2xx answer arrived):

1. seed every kind of row; SIGTERM: the WAL is checkpointed (no ``-wal`` left);
2. fill the disk to the last byte and start the daemon again: it starts,
   ``daemon.json`` is written (space reserve) and discovery finds it; reads
   and search work; every write route answers 507 ``storage_full``; the CLI
   prints ``error[storage_full]``; MCP gives ``isError``; ``Client`` raises
   ``StorageFull`` and keeps using the daemon;
3. the workers (backfill, index checkpoint, TTL purge, storage) keep running
   without crashing or spinning (CPU time over a few intervals);
4. free the filler: writes resume without a restart (time measured); then
   leave only ``MEMORYD_R5_HEADROOM`` (256 KiB) free and write on every route
   until they are refused: SQLite itself now runs out of space mid-run;
5. free it again, write ``MEMORYD_R5_WRITES`` more memories (WAL size sampled);
6. SIGTERM: no ``-wal``, no temporary file anywhere, and the rows in the store
   equal what was acknowledged, kind by kind.

Figures printed with ``-s``: writes attempted / acknowledged / rows, 507s,
500s (must be 0), resume times, peak WAL size.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import psutil
import pytest
from mcp import Client as McpClient
from mcp.client.streamable_http import streamable_http_client

from memoryd import Client, Memory, Settings, StorageFull
from memoryd.lifecycle.runtime import discover

from ._support import child_env, env_int

pytestmark = pytest.mark.slow

DISK_BYTES = env_int("MEMORYD_R5_DISK_BYTES", 8 << 20)
HEADROOM = env_int("MEMORYD_R5_HEADROOM", 256 << 10)
LONG_WRITES = env_int("MEMORYD_R5_WRITES", 300)
RESERVE = 256 << 10
START_TIMEOUT_S = 120.0
WORKER_INTERVAL_S = 1.0
STEP = {"tool": "run_tests", "action": "run", "result": {"status": "success", "output": "ok"}}
ROW_KINDS = ("memory", "kv", "state", "message", "episodes", "episode_steps", "pattern_feedback")


class Daemon:
    """``python -m memoryd.server`` on ``data_dir`` (port 0), output appended to ``log``."""

    started: list[subprocess.Popen[bytes]] = []  # killed after the test, if still running

    def __init__(self, data_dir: Path, model_cache: Path, log: Path) -> None:
        env = child_env() | {
            "MEMORYD_MODEL_CACHE_DIR": str(model_cache),
            "MEMORYD_DISK_RESERVE_BYTES": str(RESERVE),
            "MEMORYD_DISK_RECHECK_INTERVAL_S": str(WORKER_INTERVAL_S),
            "MEMORYD_INDEX_SAVE_INTERVAL_S": str(WORKER_INTERVAL_S),
            "MEMORYD_TTL_PURGE_INTERVAL_S": str(WORKER_INTERVAL_S),
            "MEMORYD_RATE_LIMIT_TOKEN_RPS": "0",  # the write phases send bursts on purpose
        }
        self.env = env
        self.settings = Settings(
            data_dir=data_dir, model_cache_dir=model_cache, disk_reserve_bytes=RESERVE
        )
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "memoryd.server",
                    "--data-dir",
                    str(data_dir),
                    "--port",
                    "0",
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        Daemon.started.append(self.proc)
        self.http = self._wait_ready()

    def _wait_ready(self) -> httpx.Client:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"daemon exited with {self.proc.returncode}"
            info = discover(self.settings, timeout_s=5.0)  # daemon.json + /healthz
            if info is not None and info.pid == self.proc.pid:
                token = self.settings.resolved_token_file.read_text().strip()
                http = httpx.Client(
                    base_url=info.url,
                    headers={"authorization": f"Bearer {token}"},
                    timeout=60,
                    trust_env=False,
                )
                if http.get("/readyz").status_code == 200:
                    self.url, self.token = info.url, token
                    return http
                http.close()
            time.sleep(0.2)
        raise AssertionError("the daemon did not become ready")

    def stop(self) -> int:
        self.http.close()
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)


class Writes:
    """Every write route, with the client-side acknowledgement log and the answers' statuses."""

    def __init__(self, http: httpx.Client, ids: dict[str, str], ack_log: Path) -> None:
        self.http, self.ids, self.ack_log = http, ids, ack_log
        self.acked: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.n = 0
        self._template: dict[str, Any] | None = None

    def _send(self, kind: str, rows: int, method: str, path: str, **kwargs: Any) -> int:
        self.n += 1
        response = self.http.request(method, path, **kwargs)
        self.statuses[response.status_code] += 1
        if response.status_code < 300:
            if kind == "import":
                kind, rows = "memory", response.json()["inserted"]
            self.acked[kind] += rows
            with self.ack_log.open("a") as log:
                log.write(json.dumps({"kind": kind, "rows": rows, "path": path}) + "\n")
        else:
            error = response.json()["error"]
            assert (response.status_code, error["code"]) == (507, "storage_full"), response.text
        return response.status_code

    def round(self) -> list[int]:
        """One write on each route; their statuses."""
        n, ids = self.n, self.ids
        entry = {"content": f"imported entry {n}", "id": str(uuid.uuid4())}
        return [
            self._send("memory", 1, "POST", "/v1/memories", json={"content": f"memory {n} " * 20}),
            self._send(
                "memory",
                2,
                "POST",
                "/v1/memories/batch",
                json={"items": [{"content": f"batch {n} a"}, {"content": f"batch {n} b"}]},
            ),
            self._send("kv", 1, "PUT", f"/v1/kv/key-{n}", json={"value": {"n": n}}),
            self._send("state", 1, "PUT", f"/v1/sessions/s1/state/slot-{n}", json={"value": n}),
            self._send(
                "message", 1, "POST", "/v1/sessions/s1/messages", json={"content": f"turn {n}"}
            ),
            self._send("episodes", 1, "POST", "/v1/episodes", json={"task_description": f"t{n}"}),
            self._send(
                "episode_steps",
                1,
                "POST",
                f"/v1/episodes/{ids['episode']}/steps",
                json={"steps": [{**STEP, "action": f"step {n}"}]},
            ),
            self._send(
                "pattern_feedback",
                1,
                "POST",
                f"/v1/patterns/{ids['pattern']}/feedback",
                json={"success": True},
            ),
            self._send(
                "memory", 0, "PATCH", f"/v1/memories/{ids['kept']}", json={"importance": 0.7}
            ),
            self._send(
                "import",
                0,
                "POST",
                "/v1/import",
                content=(json.dumps(self._export_line(entry)) + "\n").encode(),
                headers={"content-type": "application/x-ndjson"},
            ),
        ]

    def _export_line(self, fields: dict[str, str]) -> dict[str, Any]:
        if self._template is None:
            with self.http.stream("POST", "/v1/export") as response:
                self._template = json.loads(next(response.iter_lines()))
        return {**self._template, **fields, "vector": None}


def _seed(http: httpx.Client) -> dict[str, str]:
    ok = STEP
    for i in range(3):
        body = {"task_description": f"Fix bug {i}", "domain": "web", "task_type": "debugging"}
        episode = http.post("/v1/episodes", json=body).json()
        assert http.post(f"/v1/episodes/{episode['id']}/steps", json={"steps": [ok, ok]}).is_success
        outcome = {"type": "success", "verdict": "tests pass"}
        assert http.post(
            f"/v1/episodes/{episode['id']}/complete", json={"outcome": outcome}
        ).is_success
    assert http.post("/v1/patterns/extract", json={}).is_success
    patterns = http.get("/v1/patterns").json()
    assert patterns, "extraction made no pattern"
    target = http.post("/v1/episodes", json={"task_description": "the long task"}).json()
    kept = http.post("/v1/memories", json={"content": "the entry that stays readable"}).json()
    return {"episode": target["id"], "pattern": patterns[0]["id"], "kept": kept["id"]}


def _counts(settings: Settings, embedder: Any) -> dict[str, int]:
    with Memory(settings, embedder=embedder, background=False) as memory:
        conn = memory.store.pool.reader()
        counts = dict(conn.execute("SELECT kind, COUNT(*) FROM memories GROUP BY kind").fetchall())
        for table in ("episodes", "episode_steps", "pattern_feedback"):
            counts[table] = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return {kind: counts.get(kind, 0) for kind in ROW_KINDS}


def _leftovers(data_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if ".tmp" in p.name)


def _refused_everywhere(writes: Writes, rounds: int = 2) -> None:
    for _ in range(rounds):
        assert set(writes.round()) == {507}


def _resume_s(writes: Writes) -> float:
    start = time.monotonic()
    while time.monotonic() - start < 60:
        body = {"content": f"resumed? {writes.n}"}  # unique: equal memories are deduplicated
        if writes._send("memory", 1, "POST", "/v1/memories", json=body) < 300:
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError("writes did not resume within 60 s of the space returning")


def _other_faces(daemon: Daemon) -> None:
    """CLI, MCP and the Python Client on the full disk."""
    memoryd = str(Path(sys.executable).with_name("memoryd"))
    data_dir = str(daemon.settings.data_dir)
    cli = subprocess.run(
        [memoryd, "--data-dir", data_dir, "add", "from the CLI"],
        env=daemon.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert cli.returncode != 0 and cli.stderr.startswith("error[storage_full]: "), cli.stderr

    async def mcp() -> None:
        headers = {"authorization": f"Bearer {daemon.token}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            McpClient(streamable_http_client(f"{daemon.url}/mcp", http_client=http)) as client,
        ):
            result = await client.call_tool("memory_save", {"content": "from MCP"})
            assert result.is_error
            assert json.loads(result.content[0].text)["error"]["code"] == "storage_full"  # type: ignore[union-attr]

    anyio.run(mcp)
    settings = daemon.settings.model_copy(update={"auto_start": False})
    with Client(settings, lifecycle=True) as client:
        with pytest.raises(StorageFull):
            client.add("from the Python client")
        assert client.routed("stats").served_by == "daemon"  # no fallback, circuit closed


def _not_spinning(daemon: Daemon, seconds: float) -> float:
    """CPU seconds per wall second of the idle daemon on the full disk."""
    process = psutil.Process(daemon.proc.pid)
    before = process.cpu_times()
    time.sleep(seconds)
    after = process.cpu_times()
    assert daemon.proc.poll() is None
    return (after.user + after.system - before.user - before.system) / seconds


@pytest.fixture
def daemons() -> Iterator[None]:
    """Kill (by pid) any daemon a failed test left running."""
    yield
    for proc in Daemon.started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(60)
    Daemon.started.clear()


def test_r5_daemon_on_a_full_disk(
    daemons: None,
    small_disk: Callable[[int], Any],
    model_cache_dir: Path,
    embedder: Any,
    tmp_path: Path,
) -> None:
    disk = small_disk(DISK_BYTES)
    data_dir, log = disk.path / "data", tmp_path / "daemon.out"
    ack_log = tmp_path / "acks.jsonl"

    daemon = Daemon(data_dir, model_cache_dir, log)  # 1. seed
    ids = _seed(daemon.http)
    assert daemon.stop() == 0
    assert not (data_dir / "memoryd.db-wal").exists(), "WAL not checkpointed on SIGTERM"
    assert _leftovers(data_dir) == []
    seeded = _counts(daemon.settings, embedder)

    disk.fill()  # 2. start on an already-full disk
    daemon = Daemon(data_dir, model_cache_dir, log)
    http = daemon.http
    assert http.get(f"/v1/memories/{ids['kept']}").status_code == 200
    assert http.post("/v1/search", json={"query": "entry stays readable"}).json()["hits"]
    assert http.get("/v1/kv/missing").status_code == 404
    writes = Writes(http, ids, ack_log)
    _refused_everywhere(writes)
    _other_faces(daemon)
    cpu = _not_spinning(daemon, 4 * WORKER_INTERVAL_S)  # 3.
    assert cpu < 0.5, f"the daemon spins on a full disk: {cpu:.2f} CPU s/s"

    resumed_gate, resumed_sqlite = _fills_while_running(disk, writes)  # 4.

    wal, peak = data_dir / "memoryd.db-wal", 0  # 5. a longer run: the WAL stays bounded
    for i in range(LONG_WRITES):
        writes._send("memory", 1, "POST", "/v1/memories", json={"content": f"long run {i}"})
        peak = max(peak, wal.stat().st_size if wal.exists() else 0)

    assert daemon.stop() == 0  # 6.
    assert not wal.exists(), "WAL not checkpointed on SIGTERM"
    assert _leftovers(data_dir) == []
    rows = _counts(daemon.settings, embedder)
    expected = {kind: seeded[kind] + writes.acked[kind] for kind in ROW_KINDS}
    assert rows == expected
    _check_log(log.read_text())
    print(
        f"\nR5 ({disk.kind} {DISK_BYTES >> 10} KiB, headroom {HEADROOM >> 10} KiB): "
        f"writes attempted {writes.n}, acknowledged {writes.n - writes.statuses[507]} "
        f"({sum(writes.acked.values())} rows), 507 {writes.statuses[507]}, "
        f"500 {writes.statuses[500]}; rows = acknowledged {rows == expected}; resumed after "
        f"{resumed_gate:.2f} s (reserve) / {resumed_sqlite:.2f} s (SQLite full); "
        f"idle CPU while full {cpu:.3f} s/s; peak WAL {peak >> 10} KiB over {LONG_WRITES} writes"
    )


def _fills_while_running(disk: Any, writes: Writes) -> tuple[float, float]:
    """Space returns (writes resume), then the disk fills under writes and is freed again.

    Returns:
        seconds to resume after the filler went: with the reserve given up at
        start, then after SQLite itself ran out of space mid-run.
    """
    disk.empty()
    resumed_gate = _resume_s(writes)
    _fill_leaving(disk, HEADROOM)
    for _ in range(1000):  # SQLite fills the last HEADROOM bytes, then refuses
        if set(writes.round()) == {507}:
            break
    _refused_everywhere(writes)
    assert writes.http.post("/v1/search", json={"query": "memory"}).status_code == 200
    disk.empty()
    return resumed_gate, _resume_s(writes)


def _check_log(out: str) -> None:
    """No traceback, no 500; each worker reports a full disk at most once per outage (2)."""
    assert "Traceback" not in out and "unhandled error" not in out
    for worker in ("embedding-backfill", "index-checkpoint", "ttl-purge", "storage"):
        assert out.count(f"worker {worker}: the disk is full") <= 2


def _fill_leaving(disk: Any, headroom: int) -> None:
    """Fill the disk, then give back ``headroom`` bytes."""
    disk.fill()
    size = disk.filler.stat().st_size
    os.truncate(disk.filler, max(0, size - headroom))


def test_r5_model_export_on_a_full_disk_at_first_start(
    daemons: None, small_disk: Callable[[int], Any], tmp_path: Path
) -> None:
    """First start with the model cache on a disk too small for the export: serve, degraded."""
    disk = small_disk(4 << 20)
    models = disk.path / "models"
    daemon = Daemon(disk.path / "data", models, tmp_path / "daemon.out")
    http = daemon.http
    saved = http.post("/v1/memories", json={"content": "kept without a vector for now"})
    assert saved.status_code == 201, saved.text
    found = http.post("/v1/search", json={"query": "kept vector"}).json()
    assert found["hits"][0]["entry"]["id"] == saved.json()["id"]
    assert found["degraded"]  # keyword search only: the model could not be exported
    assert http.get("/v1/stats").json()["pending_embeddings"] == 1
    assert [p.name for p in models.iterdir() if ".tmp-" in p.name] == []
    assert daemon.stop() == 0
    out = (tmp_path / "daemon.out").read_text()
    assert "not enough free disk space to export the embedding model" in out
    assert "Traceback" not in out
