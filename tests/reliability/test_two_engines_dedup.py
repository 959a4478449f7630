"""Issue 11, defect 6: two engines on one data dir never save one text twice.

Two real processes share a store: two ``memoryd --local``-like engines
(``Memory(background=False)``), or the daemon (``python -m memoryd.server``)
and one such engine. For each try the test sends the same write to both at
once (each blocks on its stdin: the barrier) and then checks the store:

* ``add`` of one new text (kind ``memory``, deduplicated): both callers get
  the same entry and the namespace holds one row with that text;
* ``add_id`` of two texts with one caller-chosen id: one caller gets the
  entry, the other 409 ``id_conflict`` (never a 5xx, never two rows);
* ``kv`` of one key: both succeed, one row.

Before the fix the content-hash dedup ran before the embedding and outside
the write transaction: 30 of 30 tries stored the text twice. Sizes: 30 tries
per race (CI); ``MEMORYD_RACE_TRIES=200`` for more.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memoryd import Settings
from memoryd.lifecycle import start_daemon

from ._support import Child, env_int

TRIES = env_int("MEMORYD_RACE_TRIES", 30)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(max(600, TRIES * 6))]


def _racer(data_dir: Path, model_cache: Path, name: str, url: str | None = None) -> Child:
    args = [str(data_dir), "--model-cache", str(model_cache)]
    child = Child("racer.py", [*args, *(["--url", url] if url else [])], data_dir.parent, name)
    child.expect("ready", 300)
    return child


def _race(racers: list[Child], *ops: dict[str, Any]) -> list[dict[str, Any]]:
    """Send ``ops[i]`` (or the one op) to racer ``i``; their answers, in racer order."""
    lines = [json.dumps(op) for op in (ops if len(ops) > 1 else ops * len(racers))]
    for racer, line in zip(racers, lines, strict=True):
        racer.send(line)  # both block on stdin: they start within microseconds
    return [racer.expect("ack", 120) for racer in racers]


def _rows(db: Path, namespace: str, where: str, *args: str) -> list[tuple[str, str]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        sql = f"SELECT id, content FROM memories WHERE namespace = ? AND {where}"
        return [(r[0], r[1]) for r in conn.execute(sql, (namespace, *args))]
    finally:
        conn.close()


def _run_races(racers: list[Child], db: Path) -> dict[str, int]:
    seen = {"add": 0, "duplicated": 0, "add_id": 0, "kv": 0, "id_conflicts": 0}
    for n in range(TRIES):
        ns, tag = f"race-{n % 3}", uuid.uuid4().hex[:8]
        text = f"fact {tag}: the build server moved to rack {n}"
        acks = _race(racers, {"op": "add", "content": text, "namespace": ns, "tag": tag})
        assert [a.get("code") for a in acks] == [None, None], acks
        stored = _rows(db, ns, "content = ?", text)
        if len(stored) == 1 and {a["id"] for a in acks} == {stored[0][0]}:
            seen["add"] += 1
        else:
            seen["duplicated"] += 1
            continue

        chosen = str(uuid.uuid4())
        acks = _race(
            racers,
            *(
                {"op": "add_id", "content": f"{who} {tag}", "namespace": ns, "id": chosen}
                | {"tag": tag}
                for who in ("first", "second")
            ),
        )
        codes = sorted(str(a.get("code")) for a in acks)
        assert codes == ["None", "id_conflict"], acks
        winner = next(a for a in acks if "id" in a)
        assert winner["id"] == chosen and len(_rows(db, ns, "id = ?", chosen)) == 1
        seen["add_id"] += 1
        seen["id_conflicts"] += 1

        key = f"key-{tag}"
        acks = _race(racers, {"op": "kv", "key": key, "content": tag, "namespace": ns, "tag": tag})
        assert [a.get("code") for a in acks] == [None, None], acks
        assert len(_rows(db, ns, "kind = 'kv' AND id = ?", acks[0]["id"])) == 1
        seen["kv"] += 1
    print(f"two engines, {TRIES} tries per race: {seen}")  # the figure (pytest -s)
    return seen


def _finish(racers: list[Child]) -> None:
    for racer in racers:
        assert racer.proc.stdin is not None
        racer.proc.stdin.close()
    for racer in racers:
        racer.expect("done", 120)
        assert racer.finish() == 0, racer.stderr_tail()


@pytest.fixture
def racers_local(
    make_settings: Any, tmp_path: Path, model_cache_dir: Path
) -> Iterator[list[Child]]:
    data = tmp_path / "data"
    make_settings(data)  # the same settings the children build
    racers = [_racer(data, model_cache_dir, name) for name in ("local-1", "local-2")]
    yield racers
    for racer in racers:
        racer.finish(30)


def test_two_local_engines_never_store_one_text_twice(
    racers_local: list[Child], tmp_path: Path
) -> None:
    seen = _run_races(racers_local, tmp_path / "data" / "memoryd.db")
    _finish(racers_local)
    assert seen == {
        "add": TRIES,
        "duplicated": 0,
        "add_id": TRIES,
        "kv": TRIES,
        "id_conflicts": TRIES,
    }


def test_the_daemon_and_a_local_engine_never_store_one_text_twice(
    lifecycle_settings: Settings, model_cache_dir: Path
) -> None:
    daemon = start_daemon(lifecycle_settings)
    data = lifecycle_settings.data_dir
    racers = [
        _racer(data, model_cache_dir, "via-daemon", url=daemon.url),
        _racer(data, model_cache_dir, "local"),
    ]
    try:
        seen = _run_races(racers, lifecycle_settings.db_path)
        _finish(racers)
    finally:
        for racer in racers:
            racer.finish(30)
    assert seen["duplicated"] == 0 and seen["add"] == TRIES and seen["id_conflicts"] == TRIES
