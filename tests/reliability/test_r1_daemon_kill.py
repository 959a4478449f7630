"""R1 through HTTP: kill -9 of a real ``memoryd serve`` under client writes loses no acked write.

Each cycle: ``MEMORYD_R1_HTTP_WRITERS`` client threads (``_r1http_writers.py``)
write over HTTP every REST write kind (``POST /v1/memories``, ``/memories/batch``,
``PATCH`` and ``DELETE /memories/{id}``, ``/memories/{id}/supersede``, session
messages, ``PUT``/``DELETE /v1/kv/{key}``, session state) and append each
acknowledged write (the 2xx answer's id and content) to an fsynced client-side
ack log before counting it. At U(50, 400) ms after the writes start the daemon
is SIGKILLed. Then:

* the killed store, copied as it lies, is opened in-process and must pass
  ``consistency_report`` (``quick_check``; FTS, vectors + queue and HNSW id
  sets equal to the table), the check of ``test_r1_kill_during_ingest.py``;
* a new ``memoryd serve`` is started on the store, and the time from its
  spawn to the first ``/readyz`` 200 is recorded;
* every write in the ack log (read back from disk) is in the daemon's
  ``/v1/export`` with the acknowledged content or value (deleted ones absent),
  this cycle's writes also through their own GET routes, and a vector search
  finds the last acknowledged memory. The one request per writer in flight at
  the kill may have committed or not (it was never acknowledged); entries that
  committed without an acknowledgement are counted and must stay from then on.

The restarted daemon takes the next cycle's writes. Rate limits are off in
the daemon (``MEMORYD_RATE_LIMIT_*_RPS=0``): R1 is about the store, not S6.

Sizes: ``MEMORYD_R1_HTTP_CYCLES`` (default 10; 100 is the RELIABILITY.md run),
``MEMORYD_R1_HTTP_WRITERS`` (default 4), seed ``MEMORYD_R1_SEED``.

Ready within 2 s: the engine's part of a restart, opening the killed store
(WAL recovery, vector index load or rebuild) with the model loaded, is timed
on the copy and asserted within ``MEMORYD_R1_HTTP_READY_S`` (default 2.0, the
R1 figure, times ``MEMORYD_TEST_TIMEOUT_SCALE``) every cycle, as in
``test_r1_kill_during_ingest.py``. The daemon's whole restart, from ``Popen``
to its first ``/readyz`` 200, is measured and reported (``-s``), split with
the daemon's log (:meth:`ServeProcess.phases`), but not asserted: nearly all
of it is CPU work that does not depend on the store (Python importing
FastAPI, pydantic-settings and numpy; onnxruntime loading and warming up the
model), which a loaded machine stretches at will.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import waits
from memoryd import Memory, Settings
from memoryd.embeddings import Embedder
from memoryd.store.maintenance import consistency_report

from ._daemon import SCRIPT, AckLog, ServeProcess
from ._r1http_writers import Owned, Writer, fingerprint
from ._support import env_int, percentile

CYCLES = env_int("MEMORYD_R1_HTTP_CYCLES", 10)
WRITERS = env_int("MEMORYD_R1_HTTP_WRITERS", 4)
SEED = env_int("MEMORYD_R1_SEED", 20261203)
READY_S = float(os.environ.get("MEMORYD_R1_HTTP_READY_S", "") or "2.0")
KILL_WINDOW_S = (0.050, 0.400)
NO_RATE_LIMITS = {"MEMORYD_RATE_LIMIT_TOKEN_RPS": "0", "MEMORYD_RATE_LIMIT_SESSION_RPS": "0"}

pytestmark = [
    pytest.mark.slow,
    # ~7 s a cycle at load 10 on 2 cores, plus up to a backfill lease (50 s) at the end.
    pytest.mark.timeout(int(waits.budget(max(600, 30 * CYCLES)))),
    pytest.mark.skipif(not SCRIPT.exists(), reason="memoryd script not installed"),
]

Key = tuple[str, str]  # (namespace, id)


class Expected:
    """The states each entry may be in, from the ack log and the intents in flight.

    ``states[(ns, id)]`` is a set of fingerprints (``None``: deleted). An
    acknowledged record sets it to exactly its state; an intent in flight at a
    kill adds its state as an alternative; :meth:`settle` narrows every entry
    to what the restarted daemon showed (so it can never change again).
    """

    def __init__(self) -> None:
        self.states: dict[Key, set[str | None]] = {}
        self.applied = 0  # ack-log records applied so far
        self.committed_unacked = 0
        self.resolved_pending = Counter[str]()
        self.intended: dict[Key, str | None] = {}  # changes in flight at the last kill

    def apply(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Apply the log's records not yet applied; returns them (this cycle's acks)."""
        fresh = records[self.applied :]
        for rec in fresh:
            self.states[(rec["ns"], rec["id"])] = {rec["fp"]}
        self.applied = len(records)
        return fresh

    def allow(self, intents: list[dict[str, Any]]) -> None:
        """Intents that name an existing entry add their state as a possibility."""
        for intent in intents:
            if "id" in intent:
                key = (intent["ns"], intent["id"])
                self.states[key].add(intent["fp"])
                self.intended[key] = intent["fp"]

    def check(self, observed: dict[Key, str]) -> dict[str, list[Any]]:
        """Differences between the export and the acknowledged states."""
        lost = [k for k, ok in self.states.items() if None not in ok and k not in observed]
        changed = [
            (k, observed[k], ok)
            for k, ok in self.states.items()
            if k in observed and observed[k] not in ok
        ]
        return {"lost": lost, "changed": changed}

    def settle(self, observed: dict[Key, str]) -> None:
        """Take what the daemon showed as the one state of ambiguous and unacked entries."""
        for key, intended in self.intended.items():
            applied = observed.get(key) == intended
            self.resolved_pending["committed" if applied else "not committed"] += 1
            self.states[key] = {observed.get(key)}
        self.intended.clear()
        extra = observed.keys() - self.states.keys()
        self.committed_unacked += len(extra)
        for key in extra:
            self.states[key] = {observed[key]}


