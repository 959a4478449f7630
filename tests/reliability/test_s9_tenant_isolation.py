"""S9 tenant isolation: random operations over 2-5 namespaces against a model.

A hypothesis state machine adds (with and without caller-supplied ids: fresh
ones, ids taken in the same or another namespace, and the deterministic
kv/state ids of the same or another namespace), sets and reads kv and state
values, appends turns, updates, supersedes, deletes, gets, lists, searches,
walks histories and exports, each through one face: the library
(``Memory``) or a real daemon on a free loopback port (``Client`` over
REST, raw HTTP for statuses and bodies, and the real MCP client for tools
and ``memory://{namespace}/{id}`` resources). Pass (RELIABILITY.md S9):

* 0 cross-tenant results: every entry returned is of the asked namespace
  and equals the model's;
* a foreign id answers 404 ``not_found`` with the message and details of a
  never-used id (no existence leak), on every face;
* a collision inside a namespace is 409 ``id_conflict``; no 5xx, and no
  error carries the store's path;
* at the end of each example the export of each namespace equals the model.

Sizes: CI runs ``MEMORYD_S9_EXAMPLES`` (default 25) examples of up to
``MEMORYD_S9_STEPS`` (default 50) steps per face. Full size::

    MEMORYD_S9_EXAMPLES=200 MEMORYD_S9_STEPS=100 .venv/bin/pytest \\
        tests/reliability/test_s9_tenant_isolation.py -s
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memoryd import Client, Memory, Settings
from memoryd.server import create_app
from memoryd.server.testing import serve_in_thread

from ._s9_machine import EXAMPLES, STEPS, TenantMachine
from ._s9_support import MAX_ROUNDS, DaemonFace, Face, run_until_seen

pytestmark = [pytest.mark.slow, pytest.mark.timeout(max(900, MAX_ROUNDS * EXAMPLES * STEPS * 2))]


#: What a run must have met at least once (else it proved nothing).
MUST_SEE = {
    "dedup",
    "id_conflict",
    "id_of_another_namespace_accepted",
    "key_id_held_by_another_kind",
    "foreign_id_not_found",
}

#: And through the daemon: raw HTTP, MCP tools and MCP resources too.
DAEMON_MUST_SEE = {
    "get via http",
    "get via mcp",
    "get via resource",
    "delete via http",
    "delete via mcp",
}


def _run(face: Face) -> None:
    seen: Counter[str] = Counter()
    machine = type(f"TenantMachine_{face.name}", (TenantMachine,), {"face": face, "seen": seen})
    must = MUST_SEE | (DAEMON_MUST_SEE if face.has_daemon else set())
    rounds = run_until_seen(machine, seen, must, EXAMPLES, STEPS)
    print(f"S9 {face.name}: {rounds} x {EXAMPLES} examples x {STEPS} steps, {dict(seen)}")
    assert set(seen) >= must, must - set(seen)


@pytest.fixture
def s9_settings(tmp_path: Path, model_cache_dir: Path) -> Settings:
    # No rate limit: the state machine sends hundreds of requests a second by design.
    return Settings(
        data_dir=tmp_path / "data", model_cache_dir=model_cache_dir, rate_limit_token_rps=0
    )


def test_s9_through_the_library(s9_settings: Settings, embedder: Any) -> None:
    with Memory(s9_settings, embedder=embedder) as memory:
        _run(Face(memory, str(s9_settings.data_dir)))


@pytest.fixture
def daemon_face(s9_settings: Settings, embedder: Any) -> Iterator[DaemonFace]:
    memory = Memory(s9_settings, embedder=embedder)
    app = create_app(s9_settings, memory)
    token = s9_settings.resolved_token_file.read_text().strip()
    with serve_in_thread(app) as url:
        client = Client(s9_settings, base_url=url, timeout_s=60.0)
        face = DaemonFace(client, str(s9_settings.data_dir), url, token)
        yield face
        face.close()
        client.close()
    memory.close()


def test_s9_through_the_daemon(daemon_face: DaemonFace) -> None:
    _run(daemon_face)
