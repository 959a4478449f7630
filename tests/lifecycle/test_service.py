"""The user service: generated systemd unit and launchd agent, status and logs commands."""

from __future__ import annotations

import json
import plistlib
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import waits
from memoryd.cli.main import app
from memoryd.config import Settings
from memoryd.errors import NotFound
from memoryd.lifecycle import start_daemon
from memoryd.lifecycle.service import ServiceManager, daemon_status, tail_log
from memoryd.lifecycle.service_files import LAUNCHD_LABEL


@pytest.fixture
def spaced_settings(tmp_path: Path, model_cache_dir: Path) -> Settings:
    return Settings(data_dir=tmp_path / "my data", model_cache_dir=model_cache_dir)


def test_systemd_unit_passes_systemd_analyze_verify(
    spaced_settings: Settings, tmp_path: Path
) -> None:
    manager = ServiceManager(spaced_settings, kind="systemd", home=tmp_path / "home")
    path = manager.install(start=False)
    assert path == tmp_path / "home/.config/systemd/user/memoryd.service"
    text = path.read_text()
    assert "Type=notify" in text and "WatchdogSec=5" in text and "Restart=on-failure" in text
    assert (
        f'ExecStart={sys.executable} -m memoryd.server --data-dir "{spaced_settings.data_dir}"'
        in text
    )
    assert shutil.which("systemd-analyze"), "make test installs systemd-analyze"
    done = subprocess.run(
        ["systemd-analyze", "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=waits.budget(60),
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_launchd_plist_round_trips(spaced_settings: Settings, tmp_path: Path) -> None:
    manager = ServiceManager(spaced_settings, kind="launchd", home=tmp_path / "home")
    path = manager.install(start=False)
    assert path == tmp_path / f"home/Library/LaunchAgents/{LAUNCHD_LABEL}.plist"
    document = plistlib.loads(path.read_bytes())
    assert document["Label"] == LAUNCHD_LABEL
    assert document["ProgramArguments"] == [
        sys.executable,
        "-m",
        "memoryd.server",
        "--data-dir",
        str(spaced_settings.data_dir),
    ]
    assert document["RunAtLoad"] is True
    assert document["KeepAlive"] == {"SuccessfulExit": False}
    assert document["StandardErrorPath"].startswith(str(spaced_settings.data_dir))
    assert plistlib.loads(plistlib.dumps(document)) == document


def test_uninstall_without_install_is_not_found(spaced_settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        ServiceManager(spaced_settings, kind="systemd", home=tmp_path).uninstall()
    with pytest.raises(NotFound):
        ServiceManager(spaced_settings, kind="launchd", home=tmp_path).control("start")


def test_status_reports_a_running_daemon(lifecycle_settings: Settings) -> None:
    stopped = daemon_status(lifecycle_settings)
    assert (stopped.running, stopped.ready, stopped.pid) == (False, False, None)
    info = start_daemon(lifecycle_settings)
    result = CliRunner().invoke(
        app,
        ["--data-dir", str(lifecycle_settings.data_dir), "--format", "json", "service", "status"],
        env={"MEMORYD_PORT": "0", "MEMORYD_MODEL_CACHE_DIR": str(lifecycle_settings.model_dir)},
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["running"] and report["healthy"] and report["ready"]
    assert (report["pid"], report["port"], report["url"]) == (info.pid, info.port, info.url)
    assert report["uptime_s"] >= 0 and report["store_bytes"] > 0
    assert report["auto_started"] is True


def test_status_exit_code_when_nothing_runs(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["--data-dir", str(tmp_path / "empty"), "--format", "json", "service", "status"]
    )
    assert result.exit_code == 3
    assert json.loads(result.stdout)["running"] is False


def test_logs_tail_and_follow_across_rotation(tmp_path: Path) -> None:
    log = tmp_path / "memoryd.log"
    log.write_text("".join(f"line {i}\n" for i in range(10)))
    assert list(tail_log(log, lines=3)) == ["line 7", "line 8", "line 9"]
    seen: list[str] = []
    follower = tail_log(log, lines=1, follow=True, poll_s=0.02)

    def read() -> None:
        for line in follower:
            seen.append(line)
            if line == "after rotation 1":
                return

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    time.sleep(0.2)
    with log.open("a") as handle:
        handle.write("appended\n")
    time.sleep(0.2)
    log.rename(tmp_path / "memoryd.log.1")
    log.write_text("after rotation 0\nafter rotation 1\n")
    thread.join(10)
    assert seen == ["line 9", "appended", "after rotation 0", "after rotation 1"]


def test_logs_command_prints_the_daemon_log(lifecycle_settings: Settings) -> None:
    start_daemon(lifecycle_settings)
    result = CliRunner().invoke(
        app, ["--data-dir", str(lifecycle_settings.data_dir), "service", "logs", "-n", "200"]
    )
    assert result.exit_code == 0, result.output
    events = [json.loads(line)["event"] for line in result.stdout.splitlines()]
    assert "starting" in events and "store open" in events
