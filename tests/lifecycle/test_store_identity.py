"""Two real daemons on two data dirs: a command is sent only to the daemon of its own store.

Issue 11, defect 7: with a daemon serving data dir A, ``memoryd --data-dir B``
found it at the default port (or through a copied ``daemon.json``) and,
when B held a copy of A's token, listed and wrote A's entries. Every daemon
here is a real ``python -m memoryd.server`` process; what reached daemon A
is counted in A's own access log.
"""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

import waits
from memoryd import Client, Memory, Settings, StoreMismatch
from memoryd.cli.main import app
from memoryd.lifecycle import read_runtime, start_daemon
from waits import stop_daemon

#: Requests that only ask a daemon who it is (or whether it lives); they carry no command.
PROBES = {"/v1/identity", "/healthz", "/readyz"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings(data_dir: Path, model_cache_dir: Path, port: int = 0) -> Settings:
    return Settings(
        data_dir=data_dir,
        model_cache_dir=model_cache_dir,
        port=port,
        start_timeout_s=waits.budget(90),
        daemon_timeout_s=waits.budget(30),
        probe_timeout_s=waits.budget(30),
        idle_timeout_s=600,
    )


def _requests(settings: Settings) -> list[str]:
    """Paths of every request the daemon of ``settings`` logged, in order."""
    lines = settings.resolved_log_file.read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    return [e["path"] for e in events if e.get("event") == "request"]


def _commands(settings: Settings) -> list[str]:
    return [path for path in _requests(settings) if path not in PROBES]


def _cli(data_dir: Path, model_cache_dir: Path, *args: str, port: int) -> tuple[int, str, str]:
    env = {
        "MEMORYD_MODEL_CACHE_DIR": str(model_cache_dir),
        "MEMORYD_PORT": str(port),
        "MEMORYD_PROBE_TIMEOUT_S": str(waits.budget(30)),
        "MEMORYD_PROBE_GUESS_TIMEOUT_S": str(waits.budget(30)),
        "MEMORYD_URL": None,
        "MEMORYD_TOKEN": None,
        "MEMORYD_DATA_DIR": None,
    }
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), "-f", "json", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def _contents(data_dir: Path, model_cache_dir: Path) -> set[str]:
    with Memory(_settings(data_dir, model_cache_dir), background=False) as memory:
        return {entry.content for entry in memory.export()}


@pytest.fixture
def daemon_a(tmp_path: Path, model_cache_dir: Path, embedder: object):  # type: ignore[no-untyped-def]
    """A daemon on data dir A at a fixed free port (the port B's CLI guesses), holding one entry."""
    settings = _settings(tmp_path / "A", model_cache_dir, port=_free_port())
    start_daemon(settings)
    with Client(settings, base_url=settings.base_url, timeout_s=waits.budget(30)) as client:
        client.add("an entry of store A")
    yield settings
    stop_daemon(settings)


def _store_b(tmp_path: Path, model_cache_dir: Path) -> Path:
    folder = tmp_path / "B"
    with Memory(_settings(folder, model_cache_dir), background=False) as memory:
        memory.add("an entry of store B")
    return folder


def test_cli_with_a_copy_of_the_token_never_commands_the_default_port_daemon(
    daemon_a: Settings, tmp_path: Path, model_cache_dir: Path
) -> None:
    store_b = _store_b(tmp_path, model_cache_dir)
    shutil.copy2(daemon_a.resolved_token_file, store_b / "token")  # B holds A's token
    before = len(_requests(daemon_a))
    code, out, err = _cli(store_b, model_cache_dir, "list", port=daemon_a.port)
    assert code == 0, err
    assert [item["content"] for item in json.loads(out)["items"]] == ["an entry of store B"]
    code, _, err = _cli(store_b, model_cache_dir, "add", "written by B's CLI", port=daemon_a.port)
    assert code == 0, err
    assert _commands(daemon_a) == ["/v1/memories"]  # only the fixture's own write
    assert set(_requests(daemon_a)[before:]) <= PROBES
    assert _contents(store_b, model_cache_dir) == {"an entry of store B", "written by B's CLI"}
    with Client(daemon_a, base_url=daemon_a.base_url) as client:
        assert [e.content for e in client.list().items] == ["an entry of store A"]


