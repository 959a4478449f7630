"""RELIABILITY.md S11: atheris on the path normalizer, the FTS5 query builder and ingest.

Each target of ``_fuzz/targets.py`` runs in its own process (atheris owns the
process: libFuzzer's loop, coverage instrumentation) for
``MEMORYD_S11_RUNS`` executions (default 20,000 each; the row's figure is
1,000,000). A target fails on any exception outside its contract (a stable
memoryd/pydantic validation error) and on a broken invariant (a resolved path
outside its root). atheris prints ``Done N in T second(s)`` when every run passed;
crash inputs are written to the test's tmp dir and named in the failure.

The REST/MCP half of the row (a bad query is a 4xx or plain text, never a
500) is ``tests/server/test_s11_rest_search_queries.py``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import waits

from ._support import child_env, env_int

pytest.importorskip("atheris", reason="atheris is not installed (pip install -e '.[dev]')")

TARGETS = Path(__file__).resolve().parent / "_fuzz" / "targets.py"
RUNS = env_int("MEMORYD_S11_RUNS", 20_000)
SRC = Path(__file__).resolve().parents[2] / "src"
#: Budget per run, in seconds: the slowest target (fts) took ~0.3 ms a run on 2 busy cores.
SECONDS_PER_RUN = 1e-3
BUDGET_S = waits.budget(120 + RUNS * SECONDS_PER_RUN)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(int(BUDGET_S) + 60)]


@pytest.mark.parametrize("target", ["paths", "fts", "ingest"])
def test_s11_target_survives_fuzzing(target: str, tmp_path: Path) -> None:
    env = child_env()
    env["PYTHONPATH"] = f"{SRC}:{env['PYTHONPATH']}" if env.get("PYTHONPATH") else str(SRC)
    env["TMPDIR"] = str(tmp_path)
    artifacts = tmp_path / "crashes"
    artifacts.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            str(TARGETS),
            target,
            f"-atheris_runs={RUNS}",
            f"-artifact_prefix={artifacts}/",
            "-seed=1",
            "-print_final_stats=1",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=BUDGET_S,
        check=False,
    )
    tail = done.stderr[-4000:]
    crashes = sorted(p.name for p in artifacts.iterdir())
    assert done.returncode == 0, f"{target}: exit {done.returncode}, crash inputs {crashes}\n{tail}"
    assert not crashes, (crashes, tail)
    ran = re.search(r"Done (\d+) (?:runs )?in", done.stderr)
    assert ran is not None, tail
    assert int(ran.group(1)) == RUNS, tail
