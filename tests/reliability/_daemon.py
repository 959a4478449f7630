"""A real ``memoryd serve`` child for the reliability suites, and a client-side ack log.

:class:`ServeProcess` runs the installed ``memoryd serve`` script on a free
loopback port (``--port 0``; the bound port is read from ``daemon.json``) with
the session's exported model, and times the path from ``Popen`` to the first
``GET /readyz`` 200. :class:`AckLog` is the client's record of acknowledged
writes: one JSON line per write, flushed and ``fsync``-ed before the write is
counted, so what a test verifies is read back from disk, not from memory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

import waits
from memoryd import Settings
from memoryd.lifecycle.runtime import RuntimeInfo, read_runtime

from ._support import child_env

#: The installed console script (``[project.scripts]``), next to the interpreter.
SCRIPT = Path(sys.executable).with_name("memoryd")


class ServeProcess:
    """``memoryd serve --data-dir DIR --port 0`` as a child process.

    Args:
        settings: the store's settings (``data_dir``, ``model_dir``, token file).
        log: file receiving the daemon's stdout and stderr (appended).
        env: extra environment variables (e.g. ``MEMORYD_RATE_LIMIT_TOKEN_RPS``).
    """

    def __init__(self, settings: Settings, log: Path, env: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.log = log
        full_env = {
            **child_env(),
            "MEMORYD_MODEL_CACHE_DIR": str(settings.model_dir),
            **(env or {}),
        }
        with log.open("ab") as out:
            self.spawned_at = time.monotonic()
            self.spawned_wall = time.time()  # the daemon's log timestamps are wall-clock
            self.proc = subprocess.Popen(
                [str(SCRIPT), "serve", "--data-dir", str(settings.data_dir), "--port", "0"],
                env=full_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.info: RuntimeInfo | None = None
        self.token = ""
        self.ready_wall: float | None = None
        #: CPU seconds (user + system, all threads) the daemon used up to ready.
        self.ready_cpu_s: float | None = None

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def wait_ready(self, timeout_s: float = 120.0) -> float:
        """Wait for ``daemon.json`` of this pid, then for ``/readyz`` 200.

        Returns:
            seconds from ``Popen`` to the first 200 of ``/readyz`` (polled every
            :data:`waits.POLL_S` s, so up to that much late).

        Raises:
            AssertionError: the daemon exited or was not ready within the budget.
        """
        try:
            return self._wait_ready(waits.deadline(timeout_s))
        except BaseException:
            self.stop()  # never leave a daemon behind a failed start
            raise

    def _wait_ready(self, end: float) -> float:
        info = read_runtime(self.settings)
        while info is None or info.pid != self.proc.pid:
            assert self.proc.poll() is None, f"memoryd serve exited:\n{self._tail()}"
            assert time.monotonic() < end, f"daemon.json never written:\n{self._tail()}"
            time.sleep(waits.POLL_S)
            info = read_runtime(self.settings)
        self.info = info
        # The token file is written before the socket is bound (and daemon.json after).
        self.token = self.settings.resolved_token_file.read_text().strip()
        with self.client(timeout=waits.budget(10)) as http:
            while True:
                try:
                    if http.get("/readyz").status_code == 200:
                        self.ready_wall = time.time()
                        cpu = psutil.Process(self.proc.pid).cpu_times()
                        self.ready_cpu_s = cpu.user + cpu.system
                        return time.monotonic() - self.spawned_at
                except httpx.TransportError:
                    pass  # bound but not serving yet: uvicorn starts after the bind
                assert self.proc.poll() is None, f"memoryd serve exited:\n{self._tail()}"
                assert time.monotonic() < end, f"/readyz never 200:\n{self._tail()}"
                time.sleep(waits.POLL_S)

    def phases(self) -> dict[str, float]:
        """Where the spawn-to-ready time went, in seconds, from the daemon's JSON log.

        ``start``: ``Popen`` to the ``starting`` line (interpreter, imports,
        app, token, bind); ``open``: to ``store open`` (engine open with index
        load, embedder load and warm-up); ``serve``: from there to the first
        ``/readyz`` 200 seen by the poll (at most :data:`waits.POLL_S` late).
        """
        assert self.ready_wall is not None, "wait_ready() first"
        wanted = ("starting", "store open")

        def stamps() -> dict[str, float] | None:
            found: dict[str, float] = {}
            for line in self.log.read_text(errors="replace").splitlines():
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # uvicorn or Python wrote a plain line
                name = event.get("event") if isinstance(event, dict) else None
                if name in wanted and name not in found:
                    stamp = datetime.fromisoformat(str(event["timestamp"]).replace("Z", "+00:00"))
                    found[name] = stamp.timestamp()
            return found if len(found) == len(wanted) else None

        # /readyz can answer 200 just before the "store open" line is written.
        found = waits.wait_until(stamps, timeout_s=10, message="the daemon's log lines")
        start, opened = found["starting"], found["store open"]
        return {
            "start": start - self.spawned_wall,
            "open": opened - start,
            "serve": self.ready_wall - opened,
        }

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` once :meth:`wait_ready` has returned."""
        assert self.info is not None, "wait_ready() first"
        return self.info.url

    def client(self, timeout: float | None = None) -> httpx.Client:
        """An authenticated httpx client to the daemon (no proxies from the environment)."""
        return httpx.Client(
            base_url=self.url,
            headers={"authorization": f"Bearer {self.token}"},
            timeout=waits.budget(30) if timeout is None else timeout,
            trust_env=False,
        )

    def kill(self) -> float:
        """SIGKILL the daemon and reap it; the ``time.monotonic()`` of the kill.

        Raises:
            AssertionError: it had already exited (it must die by the signal).
        """
        assert self.proc.poll() is None, f"memoryd serve died by itself:\n{self._tail()}"
        os.kill(self.proc.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        code = self.proc.wait(waits.budget(30))
        assert code == -signal.SIGKILL, f"exit {code}:\n{self._tail()}"
        return killed_at

    def stop(self) -> int:
        """SIGTERM the daemon (if alive) and wait for its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(waits.budget(60))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


class AckLog:
    """An append-only JSON-lines file of acknowledged writes, fsynced per record.

    :meth:`append` returns only once the records are on disk (``os.fsync``);
    writers count a write as acknowledged after that. Thread-safe.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def append(self, records: list[dict[str, Any]]) -> None:
        """Write ``records`` (one line each) and fsync them, as one append."""
        data = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode()
        with self._lock:
            written = os.write(self._fd, data)
            assert written == len(data), f"short write to the ack log: {written}/{len(data)}"
            os.fsync(self._fd)

    def close(self) -> None:
        """Close the file (idempotent)."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def read(self) -> list[dict[str, Any]]:
        """Every record on disk, in append order (a torn line is a failure: no client died)."""
        with self.path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh]
