"""Helpers of the reliability suites: child processes and their protocol, percentiles."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

WORKERS = Path(__file__).resolve().parent / "_workers"


def env_int(name: str, default: int) -> int:
    """An integer from the environment (``default`` when unset or empty)."""
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def child_env() -> dict[str, str]:
    """The environment for child processes: no ``MEMORYD_*`` settings, an empty config file.

    The config file is the session's empty one (``tests/conftest.py``), so no
    user config file leaks into a test.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORYD_")}
    env["MEMORYD_CONFIG"] = os.environ["MEMORYD_CONFIG"]
    env["HF_HUB_OFFLINE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


class ChildError(AssertionError):
    """A child process did not follow its protocol (its stderr tail is attached)."""


class _Protocol:
    """Messages of one child, in order; :meth:`expect` scans them from a cursor."""

    name: str
    killed_at: float | None

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.bad_lines: list[str] = []
        self.killed_at = None
        self._cursor = 0

    def _refresh(self, wait: float) -> bool:
        """Take in new output, waiting up to ``wait`` s; false once no more can come."""
        raise NotImplementedError

    def stderr_tail(self, chars: int = 3000) -> str:
        raise NotImplementedError

    def expect(self, kind: str, timeout: float, start: int | None = None) -> dict[str, Any]:
        """The first message of type ``kind`` at index ``start`` or later.

        ``start`` defaults to just after the last message returned, so that
        successive calls read a conversation in order.
        """
        i = self._cursor if start is None else start
        deadline = time.monotonic() + timeout
        while True:
            while i < len(self.messages):
                msg = self.messages[i]
                i += 1
                if msg["t"] == kind:
                    self._cursor = i
                    return msg
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChildError(
                    f"{self.name}: no {kind!r} within {timeout} s\n{self.stderr_tail()}"
                )
            if not self._refresh(min(left, 0.001)) and i >= len(self.messages):
                raise ChildError(f"{self.name} ended before {kind!r}\n{self.stderr_tail()}")

    def of(self, kind: str) -> list[dict[str, Any]]:
        """Every message of type ``kind`` received so far."""
        return [m for m in self.messages if m["t"] == kind]

    def _parse(self, line: bytes | str) -> None:
        try:
            msg = json.loads(line)
        except ValueError:
            text = line if isinstance(line, str) else line.decode(errors="replace")
            self.bad_lines.append(text)  # only a line torn by SIGKILL can be partial
            return
        self.messages.append(msg)


class Child(_Protocol):
    """A worker script speaking the JSON-lines protocol of ``_workers/_common.py``.

    Args:
        script: file name in ``_workers``.
        args: its arguments.
        log_dir: where its stderr is written (``<name>.stderr``).
        name: label for messages and the stderr file.
    """

    def __init__(self, script: str, args: list[str], log_dir: Path, name: str) -> None:
        super().__init__()
        self.name = name
        self.stderr_path = log_dir / f"{name}.stderr"
        self._stderr: IO[str] = self.stderr_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKERS / script), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=child_env(),
        )
        self._changed = threading.Condition()
        self._eof = False
        self._reader = threading.Thread(target=self._read, name=f"read-{name}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self._parse(line)
                self._changed.notify_all()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    def _refresh(self, wait: float) -> bool:
        with self._changed:
            if not self._eof:
                self._changed.wait(wait)
            return not self._eof

    def stderr_tail(self, chars: int = 3000) -> str:
        """The end of the child's stderr (it writes the file through its own descriptor)."""
        return self.stderr_path.read_text(errors="replace")[-chars:]

    def send(self, line: str) -> None:
        """Write one line to the child's stdin."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        """SIGKILL the child now, wait for its death and collect everything it printed."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.killed_at = time.monotonic()
        self.finish()
        if self.proc.returncode != -signal.SIGKILL:
            self.killed_at = None  # it died on its own: a failure the caller reports

    def finish(self, timeout: float = 60.0) -> int:
        """Wait for the child to exit, drain its output and close its pipes (idempotent)."""
        if self.proc.returncode is not None and self._stderr.closed:
            return self.proc.returncode
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            code = self.proc.wait()
        self._reader.join(timeout)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # a killed child's stdin: broken pipe
                    pipe.close()
        self._stderr.close()
        return code


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-pct * len(ordered) // 100))))
    return ordered[rank - 1]


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class ForkedChild(_Protocol):
    """A writer forked by :class:`ForkServer`; its protocol lines are tailed from a file."""

    def __init__(self, server: ForkServer, pid: int, out: Path, name: str) -> None:
        super().__init__()
        self.server = server
        self.pid = pid
        self.out = out
        self.name = name
        self.status: int | None = None
        self._buffer = b""
        self._offset = 0

    def _poll(self) -> None:
        with self.out.open("rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        self._offset += len(data)
        *lines, self._buffer = (self._buffer + data).split(b"\n")
        for line in lines:
            self._parse(line)

    def _refresh(self, wait: float) -> bool:
        alive = self.status is None and _running(self.pid)
        if alive:
            time.sleep(wait)
        self._poll()
        return alive

    def stderr_tail(self, chars: int = 3000) -> str:
        """The end of the fork server's stderr (shared by all its writers)."""
        return self.server.child.stderr_tail(chars)

    def kill(self) -> None:
        """SIGKILL the writer, wait until it is dead (reaped) and read all it wrote."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
            self.killed_at = time.monotonic()
        self.status = self.server.reap(self.pid)
        if not (os.WIFSIGNALED(self.status) and os.WTERMSIG(self.status) == signal.SIGKILL):
            self.killed_at = None  # it died on its own: a failure the caller reports
        self._poll()


class ForkServer:
    """``_workers/<script> --fork-server``: imports and loads the model once, forks writers."""

    def __init__(
        self, script: str, model_cache: Path, log_dir: Path, extra: list[str] | None = None
    ) -> None:
        self.log_dir = log_dir
        args = ["--fork-server", "--model-cache", str(model_cache), *(extra or [])]
        self.child = Child(script, args, log_dir, "fork-server")
        self.child.expect("loaded", 300)

    def spawn(self, args: list[str], name: str) -> ForkedChild:
        """Fork one writer running ``script args`` (plain-mode arguments)."""
        out = self.log_dir / f"{name}.out"
        out.touch()
        self.child.send(json.dumps({"op": "spawn", "out": str(out), "args": args}))
        pid = int(self.child.expect("spawned", 30)["pid"])
        return ForkedChild(self, pid, out, name)

    def reap(self, pid: int) -> int:
        """Wait for writer ``pid`` to exit; its wait status."""
        self.child.send(json.dumps({"op": "reap", "pid": pid}))
        return int(self.child.expect("reaped", 60)["status"])

    def close(self) -> None:
        """Stop the server (its stdin closes; it exits)."""
        assert self.child.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.child.proc.stdin.close()
        self.child.finish(30)


def store_fingerprint(memory: Any) -> dict[str, object]:
    """Every row of every table of ``memory``'s store, plus the vector index's size and position.

    Two equal fingerprints mean nothing stored changed (rows, FTS, vectors,
    queues, logs, meta, episodes, patterns).
    """
    conn = memory.store.pool.reader()
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    out: dict[str, object] = {
        name: sorted((tuple(row) for row in conn.execute(f'SELECT * FROM "{name}"')), key=repr)
        for name in sorted(names)
    }
    out["index"] = (memory.store.vectors.index.size(), memory.store.vectors.index.applied_seq)
    return out
