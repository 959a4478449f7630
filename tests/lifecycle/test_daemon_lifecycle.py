"""One daemon per data dir, stale pid files, busy ports, idle stop and systemd notifications.

Every daemon here is a real ``python -m memoryd.server`` process on a free
loopback port, with the session's exported model.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import waits
from memoryd.config import Settings
from memoryd.errors import MemorydError
from memoryd.lifecycle import discover, read_runtime, start_daemon
from memoryd.lifecycle.runtime import RuntimeInfo, pid_alive, write_runtime
from memoryd.lifecycle.spawn import settings_env


def _server(settings: Settings, *args: str) -> list[str]:
    return [sys.executable, "-m", "memoryd.server", *args]


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {**os.environ, **settings_env(settings), "HF_HUB_OFFLINE": "1", **extra}


def _same_daemon(a: RuntimeInfo | None, b: RuntimeInfo) -> bool:
    """Same daemon process and address. ``store_id`` is left out: a new data dir's
    daemon publishes ``daemon.json`` again once its store is open, with the id."""
    return a is not None and (a.pid, a.host, a.port, a.started_at) == (
        b.pid,
        b.host,
        b.port,
        b.started_at,
    )


def _wait_exit(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_concurrent_callers_start_one_daemon(lifecycle_settings: Settings) -> None:
    results: list[RuntimeInfo] = []
    errors: list[MemorydError] = []

    def call() -> None:
        try:
            results.append(start_daemon(lifecycle_settings))
        except MemorydError as exc:  # recorded and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({info.pid for info in results}) == 1
    info = discover(lifecycle_settings)
    assert info is not None and info.pid == results[0].pid and info.auto_started
    assert (lifecycle_settings.data_dir / "memoryd.pid").read_text().strip() == str(info.pid)
    assert oct(lifecycle_settings.runtime_file.stat().st_mode & 0o777) == "0o600"


def test_stale_pid_and_runtime_files_are_replaced(lifecycle_settings: Settings) -> None:
    first = start_daemon(lifecycle_settings)
    os.kill(first.pid, signal.SIGKILL)
    assert _wait_exit(first.pid, waits.budget(10))
    # The killed daemon left both files behind; neither fools discovery or blocks a restart.
    assert _same_daemon(read_runtime(lifecycle_settings), first)
    assert discover(lifecycle_settings) is None
    second = start_daemon(lifecycle_settings)
    assert second.pid != first.pid
    assert (lifecycle_settings.data_dir / "memoryd.pid").read_text().strip() == str(second.pid)
    assert _same_daemon(read_runtime(lifecycle_settings), second)


def test_runtime_file_of_a_dead_process_is_not_a_daemon(lifecycle_settings: Settings) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    write_runtime(lifecycle_settings, RuntimeInfo(pid=int(dead.stdout), host="127.0.0.1", port=9))
    assert discover(lifecycle_settings) is None


def test_second_daemon_on_the_same_data_dir_is_refused(lifecycle_settings: Settings) -> None:
    info = start_daemon(lifecycle_settings)
    done = subprocess.run(
        _server(lifecycle_settings),
        env=_env(lifecycle_settings),
        capture_output=True,
        text=True,
        timeout=waits.budget(60),
    )
    assert done.returncode == 2
    assert f"error[already_running]: another memoryd (pid {info.pid})" in done.stderr
    assert _same_daemon(discover(lifecycle_settings), info)  # the first one is untouched


def test_port_held_by_another_program_names_it(
    lifecycle_settings: Settings, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    holder = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:
        deadline = waits.deadline(20)
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline
            time.sleep(0.05)
        done = subprocess.run(
            _server(lifecycle_settings, "--port", str(port)),
            env=_env(lifecycle_settings),
            capture_output=True,
            text=True,
            timeout=waits.budget(60),
        )
    finally:
        holder.terminate()
        holder.wait(waits.budget(10))
    assert done.returncode == 2
    assert (
        f"error[port_in_use]: port {port} on 127.0.0.1 is already in use by pid {holder.pid}"
        in (done.stderr)
    )
    assert "http.server" in done.stderr
    assert read_runtime(lifecycle_settings) is None


def test_auto_started_daemon_stops_when_idle(lifecycle_settings: Settings) -> None:
    settings = lifecycle_settings.model_copy(update={"idle_timeout_s": 1.5})
    info = start_daemon(settings)
    assert _wait_exit(info.pid, waits.budget(30)), (
        "the auto-started daemon did not stop after 1.5 s idle"
    )
    assert read_runtime(settings) is None  # a clean exit removes its runtime file
    log = settings.resolved_log_file.read_text()
    assert '"reason": "idle"' in log


def test_user_started_daemon_ignores_idle_timeout(lifecycle_settings: Settings) -> None:
    settings = lifecycle_settings.model_copy(update={"idle_timeout_s": 0.5})
    proc = subprocess.Popen(_server(settings), env=_env(settings), stderr=subprocess.DEVNULL)
    try:
        deadline = waits.deadline(60)
        while (info := discover(settings)) is None:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(3.0)  # six idle timeouts
        assert proc.poll() is None
        assert info.auto_started is False
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(waits.budget(15)) == 0


def test_systemd_notifications_and_sigterm(lifecycle_settings: Settings, tmp_path: Path) -> None:
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(address)
        notify.settimeout(waits.budget(60))
        env = _env(lifecycle_settings, NOTIFY_SOCKET=address, WATCHDOG_USEC="2000000")
        proc = subprocess.Popen(_server(lifecycle_settings), env=env, stderr=subprocess.DEVNULL)
        try:
            messages = [notify.recv(256).decode()]
            while "READY=1" not in messages:
                messages.append(notify.recv(256).decode())
            while "WATCHDOG=1" not in messages:
                messages.append(notify.recv(256).decode())
            proc.send_signal(signal.SIGTERM)
            started = time.monotonic()
            while "STOPPING=1" not in messages:
                messages.append(notify.recv(256).decode())
            assert proc.wait(waits.budget(15)) == 0
            assert time.monotonic() - started <= 10.0  # R13: exit within 10 s
        finally:
            if proc.poll() is None:
                proc.kill()
    assert read_runtime(lifecycle_settings) is None