def _export(http: httpx.Client) -> dict[Key, str]:
    response = http.post("/v1/export")
    assert response.status_code == 200, response.text[:500]
    entries = [httpx.Response(200, content=line).json() for line in response.iter_lines() if line]
    return {(e["namespace"], e["id"]): fingerprint(e) for e in entries}


def _check_routes(http: httpx.Client, fresh: list[dict[str, Any]], expected: Expected) -> None:
    """This cycle's acknowledged writes through the GET route of their kind."""
    latest = {(r["ns"], r["id"]): r for r in fresh}
    for (ns, id), rec in latest.items():
        if expected.states[(ns, id)] != {rec["fp"]}:
            continue  # a later (unacknowledged) write to it committed
        params = {"namespace": ns}
        if rec["op"] in ("delete",):
            assert http.get(f"/v1/memories/{id}", params=params).status_code == 404, rec
        elif rec["op"] == "kv_delete":
            assert http.get(f"/v1/kv/{rec['key']}", params=params).status_code == 404, rec
        elif rec["op"] in ("kv", "counter"):
            got = http.get(f"/v1/kv/{rec['key']}", params=params)
            assert got.status_code == 200 and got.json()["value"] == rec["value"], (rec, got.text)
        elif rec["op"] == "state":
            got = http.get(f"/v1/sessions/{rec['session']}/state/{rec['key']}", params=params)
            assert got.status_code == 200 and got.json()["value"] == rec["value"], (rec, got.text)
        elif rec["op"] == "message":
            got = http.get(f"/v1/sessions/{rec['session']}/messages", params=params)
            turns = {m["id"]: m["content"] for m in got.json()}
            assert turns.get(id) == rec["content"], (rec, got.text[:300])
        else:
            got = http.get(f"/v1/memories/{id}", params=params)
            assert got.status_code == 200 and got.json()["content"] == rec["content"], rec


def _last_added(fresh: list[dict[str, Any]], expected: Expected) -> dict[str, Any] | None:
    """This cycle's last acknowledged new memory, if no later write changed it."""
    for rec in reversed(fresh):
        if rec["op"] in ("add", "batch"):
            return rec if expected.states[(rec["ns"], rec["id"])] == {rec["fp"]} else None
    return None


