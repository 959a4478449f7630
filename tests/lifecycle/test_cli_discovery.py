"""The CLI finds a daemon of its data dir on any port through ``daemon.json``."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import waits
from memoryd.cli.main import app
from memoryd.config import Settings
from memoryd.lifecycle import start_daemon


def test_cli_uses_the_daemon_found_in_the_runtime_file(lifecycle_settings: Settings) -> None:
    info = start_daemon(lifecycle_settings)  # port 0: not the default port the CLI would probe
    data_dir = str(lifecycle_settings.data_dir)
    env = {"MEMORYD_MODEL_CACHE_DIR": str(lifecycle_settings.model_dir)}
    added = CliRunner().invoke(
        app, ["--data-dir", data_dir, "--format", "json", "add", "via the CLI"], env=env
    )
    assert added.exit_code == 0, added.output
    memory_id = json.loads(added.stdout)["id"]

    def posts() -> list[dict[str, object]]:
        """The daemon's access-log lines for the write (written just after it answers)."""
        lines = lifecycle_settings.resolved_log_file.read_text().splitlines()
        log = [json.loads(line) for line in lines]
        return [e for e in log if e.get("event") == "request" and e.get("path") == "/v1/memories"]

    served = waits.wait_until(posts, timeout_s=30.0, message="the daemon logged the write")
    assert served[-1]["status"] == 201  # the daemon served the write
    assert info.port != lifecycle_settings.port
    got = CliRunner().invoke(
        app, ["--data-dir", data_dir, "--format", "json", "get", memory_id], env=env
    )
    assert got.exit_code == 0 and json.loads(got.stdout)["content"] == "via the CLI"