def test_cli_without_a_store_or_token_sends_the_guess_nothing(
    daemon_a: Settings, tmp_path: Path, model_cache_dir: Path
) -> None:
    before = len(_requests(daemon_a))
    fresh = tmp_path / "fresh"  # no store, no token: nothing to verify a daemon against
    code, out, err = _cli(fresh, model_cache_dir, "add", "first entry", port=daemon_a.port)
    assert code == 0, err
    store_b = _store_b(tmp_path, model_cache_dir)  # a store with its own token, not A's
    (store_b / "token").write_text("a-token-of-store-b-only")
    (store_b / "token").chmod(0o600)
    code, out, err = _cli(store_b, model_cache_dir, "list", port=daemon_a.port)
    assert code == 0, err
    assert [item["content"] for item in json.loads(out)["items"]] == ["an entry of store B"]
    assert set(_requests(daemon_a)[before:]) <= {"/v1/identity"}  # B's token was refused there
    assert _contents(fresh, model_cache_dir) == {"first entry"}


def test_copied_data_dir_is_not_served_by_the_original_daemon(
    tmp_path: Path, model_cache_dir: Path, embedder: object
) -> None:
    a = _settings(tmp_path / "A", model_cache_dir)
    original = start_daemon(a)  # port 0: found only through daemon.json
    try:
        with Client(a, lifecycle=True) as client:
            client.add("an entry of store A")
        # `cp -r A B` while A runs: B holds A's daemon.json, token and a copy of its store
        # (same store id; SQLite's backup API gives a consistent copy).
        copy = tmp_path / "B"
        shutil.copytree(a.data_dir, copy, ignore=shutil.ignore_patterns("memoryd.db*", "logs"))
        with sqlite3.connect(a.db_path) as source, sqlite3.connect(copy / "memoryd.db") as target:
            source.backup(target)
        b = _settings(copy, model_cache_dir)
        assert read_runtime(b) == read_runtime(a)
        code, _, err = _cli(copy, model_cache_dir, "add", "written in the copy", port=a.port)
        assert code == 0, err
        assert _commands(a) == ["/v1/memories"]  # the CLI used the copy in-process
        with Client(b, lifecycle=True) as client:  # starts B's own daemon
            client.add("written by B's client")
            assert client.served_by == "daemon"
        own = read_runtime(b)
        assert own is not None and own.pid != original.pid
        assert _commands(a) == ["/v1/memories"]
        with Client(a, lifecycle=True) as client:
            assert {e.content for e in client.list().items} == {"an entry of store A"}
        stop_daemon(b)
        assert _contents(copy, model_cache_dir) == {
            "an entry of store A",
            "written in the copy",
            "written by B's client",
        }
    finally:
        stop_daemon(_settings(tmp_path / "B", model_cache_dir))
        stop_daemon(a)


def test_explicit_url_of_another_store_is_store_mismatch(
    daemon_a: Settings, tmp_path: Path, model_cache_dir: Path
) -> None:
    store_b = _store_b(tmp_path, model_cache_dir)
    token = daemon_a.resolved_token_file.read_text().strip()
    before = len(_requests(daemon_a))
    code, out, err = _cli(
        store_b, model_cache_dir, "--url", daemon_a.base_url, "--token", token, "list", port=1
    )
    assert code == 1 and out == ""
    assert err.startswith("error[store_mismatch]: the daemon at ") and len(err.splitlines()) == 1
    named_b = _settings(store_b, model_cache_dir)
    with (
        Client(named_b, base_url=daemon_a.base_url, token=token) as c,
        pytest.raises(StoreMismatch),
    ):
        c.add("must not reach store A")
    assert set(_requests(daemon_a)[before:]) == {"/v1/identity"}
    with Client(daemon_a, base_url=daemon_a.base_url) as client:
        assert [e.content for e in client.list().items] == ["an entry of store A"]
