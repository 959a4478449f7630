"""RELIABILITY.md R7: 50 seeded byte flips, every one detected, no crash, no 500.

A real store (memories in three namespaces, conversation turns, session
state, key/value entries, long entries that spill into overflow pages; real
vectors, FTS5, embedding cache) is built and checkpointed. Each of 50 seeded
flips (``tests/_damage.py``: one byte XOR-ed with a random mask at a random
byte SQLite reads, targets taken in turn) goes into a fresh copy:

* the ``memories`` B-tree (leaf, interior and overflow pages) and each of its indexes,
* ``vectors``,
* FTS5's shadow tables ``memories_fts_data``, ``_idx``, ``_content``, ``_docsize``, ``_config``,
* the ``-wal`` header (of a copy taken while a commit was still in the WAL).

Each copy is opened as the daemon opens it (in-process, and every fifth
through a real ``python -m memoryd.server`` child on a free port). Then:
detection must have happened at open or by the full check run at once
through ``POST /v1/storage/verify``; ``/readyz`` is 503 ``storage_corrupted``;
a write is refused with the restore hint; no read route answers 500;
``/healthz`` stays 200 and the daemon exits 0 on SIGTERM (no crash); and
``memoryd storage verify`` exits 1 with ``error[storage_corrupted]``.

Sizes: ``MEMORYD_R7_FLIPS`` (default 50, the RELIABILITY.md figure) and
``MEMORYD_R7_SEED``. ``-s`` prints the detection count, where each flip was
found, and the time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from _damage import WAL_HEADER, Flip, plan_flips
from memoryd import Memory, Settings
from memoryd.errors import StoreCorrupted
from memoryd.lifecycle.runtime import read_runtime
from memoryd.server import create_app
from memoryd.server.testing import serve_in_thread

from ._support import child_env, env_int

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

FLIPS = env_int("MEMORYD_R7_FLIPS", 50)
SEED = env_int("MEMORYD_R7_SEED", 20261202)
DAEMON_EVERY = 5  # every fifth case through a real daemon process
TARGETS = [
    "memories",
    "memories:overflow",
    "sqlite_autoindex_memories_1",
    "ix_memories_ns_created",
    "ix_memories_ns_hash",
    "ix_memories_session",
    "vectors",
    "memories_fts_data",
    "memories_fts_idx",
    "memories_fts_content",
    "memories_fts_docsize",
    "memories_fts_config",
    WAL_HEADER,
]
NAMESPACES = ("default", "team-a", "team-b")


@pytest.fixture(scope="module")
def stores(
    tmp_path_factory: pytest.TempPathFactory, model_cache_dir: Path, embedder: Any
) -> dict[str, Any]:
    """``{"base": checkpointed store, "wal": copy with a commit in its -wal, "ids": [...]}``."""
    root = tmp_path_factory.mktemp("r7")
    settings = Settings(data_dir=root / "base", model_cache_dir=model_cache_dir)
    with Memory(settings, embedder=embedder, background=False) as memory:
        for n, namespace in enumerate(NAMESPACES):
            memory.add_many(
                [
                    {
                        "content": f"note {i} of {namespace}: topic {i % 37}, city {i % 11}",
                        "namespace": namespace,
                        "tags": [f"t{i % 5}"],
                        "metadata": {"i": i, "n": n},
                    }
                    for i in range(800)
                ]
            )
        for i in range(12):  # long entries: their payload spills into overflow pages
            memory.add(f"long report {i}: " + "the quarterly numbers went up " * 300)
        for i in range(300):
            memory.append(f"s{i % 6}", f"turn {i} in the conversation", role="user")
        for i in range(40):
            memory.kv_set(f"key{i}", {"value": i})
            memory.set_state(f"s{i % 6}", f"step{i}", {"n": i})
        ids = [str(e.id) for e in memory.list(limit=1000).items]
    assert not (settings.data_dir / "memoryd.db-wal").exists()  # checkpointed at close
    wal = root / "wal"
    shutil.copytree(settings.data_dir, wal)
    wal_settings = settings.model_copy(update={"data_dir": wal})
    with Memory(wal_settings, embedder=embedder, background=False) as memory:
        memory.add("a commit that is only in the -wal file")
        snapshot = root / "wal-snapshot"
        shutil.copytree(wal, snapshot)  # while the engine holds it open: the -wal is there
    assert (snapshot / "memoryd.db-wal").stat().st_size > 32
    return {"base": settings.data_dir, "wal": snapshot, "ids": ids}


def _copy(stores: dict[str, Any], flip: Flip, target: Path) -> Path:
    source = stores["wal"] if flip.target == WAL_HEADER else stores["base"]
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("token", "*.pid", "daemon.json"))
    os.chmod(target, 0o700)
    flip.apply(target)
    return target


@contextmanager
def _in_process(settings: Settings, embedder: Any) -> Iterator[tuple[str, str, str]]:
    """The daemon app over the copy; yields ``(url, token, detected at open or "")``."""
    try:
        memory: Memory | None = Memory(settings, embedder=embedder, defer_keyword_index=True)
    except StoreCorrupted:
        memory = None  # the app opens it again itself, as the daemon does, and stays up
    app = create_app(settings, memory)
    token = settings.resolved_token_file.read_text().strip()
    at_open = "open-failed" if memory is None else ""
    if memory is not None and memory.store.health.corrupted:
        at_open = f"open:{memory.store.health.status().source}"
    try:
        with serve_in_thread(app) as url:
            yield url, token, at_open
    finally:
        if memory is not None:
            memory.close()


@contextmanager
def _daemon(settings: Settings, log: Path) -> Iterator[tuple[str, str, str]]:
    """A real ``python -m memoryd.server --port 0`` child; SIGTERM must end it with 0."""
    env = {**child_env(), "MEMORYD_MODEL_CACHE_DIR": str(settings.model_dir)}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "memoryd.server",
                "--data-dir",
                str(settings.data_dir),
                "--port",
                "0",
            ],
            env=env,
            stdout=out,
            stderr=out,
        )
    try:
        deadline = time.monotonic() + 180
        info = read_runtime(settings)
        while info is None or info.pid != proc.pid:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "daemon.json never written"
            time.sleep(0.05)
            info = read_runtime(settings)
        token = settings.resolved_token_file.read_text().strip()
        yield info.url, token, ""
        assert proc.poll() is None, "the daemon crashed:\n" + log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
    assert code == 0, log.read_text()[-3000:]


def _await_open(http: httpx.Client) -> httpx.Response:
    """``/readyz`` once the engine has finished opening (it opens in a thread)."""
    deadline = time.monotonic() + 180
    while True:
        ready = http.get("/readyz")
        status = ready.json()["status"]
        if ready.status_code == 200 or "storage_corrupted" in status or "error" in status:
            return ready
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def _never_500(response: httpx.Response, route: str) -> None:
    assert response.status_code < 500 or (
        response.status_code == 503 and response.json()["error"]["code"] == "storage_corrupted"
    ), f"{route}: {response.status_code} {response.text[:300]}"


def _read_everything(http: httpx.Client, ids: list[str]) -> None:
    """Every read route, over every row where a route pages."""
    for namespace in NAMESPACES:
        cursor = None
        while True:
            params: dict[str, Any] = {"namespace": namespace, "limit": 1000}
            if cursor:
                params["cursor"] = cursor
            page = http.get("/v1/memories", params=params)
            _never_500(page, "list")
            if page.status_code != 200 or not (cursor := page.json()["next_cursor"]):
                break
        for mode in ("hybrid", "keyword", "vector"):
            query = {"query": "topic 7 city 3", "mode": mode, "namespace": namespace}
            _never_500(http.post("/v1/search", json=query), f"search {mode}")
    for id in ids[::25]:
        _never_500(http.get(f"/v1/memories/{id}"), "get")
        _never_500(http.get(f"/v1/memories/{id}/history"), "history")
    _never_500(http.get("/v1/sessions/s1/messages"), "messages")
    _never_500(http.get("/v1/sessions/s1/state/step1"), "state")
    _never_500(http.get("/v1/kv/key1"), "kv")
    _never_500(http.get("/v1/stats"), "stats")
    export = http.post("/v1/export")
    _never_500(export, "export")
    if export.status_code == 200:  # complete, never cut short
        assert int(export.headers["content-length"]) == len(export.content)


def _check_case(url: str, token: str, at_open: str, ids: list[str]) -> str:
    """Detection, readiness, a refused write, every read; returns where it was detected."""
    headers = {"authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=300, trust_env=False) as http:
        ready = _await_open(http)
        found = at_open or ("open" if ready.status_code == 503 else "")
        if not found:
            report = http.post("/v1/storage/verify")
            assert report.status_code == 200, report.text
            body = report.json()
            found = "" if body["ok"] else f"verify:{body['problems'][0]['check']}"
        if not found:
            return ""
        ready = http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"].startswith(
            "storage_corrupted: "
        ), ready.text
        write = http.post("/v1/memories", json={"content": "a write after the damage"})
        assert write.status_code == 503, write.text
        error = write.json()["error"]
        assert error["code"] == "storage_corrupted" and "Restore memoryd.db" in error["message"]
        _read_everything(http, ids)
        assert http.get("/healthz").status_code == 200
    return found


def _cli_verify(data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**child_env(), "MEMORYD_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "memoryd.cli.main", "storage", "verify", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_r7_every_seeded_flip_is_detected(
    stores: dict[str, Any], embedder: Any, model_cache_dir: Path, tmp_path: Path
) -> None:
    flips = plan_flips(stores["base"] / "memoryd.db", TARGETS, FLIPS, SEED)
    started = time.perf_counter()
    found: dict[int, str] = {}
    for n, flip in enumerate(flips):
        data_dir = _copy(stores, flip, tmp_path / f"case{n}")
        settings = Settings(data_dir=data_dir, model_cache_dir=model_cache_dir)
        case = (
            _daemon(settings, tmp_path / f"daemon{n}.log")
            if n % DAEMON_EVERY == DAEMON_EVERY - 1
            else _in_process(settings, embedder)
        )
        with case as (url, token, at_open):
            found[n] = _check_case(url, token, at_open, stores["ids"])
        assert found[n], f"flip {n} not detected: {flip}"
        verified = _cli_verify(data_dir)
        assert verified.returncode == 1, (flip, verified.stdout[-2000:], verified.stderr)
        assert verified.stderr.startswith("error[storage_corrupted]: "), verified.stderr
        assert json.loads(verified.stdout)["ok"] is False
        shutil.rmtree(data_dir)
    took = time.perf_counter() - started
    detected = sum(1 for where in found.values() if where)
    where = Counter(found.values())
    targets = Counter(f.target + (":overflow" if f.page_type == "overflow" else "") for f in flips)
    print(
        f"\nR7: {detected}/{len(flips)} flips detected in {took:.1f} s "
        f"(seed {SEED}; {len(flips) // DAEMON_EVERY} through a real daemon)\n"
        f"  targets: {dict(targets)}\n  found by: {dict(where)}"
    )
    assert detected == len(flips)