def _vector_finds(http: httpx.Client, rec: dict[str, Any]) -> bool:
    """A vector search for ``rec``'s content has it among the top 5 (superseded included)."""
    body = {
        "query": rec["content"],
        "namespace": rec["ns"],
        "mode": "vector",
        "limit": 5,
        "include_superseded": True,
    }
    got = http.post("/v1/search", json=body)
    assert got.status_code == 200, got.text[:300]
    return rec["id"] in [h["entry"]["id"] for h in got.json()["hits"]]


def _pending_embeddings(http: httpx.Client) -> int:
    got = http.get("/v1/stats")
    assert got.status_code == 200, got.text[:300]
    return int(got.json()["pending_embeddings"])


def _drain_outbox(http: httpx.Client) -> float:
    """Wait until the daemon has embedded every queued write; the seconds it took.

    Rows a killed backfill had leased wait for the lease to expire
    (``memoryd.workers.backfill_lease_s``: 50 s with the default settings).
    Then every row has its vector (``vectors == total`` in ``/v1/stats``).
    """
    started = time.monotonic()

    def drained() -> dict[str, Any] | None:
        got = http.get("/v1/stats")
        assert got.status_code == 200, got.text[:300]
        body: dict[str, Any] = got.json()
        return body if body["pending_embeddings"] == 0 else None

    body = waits.wait_until(drained, timeout_s=180, message="backfill of the queued embeddings")
    assert body["vectors"] == body["total"], body
    return time.monotonic() - started


def _check_killed_copy(
    data_dir: Path, copy: Path, make_settings: Callable[..., Settings], embedder: Embedder
) -> float:
    """Open a copy of the killed store in-process; ``consistency_report`` must be ok.

    Returns the in-process open time (s): the engine's share of a restart.
    """
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(data_dir, copy, ignore=shutil.ignore_patterns("logs"))
    started = time.perf_counter()
    memory = Memory(settings=make_settings(copy), embedder=embedder, background=False)
    open_s = time.perf_counter() - started
    try:
        assert memory.ready
        report = consistency_report(memory.store)
        assert report["ok"], report
    finally:
        memory.close()
    return open_s


def _kill_during_writes(
    daemon: ServeProcess, cycle: int, acks: AckLog, owned: list[Owned], rng: random.Random
) -> tuple[list[Writer], float]:
    go = threading.Barrier(WRITERS + 1)
    writers = [
        Writer(n, cycle, daemon.url, daemon.token, acks, owned[n], SEED * 1000 + cycle * 64 + n, go)
        for n in range(WRITERS)
    ]
    for writer in writers:
        writer.start()
    go.wait(waits.budget(60))
    started = time.monotonic()
    time.sleep(max(0.0, started + rng.uniform(*KILL_WINDOW_S) - time.monotonic()))
    killed_at = daemon.kill()
    for writer in writers:
        writer.join(waits.budget(60))
        assert not writer.is_alive(), f"{writer.name} still running after the kill"
    failures = [w.failure for w in writers if w.failure is not None]
    assert not failures, failures
    return writers, killed_at - started


