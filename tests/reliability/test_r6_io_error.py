"""R6: a disk I/O error on ``xSync``/``xWrite`` makes the writer fail-stop read-only.

The fault VFS (``vfs/faultvfs.c``) fails every ``xSync`` with
``SQLITE_IOERR_FSYNC`` (or every ``xWrite`` with ``SQLITE_IOERR_WRITE``) once
armed. Wanted (RELIABILITY.md R6, PostgreSQL's "PANIC on fsync() failure"):

* the write that meets the error raises ``StorageReadOnly`` (503
  ``storage_read_only``), and so does every later write, *without reaching
  SQLite again* (the VFS counts no further fault, no further sync), even once
  the disk answers again: no silent retry;
* reads go on; ``/readyz`` is 503 with the reason; the lifecycle ``Client``
  raises the error instead of falling back to an in-process engine that
  would write to the same disk;
* a restart (a new process) recovers: every acknowledged write is there, and
  the failed one is absent or present whole (``consistency_report`` ok).

The in-process test drives the engine; the daemon test runs the real
``python -m memoryd.server`` with the VFS loaded (``_workers/vfs_daemon.py``)
and arms it through a control file. Its ``dropped`` case also throws the
unsynced data away when the fsync fails (buffer + ``drop=1``: Linux marking
dirty pages clean after a writeback error), so the restart sees exactly what
reached the disk.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from memoryd import Client, Memory, MemoryEntry, Settings, StorageReadOnly
from memoryd.embeddings import Embedder
from memoryd.lifecycle.runtime import RuntimeInfo, discover
from memoryd.lifecycle.spawn import settings_env
from memoryd.store.maintenance import consistency_report

from ._support import WORKERS, child_env
from .vfs import FaultVfs

pytestmark = pytest.mark.slow

SQLITE_NAMES = {"sync": "SQLITE_IOERR_FSYNC", "write": "SQLITE_IOERR_WRITE"}
FAILED_TEXT = "the write that met the disk failure"


def _check_recovered(
    memory: Memory, acked: list[MemoryEntry], failed_text: str, failed_ns: str = "default"
) -> bool:
    """Every acknowledged write is back; the failed one is absent or whole. Returns its presence."""
    for entry in acked:
        assert memory.get(str(entry.id), namespace=entry.namespace).content == entry.content
    rows = memory.store.pool.reader().execute(
        "SELECT id, content FROM memories WHERE content = ? AND namespace = ?",
        (failed_text, failed_ns),
    )
    present = [dict(r) for r in rows]
    assert len(present) <= 1
    report = consistency_report(memory.store)
    assert report["ok"], report
    return bool(present)


@pytest.mark.parametrize("fault", ["sync", "write"])
def test_io_error_makes_the_engine_read_only(
    fault: str,
    tmp_path: Path,
    faultvfs: FaultVfs,
    embedder: Embedder,
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(tmp_path / "store")
    faultvfs.configure("buffer=0;drop=0;after=0;fail=none")
    with faultvfs.as_default():
        memory = Memory(settings=settings, embedder=embedder, background=False)
        memory.store.pool.reader()  # this thread's reader goes through the VFS too
    try:
        acked = [memory.add(f"acknowledged fact {i} about the garden") for i in range(5)]
        faults = faultvfs.stat("faults")
        faultvfs.configure(f"fail={fault}")
        with pytest.raises(StorageReadOnly) as caught:
            memory.add(FAILED_TEXT)
        error = caught.value
        assert (error.code, error.http_status) == ("storage_read_only", 503)
        assert error.details["sqlite_error"] == SQLITE_NAMES[fault]
        assert "restart" in error.message and "disk" in error.message
        assert faultvfs.stat("faults") > faults
        assert memory.store.read_only is not None

        # Later writes are refused before SQLite sees them: no new fault while the
        # disk still fails, no sync once it answers again.
        seen = faultvfs.stat("faults")
        for attempt in (
            lambda: memory.add("a later write"),
            lambda: memory.kv_set("theme", "dark"),
            lambda: memory.delete(str(acked[0].id)),
        ):
            with pytest.raises(StorageReadOnly):
                attempt()
        assert faultvfs.stat("faults") == seen
        faultvfs.configure("fail=none")
        syncs = faultvfs.stat("syncs")
        with pytest.raises(StorageReadOnly):
            memory.add("a write after the disk came back")
        with pytest.raises(StorageReadOnly):
            memory.store.vectors.checkpoint()
        assert faultvfs.stat("syncs") == syncs

        # Reads go on.
        assert memory.get(str(acked[1].id)).content == acked[1].content
        hits = memory.search("garden fact", limit=10).hits
        assert {str(h.entry.id) for h in hits} >= {str(e.id) for e in acked}
    finally:
        faultvfs.configure("fail=none")
        memory.close()

    with Memory(settings=settings, embedder=embedder, background=False) as reopened:
        _check_recovered(reopened, acked, FAILED_TEXT)
        assert reopened.store.read_only is None
        assert reopened.add("a write after the restart").content == "a write after the restart"


# --- the real daemon ----------------------------------------------------------


class FaultyDaemon:
    """``_workers/vfs_daemon.py``: a real daemon whose SQLite goes through the fault VFS."""

    def __init__(self, library: Path, config: str, settings: Settings, log: Path) -> None:
        self.settings = settings
        env = {**child_env(), **settings_env(settings)}
        self._stderr = log.open("ab")
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKERS / "vfs_daemon.py"), str(library), config],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )

    def wait_ready(self, timeout_s: float = 180.0) -> RuntimeInfo:
        """Poll until the daemon's ``/readyz`` says 200 (generous deadline, busy machine)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            info = discover(self.settings)
            if info is not None and info.pid == self.proc.pid:
                answer = httpx.get(f"{info.url}/readyz", headers=self.auth(), timeout=30)
                if answer.status_code == 200:
                    return info
            time.sleep(0.2)
        raise AssertionError(f"daemon not ready in {timeout_s} s\n{self.log.read_text()[-3000:]}")

    def auth(self) -> dict[str, str]:
        """The bearer-token header (the token file is written before the socket is bound)."""
        token = self.settings.resolved_token_file.read_text().strip()
        return {"Authorization": f"Bearer {token}"}

    def stop(self, timeout_s: float = 60.0) -> int:
        """SIGTERM, wait for the exit (SIGKILL past the deadline); the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._stderr.close()
        return code


@pytest.fixture
def daemons() -> Iterator[list[FaultyDaemon]]:
    """Daemons a test started; any still running are stopped after it."""
    started: list[FaultyDaemon] = []
    yield started
    for daemon in started:
        daemon.stop()


def _fault_lines(events: Path) -> list[str]:
    if not events.exists():
        return []
    return [line for line in events.read_text().splitlines() if line.startswith("fault ")]


@pytest.mark.parametrize(
    ("case", "config", "fault"),
    [
        ("fsync", "buffer=0;drop=0", "sync"),
        ("fsync-dropped", "buffer=1;drop=1", "sync"),
        ("write", "buffer=0;drop=0", "write"),
    ],
)
def test_daemon_fail_stops_on_io_error_and_recovers_after_restart(
    case: str,
    config: str,
    fault: str,
    tmp_path: Path,
    faultvfs_library: Path,
    model_cache_dir: Path,
    embedder: Embedder,
    daemons: list[FaultyDaemon],
) -> None:
    control, events = tmp_path / "control", tmp_path / "events"
    control.write_text("fail=none\n")
    settings = Settings(
        data_dir=tmp_path / "store",
        model_cache_dir=model_cache_dir,
        port=0,
        auto_start=False,
        fallback_local=True,
        daemon_timeout_s=60,
    )
    vfs_config = f"{config};control={control};log={events}"
    daemon = FaultyDaemon(faultvfs_library, vfs_config, settings, tmp_path / "daemon-1.log")
    daemons.append(daemon)
    info = daemon.wait_ready()
    http = httpx.Client(base_url=info.url, headers=daemon.auth(), timeout=60)
    client = Client(settings, lifecycle=True)
    try:
        acked = [client.add(f"{case} acknowledged note {i} on the budget") for i in range(6)]
        acked.append(client.kv_set("plan", {"case": case}))
        _arm(control, fault)
        answer = http.post("/v1/memories", json={"content": FAILED_TEXT})
        assert answer.status_code == 503, answer.text
        body = answer.json()["error"]
        assert body["code"] == "storage_read_only", body
        assert body["details"]["sqlite_error"] == SQLITE_NAMES[fault]
        faults = _fault_lines(events)
        assert faults, "the VFS injected no fault"

        # Every later write is refused with the same code, and none reaches SQLite.
        for method, path, payload in (
            ("POST", "/v1/memories", {"content": "a later write"}),
            ("PUT", "/v1/kv/plan", {"value": "changed"}),
            ("DELETE", f"/v1/memories/{acked[0].id}", None),
        ):
            refused = http.request(method, path, json=payload)
            refused_code = refused.json()["error"]["code"]
            assert (refused.status_code, refused_code) == (503, "storage_read_only")
        with pytest.raises(StorageReadOnly):
            client.add("through the lifecycle client")
        assert client.last_route is None or client.last_route.served_by != "local"
        assert _fault_lines(events) == faults, "a refused write reached the disk"

        # Reads go on; readiness says why the daemon is not ready.
        assert http.get(f"/v1/memories/{acked[1].id}").json()["content"] == acked[1].content
        found = http.post("/v1/search", json={"query": "budget note", "limit": 20})
        assert found.status_code == 200
        ready = http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"].startswith("storage_read_only")
        assert http.get("/healthz").status_code == 200
    finally:
        client.close()
        http.close()
    # SIGTERM while the disk still fails: a clean exit, no hang (the index
    # checkpoint and PRAGMA optimize at close are skipped).
    assert daemon.stop() == 0, daemon.log.read_text()[-3000:]
    _arm(control, "none")

    restarted = FaultyDaemon(faultvfs_library, vfs_config, settings, tmp_path / "daemon-2.log")
    daemons.append(restarted)
    restarted.wait_ready()
    with Client(settings, lifecycle=True) as client:
        after = client.add(f"{case} after the restart")
        assert client.get(str(after.id)).content == after.content
    assert restarted.stop() == 0
    with Memory(settings=settings, embedder=embedder, background=False) as memory:
        present = _check_recovered(memory, [e for e in acked if e.kind == "memory"], FAILED_TEXT)
        assert memory.kv_get("plan") == {"case": case}
    print(f"\nR6 {case}: failed write present after restart: {present}; faults {len(faults)}")


def _arm(control: Path, fault: str) -> None:
    """Arm the fault through the control file (a new mtime/size: the VFS re-reads it)."""
    text = f"fail={fault}\n"
    tmp = control.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, control)
