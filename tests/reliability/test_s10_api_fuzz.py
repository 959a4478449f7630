"""S10: no input gives a 5xx; every answer matches the OpenAPI document.

schemathesis (its ``st run`` CLI, all phases: examples, coverage, fuzzing,
stateful; positive and negative data) runs against a real daemon (uvicorn
on a free loopback port, a real SQLite file, the real embedding model)
with the bearer token and the rate limits off. Checks: ``not_a_server_error``,
``response_schema_conformance``, ``status_code_conformance`` and a
maximum response time of 2 s (scaled by ``tests/waits.py``). Afterwards the
store passes ``consistency_report``: nothing the fuzzer sent corrupted it.

``make test`` runs :data:`MAX_EXAMPLES` examples per operation (about 2,800
cases, mostly from the coverage phase); the full-size run is
``MEMORYD_S10_MAX_EXAMPLES=200`` (about 10,000 cases). ``MEMORYD_S10_SEED``
picks the seed (1). schemathesis writes its reports into the test's
temporary folder, and its example database is off, so nothing lands in the
repository.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import waits
from memoryd import Memory, Settings
from memoryd.embeddings import Embedder
from memoryd.server import create_app
from memoryd.server.testing import serve_in_thread
from memoryd.store.maintenance import consistency_report

from ._support import child_env, env_int, percentile

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[1] / "src"
ST = Path(sys.executable).with_name("st")
#: Examples per API operation in ``make test`` (``MEMORYD_S10_MAX_EXAMPLES``).
MAX_EXAMPLES = env_int("MEMORYD_S10_MAX_EXAMPLES", 5)
SEED = env_int("MEMORYD_S10_SEED", 1)
#: The S10 bound on one response, in seconds (before load scaling).
MAX_RESPONSE_S = 2.0
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"
_ELAPSED = re.compile(rb'"elapsed":([0-9.eE+-]+)')
_TOTALS = re.compile(r"(\d+) generated, (\d+) passed")

#: Budget of the schemathesis run, in seconds before load scaling (grows with the examples).
RUN_BUDGET_S = 120.0 + 0.5 * 45 * MAX_EXAMPLES

pytestmark = [pytest.mark.slow, pytest.mark.timeout(waits.budget(RUN_BUDGET_S) + 120)]


def _elapsed(report_dir: Path) -> list[float]:
    """Response times (seconds) of every request, from schemathesis' NDJSON report."""
    out: list[float] = []
    for path in report_dir.glob("*.ndjson"):
        with path.open("rb") as fh:
            for line in fh:
                out.extend(float(m) for m in _ELAPSED.findall(line))
    return out


def test_s10_fuzzed_requests_never_give_5xx_and_match_the_schema(
    tmp_path: Path, model_cache_dir: Path, embedder: Embedder
) -> None:
    if not ST.exists():
        pytest.fail(f"schemathesis is not installed next to {sys.executable} (pip install .[dev])")
    settings = Settings(
        data_dir=tmp_path / "data",
        model_cache_dir=model_cache_dir,
        rate_limit_token_rps=0,
        rate_limit_session_rps=0,
    )
    memory = Memory(settings, embedder=embedder)
    try:
        app = create_app(settings, memory)
        token = settings.resolved_token_file.read_text().strip()
        report_dir = tmp_path / "report"
        env = child_env()
        env["SCHEMATHESIS_HOOKS"] = "_s10_hooks"
        env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(SRC)])
        env["NO_COLOR"] = "1"
        with serve_in_thread(app) as base_url:
            cmd = [
                str(ST),
                "run",
                f"{base_url}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                CHECKS,
                "--max-response-time",
                str(waits.budget(MAX_RESPONSE_S)),
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--mode",
                "all",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                str(SEED),
                "--workers",
                "1",
                "--generation-database",
                "none",
                "--no-color",
                "--report",
                "junit,ndjson",
                "--report-dir",
                str(report_dir),
            ]
            run = subprocess.run(
                cmd,
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=waits.budget(RUN_BUDGET_S),
                check=False,
            )
        output = run.stdout + run.stderr
        assert run.returncode == 0, output[-8000:]
        totals = _TOTALS.search(output)
        assert totals, output[-3000:]
        generated, passed = int(totals.group(1)), int(totals.group(2))
        assert generated == passed and generated >= 45 * min(MAX_EXAMPLES, 5), output[-3000:]
        times = _elapsed(report_dir)
        assert len(times) >= generated
        assert max(times) <= waits.budget(MAX_RESPONSE_S)
        print(
            f"S10: {generated} cases, 0 failures; response p50 {percentile(times, 50) * 1000:.1f}"
            f" ms, p99 {percentile(times, 99) * 1000:.1f} ms, max {max(times) * 1000:.0f} ms"
        )
        report = consistency_report(memory.store)
        assert report["ok"], report
    finally:
        memory.close()