def test_r1_http_kill9_loses_no_acknowledged_write(
    tmp_path: Path,
    embedder: Embedder,
    make_settings: Callable[..., Settings],
) -> None:
    data_dir = tmp_path / "store"
    settings = make_settings(data_dir)
    logs = tmp_path / "logs"
    logs.mkdir()
    acks = AckLog(tmp_path / "acks.jsonl")
    rng = random.Random(SEED)
    owned = [Owned() for _ in range(WRITERS)]
    expected = Expected()
    ready_s: list[float] = []
    phases: dict[str, list[float]] = {"start": [], "open": [], "serve": []}
    per_cycle: list[dict[str, float]] = []
    ready_cpu_s: list[float] = []
    engine_open_s: list[float] = []
    queued_at_ready: list[int] = []
    search_later: list[dict[str, Any]] = []
    delays: list[float] = []
    broke: Counter[str] = Counter()
    in_flight = 0
    load_at_start = os.getloadavg()[0]
    daemon = ServeProcess(settings, logs / "daemon-0.log", NO_RATE_LIMITS)
    first_ready_s = daemon.wait_ready()  # a new store: not a restart
    try:
        for cycle in range(CYCLES):
            writers, delay = _kill_during_writes(daemon, cycle, acks, owned, rng)
            delays.append(delay)
            broke.update(w.broke or "none" for w in writers)
            intents = [w.pending for w in writers if w.pending is not None]
            in_flight += len(intents)
            engine_open_s.append(
                _check_killed_copy(data_dir, tmp_path / "copy", make_settings, embedder)
            )
            assert engine_open_s[-1] <= waits.budget(READY_S), (
                f"cycle {cycle}: the killed store took {engine_open_s[-1]:.2f} s to open"
            )

            daemon = ServeProcess(settings, logs / f"daemon-{cycle + 1}.log", NO_RATE_LIMITS)
            ready_s.append(daemon.wait_ready())
            split = daemon.phases()
            for phase, seconds in split.items():
                phases[phase].append(seconds)
            assert daemon.ready_cpu_s is not None
            ready_cpu_s.append(daemon.ready_cpu_s)
            per_cycle.append(
                {
                    "ready_s": ready_s[-1],
                    "cpu_s": ready_cpu_s[-1],
                    **split,
                    "load1": os.getloadavg()[0],
                }
            )
            fresh = expected.apply(acks.read())
            expected.allow(intents)
            with daemon.client() as http:
                observed = _export(http)
                problems = expected.check(observed)
                assert not problems["lost"], f"cycle {cycle}: acked writes lost {problems}"
                assert not problems["changed"], f"cycle {cycle}: acked writes changed {problems}"
                expected.settle(observed)
                _check_routes(http, fresh, expected)
                # Writes may be acknowledged with their embedding queued (the outbox,
                # memoryd/write_vectors.py); vector search sees them once backfilled.
                queued_at_ready.append(_pending_embeddings(http))
                last = _last_added(fresh, expected)
                if last is not None and queued_at_ready[-1] == 0:
                    assert _vector_finds(http, last), f"cycle {cycle}: vector search lost {last}"
                elif last is not None:
                    search_later.append(last)
        with daemon.client() as http:
            final_drain_s = _drain_outbox(http)
            missed = [
                rec
                for rec in search_later
                if expected.states[(rec["ns"], rec["id"])] == {rec["fp"]}
                and not _vector_finds(http, rec)
            ]
            assert not missed, f"vector search lost {len(missed)} memories, e.g. {missed[:3]}"
    finally:
        code = daemon.stop()
        acks.close()
        # Per-cycle restart times beside the 1-minute load average, for the report.
        (tmp_path / "restarts.json").write_text(json.dumps(per_cycle, indent=1))
    assert code == 0, f"the last daemon did not stop cleanly: exit {code}"
    summary = {
        "load_avg_1min_start_end": [round(load_at_start, 1), round(os.getloadavg()[0], 1)],
        "cycles": CYCLES,
        "writers": WRITERS,
        "acked": expected.applied,
        "lost": 0,
        "committed_unacked": expected.committed_unacked,
        "in_flight_at_kill": in_flight,
        "in_flight_changes": dict(expected.resolved_pending),
        "writer_end": dict(broke),
        "kill_delay_ms": (round(1000 * min(delays)), round(1000 * max(delays))),
        "first_start_ms": round(1000 * first_ready_s),
        "restart_ready_ms_p50_p95_max": [
            round(1000 * percentile(ready_s, p)) for p in (50, 95, 100)
        ],
        "restart_cpu_ms_p50_p95_max": [
            round(1000 * percentile(ready_cpu_s, p)) for p in (50, 95, 100)
        ],
        **{
            f"restart_{phase}_ms_p50_p95_max": [
                round(1000 * percentile(v, p)) for p in (50, 95, 100)
            ]
            for phase, v in phases.items()
        },
        "restarts_with_queued_embeddings": sum(q > 0 for q in queued_at_ready),
        "queued_embeddings_at_ready_max": max(queued_at_ready),
        "final_outbox_drain_ms": round(1000 * final_drain_s),
        "engine_open_ms_p50_p95_max": [
            round(1000 * percentile(engine_open_s, p)) for p in (50, 95, 100)
        ],
    }
    print(f"\nR1 http: {summary}")
    assert expected.applied > 0, "no write was acknowledged"
    assert broke["none"] == 0, f"a writer ended without a connection error: {broke}"
