"""Config typos are errors: unknown config-file keys, a missing ``MEMORYD_CONFIG``, env typos.

The CLI runs as a real process (``python -m memoryd``) on real files in
``tmp_path``: an unknown key or a missing named file is one
``error[code]: ...`` line on stderr, no traceback, exit 2, and the store is
never opened; ``memoryd serve`` refuses to start. A ``MEMORYD_*`` variable that
looks like a misspelt setting is a warning, not an error; the variables of
the test suites and benchmarks stay silent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import waits
from memoryd.config import Settings, load_settings
from memoryd.config_sources import check_config_keys, warn_unknown_env
from memoryd.errors import ConfigError, InvalidPath


def _memoryd(*args: str, env: dict[str, str], code: int) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "memoryd", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=waits.budget(120),
        check=False,
    )
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def _error_line(done: subprocess.CompletedProcess[str], code: str) -> str:
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error[{code}]: "), lines[0]
    return lines[0]


@pytest.fixture
def env(data_dir: Path) -> dict[str, str]:
    """The CLI's environment: this test's data dir, no reachable daemon."""
    return dict(os.environ)


def test_unknown_key_names_file_key_and_nearest_setting(
    env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    config = _config(tmp_path, 'prot = 7078\nlog_level = "info"\n')
    done = _memoryd("stats", env={**env, "MEMORYD_CONFIG": str(config)}, code=2)
    line = _error_line(done, "config_error")
    assert str(config) in line and "'prot'" in line and "did you mean 'port'?" in line, line
    assert not data_dir.exists()


def test_serve_refuses_to_start_with_an_unknown_key(
    env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    config = _config(tmp_path, "idle_timeout = 5\n")
    done = _memoryd("serve", "--port", "0", env={**env, "MEMORYD_CONFIG": str(config)}, code=2)
    line = _error_line(done, "config_error")
    assert "'idle_timeout'" in line and "did you mean 'idle_timeout_s'?" in line, line
    assert not data_dir.exists()  # no store, no daemon.json, no token


def test_a_table_is_an_unknown_key_and_the_message_says_why(
    env: dict[str, str], tmp_path: Path
) -> None:
    config = _config(tmp_path, "zzz = 1\n[daemon]\nport = 7078\nhost = '127.0.0.1'\n")
    done = _memoryd("stats", env={**env, "MEMORYD_CONFIG": str(config)}, code=2)
    line = _error_line(done, "config_error")
    assert "unknown keys [daemon] (settings are top-level keys, not tables;" in line, line
    assert "move host, port to the top level" in line and "'zzz'" in line, line
    assert "did you mean" not in line, line


def test_keys_match_case_insensitively_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMORYD_CONFIG", str(_config(tmp_path, "Port = 7099\n")))
    monkeypatch.delenv("MEMORYD_PORT", raising=False)
    assert load_settings(data_dir=tmp_path / "data").port == 7099


def test_invalid_toml_names_the_file(env: dict[str, str], tmp_path: Path) -> None:
    config = _config(tmp_path, "port = \n")
    done = _memoryd("stats", env={**env, "MEMORYD_CONFIG": str(config)}, code=2)
    line = _error_line(done, "config_error")
    assert f"config file {config} is not valid TOML" in line, line


def test_memoryd_config_naming_a_missing_file_is_an_error(
    env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "typo" / "config.toml"
    done = _memoryd("stats", env={**env, "MEMORYD_CONFIG": str(missing)}, code=2)
    line = _error_line(done, "invalid_path")
    assert str(missing) in line and "config path" in line, line
    assert not data_dir.exists()


def test_missing_default_config_file_is_fine(
    env: dict[str, str], data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MEMORYD_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config-home"))
    assert load_settings().data_dir == data_dir
    without = {k: v for k, v in env.items() if k != "MEMORYD_CONFIG"}
    _memoryd("stats", env={**without, "XDG_CONFIG_HOME": str(tmp_path / "no-config-home")}, code=0)
    assert (data_dir / "memoryd.db").exists()


def test_a_misspelt_env_variable_warns_and_the_command_runs(
    env: dict[str, str], data_dir: Path
) -> None:
    done = _memoryd("stats", env={**env, "MEMORYD_PROT": "7078"}, code=0)
    assert "MEMORYD_PROT" in done.stderr and "did you mean MEMORYD_PORT?" in done.stderr
    assert (data_dir / "memoryd.db").exists()


def test_only_env_variables_close_to_a_setting_warn() -> None:
    fields = Settings.model_fields
    quiet = {
        name: "1"
        for name in (
            "MEMORYD_CONFIG",
            "MEMORYD_URL",
            "MEMORYD_TOKEN",
            "MEMORYD_PORT",
            "memoryd_port",
            "MEMORYD_TEST_MODEL_CACHE",
            "MEMORYD_TEST_TIMEOUT_SCALE",
            "MEMORYD_BENCH_CACHE",
            "MEMORYD_BIN",
            "MEMORYD_BURST_TOKEN",
            "MEMORYD_R5_DISK_BYTES",
            "MEMORYD_R8_WRITES",
            "MEMORYD_REQUIRE_SMALL_DISK",
            "MEMORYD_S10_MAX_EXAMPLES",
            "PORT",
        )
    }
    assert warn_unknown_env(quiet, fields) == []
    typos = {"MEMORYD_LOGLEVEL": "debug", "MEMORYD_DATADIR": "/x", "MEMORYD_PROT": "1"}
    assert warn_unknown_env(typos, fields) == sorted(typos)
    assert warn_unknown_env(typos, fields) == []  # once per process


def test_unknown_keys_error_details(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    known = Settings.model_fields
    check_config_keys({"port": 1, "Log_Level": "info"}, path, known)  # as Settings reads them
    with pytest.raises(ConfigError) as caught:
        check_config_keys({"prot": 1, "qqqq": 2, "port": 3}, path, known)
    assert caught.value.code == "config_error"
    assert caught.value.details == {
        "path": str(path),
        "keys": ["prot", "qqqq"],
        "nearest": {"prot": "port"},
    }


def test_settings_built_directly_read_the_checked_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMORYD_CONFIG", str(_config(tmp_path, "max_body_byte = 2048\n")))
    with pytest.raises(ConfigError, match="did you mean 'max_body_bytes'"):
        load_settings(data_dir=tmp_path / "data")
    with pytest.raises(ConfigError, match="unknown key 'max_body_byte'"):
        Settings(data_dir=tmp_path / "data")
    monkeypatch.setenv("MEMORYD_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(InvalidPath, match="config path") as missing:
        load_settings(data_dir=tmp_path / "data")
    assert missing.value.details["reason"] == "missing"
