"""Evidence (2): a restart in the middle of extraction loses no queued work, duplicates nothing.

The child process drains the durable queue one episode at a time and is
killed with SIGKILL part-way; the store is then reopened and drained. The
result must equal an uninterrupted drain of a copy of the same store: the
same ``(episode, pattern key)`` evidence, each counted once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from memoryd import Memory, Settings

from .scenario import run_scenario

CHILD = Path(__file__).with_name("_extract_child.py")


def _evidence(memory: Memory) -> set[tuple[str, str]]:
    rows = memory.store.pool.reader().execute("SELECT episode_id, key FROM pattern_sources")
    return {(r[0], r[1]) for r in rows}


def _check_invariants(memory: Memory, episode_ids: list[str]) -> None:
    conn = memory.store.pool.reader()
    assert memory.learning.pattern_store.queue_size() == 0
    pending = conn.execute("SELECT count(*) FROM episodes WHERE extracted_at IS NULL").fetchone()
    assert pending[0] == 0
    assert {r[0] for r in conn.execute("SELECT DISTINCT episode_id FROM pattern_sources")} == set(
        episode_ids
    )
    # Every (episode, key) is evidence of exactly one pattern, and that pattern is live.
    doubled = conn.execute(
        "SELECT episode_id, key FROM pattern_sources GROUP BY episode_id, key HAVING count(*) > 1"
    ).fetchall()
    assert doubled == []
    dead = conn.execute(
        "SELECT count(*) FROM pattern_sources s JOIN patterns p ON p.id = s.pattern_id "
        "WHERE p.merged_into IS NOT NULL"
    ).fetchone()
    assert dead[0] == 0
    for pattern in memory.list_patterns(limit=1000):
        distinct = conn.execute(
            "SELECT count(DISTINCT episode_id) FROM pattern_sources WHERE pattern_id = ?",
            (str(pattern.id),),
        ).fetchone()[0]
        assert pattern.occurrences == distinct


def _settings(root: Path, model_cache_dir: Path) -> Settings:
    return Settings(data_dir=root, model_cache_dir=model_cache_dir)


def test_kill_during_extraction_loses_and_duplicates_nothing(
    tmp_path: Path, model_cache_dir: Path, embedder: Any
) -> None:
    data, reference = tmp_path / "data", tmp_path / "reference"
    with Memory(_settings(data, model_cache_dir), embedder=embedder, background=False) as m:
        ids = run_scenario(m)
        assert m.learning.pattern_store.queue_size() == len(ids) == 54
    shutil.copytree(data, reference)

    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORYD_")}
    env |= {"MEMORYD_CONFIG": os.environ["MEMORYD_CONFIG"], "HF_HUB_OFFLINE": "1"}
    errors = tmp_path / "child.err"
    done = 0
    with (
        errors.open("w") as err,
        subprocess.Popen(
            [sys.executable, str(CHILD), str(data), str(model_cache_dir)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
        ) as child,
    ):
        try:
            assert child.stdout is not None
            for line in child.stdout:
                done = json.loads(line)["done"]
                if done >= 20:
                    break
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(30)
    assert done >= 20, f"child stopped early: {errors.read_text()[-2000:]}"

    with Memory(_settings(data, model_cache_dir), embedder=embedder, background=False) as m:
        left = m.learning.pattern_store.queue_size()
        assert left in (54 - done, 54 - done - 1)  # it may have committed one more before dying
        report = m.extract_patterns()
        assert report.episodes == left
        _check_invariants(m, ids)
        resumed = _evidence(m)
    with Memory(_settings(reference, model_cache_dir), embedder=embedder, background=False) as m:
        assert m.extract_patterns().episodes == 54
        _check_invariants(m, ids)
        assert _evidence(m) == resumed


def test_close_with_queued_work_and_reopen(
    tmp_path: Path, model_cache_dir: Path, embedder: Any
) -> None:
    settings = _settings(tmp_path / "data", model_cache_dir)
    with Memory(settings, embedder=embedder) as m:  # background worker running
        ids = run_scenario(m)
    with Memory(settings, embedder=embedder, background=False) as m:
        m.extract_patterns()
        _check_invariants(m, ids)
        again = m.extract_patterns()  # nothing left: re-running is a no-op
        assert again.episodes == 0 and again.patterns_created == 0
