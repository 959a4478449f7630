"""R9 model-based state: a hypothesis state machine with clean restarts and kill -9.

Each example opens a fresh store in a child process (``_r9_support.StoreProcess``:
forked from ``_workers/machine.py --fork-server``, commands over a named pipe,
each answered only after the engine call returned) and drives it with random
operations over two namespaces: add (memory/chunk, with and without a
caller id, with user/agent ids and tags; dedup of a stored text), append
conversation turns, update, supersede, delete, get, list (kinds, session,
tags, history), keyword search for a unique token, kv and state
set/get/delete, the last N turns of a session, forget (namespace, user,
agent, narrowed to a namespace or not), a clean restart (``Memory.close``
and reopen), kill -9 between two calls, and kill -9 0-40 ms after an
add, delete or kv set was sent (then reopen). A pure-Python model
(``_s9_support.Model``, the engine semantics of docs/ARCHITECTURE.md "Write
path" and "Deleting and forgetting") says what every read must return. Pass
(RELIABILITY.md R9): 0 divergences, that is

* every answer equals the model's (entries field by field; errors by code);
* after every step, including right after a kill, the store's full export
  equals the model (every acknowledged write is there, nothing deleted came
  back) and ``consistency_report`` is ok (quick_check; FTS, vectors + queue
  and HNSW id sets equal the table);
* a write in flight at a kill committed entirely or not at all, and
  committed if its answer was printed (the model adopts what it finds);
* a keyword search for a stored unique token finds its current entry, and
  never returns a deleted, superseded or foreign entry. Ranking is not modelled.

Not covered: the Qdrant toggle of the RELIABILITY.md row (memoryd has no
Qdrant backend yet); ranking; vector search results (R1 checks those after kills).
The split: ``_r9_machine.py`` holds the example's state, choices and reads;
this file the writes, restarts, kills, the invariant and the run.

Sizes: ``MEMORYD_R9_EXAMPLES`` (default 20) examples of up to
``MEMORYD_R9_STEPS`` (default 30) steps. Full size::

    MEMORYD_R9_EXAMPLES=200 MEMORYD_R9_STEPS=50 HF_HUB_OFFLINE=1 .venv/bin/pytest \\
        tests/reliability/test_r9_state_machine.py -s
"""

from __future__ import annotations

import itertools
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    initialize,
    invariant,
    rule,
)

from ._r9_machine import ReadingMachine
from ._r9_support import (
    AGENTS,
    KEYS,
    SESSIONS,
    TAGS,
    USERS,
    VALUES,
    Failure,
    StoreProcess,
    check_entry,
    check_failure,
    pick,
)
from ._s9_support import MAX_ROUNDS, Row, kv_id, run_until_seen, state_id, value_content
from ._support import ForkServer, env_int

EXAMPLES = env_int("MEMORYD_R9_EXAMPLES", 20)
STEPS = env_int("MEMORYD_R9_STEPS", 30)
#: The operations of a step, repeated by weight.
OPS = (
    *("add", "supersede", "append", "update", "set_value", "delete", "read_value", "search"),
    *("forget", "list_entries", "kill_during_write", "add", "get", "last_messages"),
    *("supersede", "delete"),
    *("set_value", "append", "restart", "delete_value", "search", "kill", "add", "read_value"),
)

_RUNS = itertools.count()


pytestmark = [pytest.mark.slow, pytest.mark.timeout(max(900, MAX_ROUNDS * EXAMPLES * STEPS * 3))]


class StoreMachine(ReadingMachine):
    """One example: a fresh store in a child process, against the model."""

    server: ForkServer
    root: Path
    model_cache: Path

    @invariant()
    def store_equals_model(self) -> None:
        """The whole store (export) equals the model; its indexes equal its table."""
        if self.store is None:
            return
        self.seen["checks"] += 1
        snapshot = self._store.call("snapshot")
        report = snapshot["consistency"]
        assert report["ok"], report
        stored = {(e["namespace"], e["id"]): e for e in snapshot["entries"]}
        missing = set(self.model.rows) - set(stored)
        assert not missing, f"acknowledged entries lost: {sorted(missing)}"
        assert set(stored) == set(self.model.rows), set(stored) - set(self.model.rows)
        for key, entry in stored.items():
            check_entry(entry, self.model.rows[key])

    # --- lifecycle ----------------------------------------------------------
    @initialize()
    def open_store(self) -> None:
        run = next(_RUNS)
        logs = self.root / "logs"
        self.store = StoreProcess(
            self.server, self.root / f"store-{run}", self.model_cache, logs, f"r9-{run}"
        )
        self.store.open()

    @rule(data=st.data(), op=st.sampled_from(OPS))
    def step(self, data: st.DataObject, op: str) -> None:
        """One operation of :data:`OPS` (one rule, so that hypothesis' swarm testing,
        which turns whole rules off per example, does not starve any of them)."""
        self.seen[f"op {op}"] += 1
        getattr(self, op)(data)

    def restart(self, data: st.DataObject) -> None:
        """A clean restart: ``Memory.close`` and reopen."""
        self._reopen("restart")

    def kill(self, data: st.DataObject) -> None:
        """kill -9 between two calls, and reopen: every acknowledged write is there."""
        self._reopen("kill")

    def _reopen(self, how: str) -> None:
        if how == "kill":
            self.seen["acknowledged writes at a kill"] += self.unsettled
            self._store.kill()
        else:
            self._store.restart()
        self.seen[f"{how}s"] += 1
        self.unsettled = 0

    def kill_during_write(self, data: st.DataObject) -> None:
        """kill -9 ``delay_ms`` after a write was sent: it committed entirely or not at all,
        and committed if it was acknowledged."""
        op = data.draw(st.sampled_from(["add", "delete", "kv_set"]))
        delay_ms = data.draw(st.integers(0, 40))
        ns = self._namespace(data)
        if op == "add":
            self.tokens.append(f"tok{len(self.tokens)}q")
            content = f"note {self.tokens[-1]} in flight"
            self._store.submit("add", content, namespace=ns)
        elif op == "delete":
            id = self._target(data, ns)
            self._store.submit("delete", id, namespace=ns)
        else:
            key, value = data.draw(st.sampled_from(KEYS)), data.draw(VALUES)
            self._store.submit("kv_set", key, value, namespace=ns)
        time.sleep(delay_ms / 1000)  # where the kill lands; no outcome depends on it
        answered = self._store.kill()
        self.seen["kills during a write"] += 1
        self.unsettled = 0
        if op == "add":
            stored = self._store.call("list", namespace=ns, limit=1000, include_superseded=True)
            found = [e for e in stored if e["content"] == content]
            assert len(found) <= 1, found
            if answered:
                assert found and found[0]["id"] == answered[0]["id"], (answered, found)
            if found:
                self.model.insert(ns, found[0]["id"], "memory", content)
            if found and not answered:
                self.seen["add committed, killed before its answer"] += 1
        elif op == "delete":
            gone = isinstance(self._store.call("get", id, namespace=ns), Failure)
            if answered:
                assert gone, (answered, id)
            if gone and self.model.get(ns, id) is not None:
                self.model.delete(ns, id)
        else:
            row = self.model.get(ns, kv_id(ns, key))
            now = self._store.call("kv_get", key, namespace=ns)
            before = Failure if row is None else row.value
            assert now == value or (isinstance(now, Failure) if row is None else now == before), (
                now,
                value,
                before,
            )
            assert not answered or now == value, (answered, now, value)
            if now == value and row is None:
                row = self.model.insert(ns, kv_id(ns, key), "kv", value_content(key, value))
            if now == value and row is not None:
                row.content, row.value = value_content(key, value), value
        outcome = "acknowledged" if answered else "unacknowledged"
        self.seen[f"{op} in flight at a kill: {outcome}"] += 1

    def teardown(self) -> None:
        if self.store is not None:
            self.store.close()
            shutil.rmtree(self.store.data_dir, ignore_errors=False)

    # --- writes -------------------------------------------------------------
    def add(self, data: st.DataObject) -> None:
        ns, content = self._namespace(data), self._content(data)
        kind = data.draw(st.sampled_from(["memory", "memory", "chunk"]))
        mode = data.draw(st.sampled_from(["none", "none", "fresh", "taken"]))
        own = [i for n, i in self.model.ids() if n == ns]
        given = {
            "none": None,
            "fresh": str(data.draw(st.uuids())),
            "taken": pick(data, own),
        }[mode]
        owners = self._owners(data)
        tags = data.draw(st.lists(st.sampled_from(TAGS), unique=True, max_size=2))
        extra = {**owners, **({} if given is None else {"id": given})}
        got = self._store.call("add", content, namespace=ns, kind=kind, tags=tags, **extra)
        known = self.model.duplicate(ns, kind, content)
        if known is not None:  # the stored entry answers, whatever id or owners were given
            check_entry(got, known)
            self.seen["dedup"] += 1
        elif given is not None and self.model.get(ns, given) is not None:
            check_failure(got, "id_conflict", given)
            self.seen["id_conflict"] += 1
        else:
            assert isinstance(got, dict), got
            assert given is None or got["id"] == given
            row = self.model.insert(ns, got["id"], kind, content, tags=tuple(tags), **owners)
            check_entry(got, row)
            self.unsettled += 1

    def append(self, data: st.DataObject) -> None:
        ns, content = self._namespace(data), self._content(data)
        session = data.draw(st.sampled_from(SESSIONS))
        role = data.draw(st.sampled_from(["user", "assistant"]))
        owners = self._owners(data)
        got = self._store.call("append", session, content, role=role, namespace=ns, **owners)
        assert isinstance(got, dict), got
        assert got["metadata"] == {"role": role}
        row = self.model.insert(ns, got["id"], "message", content, session_id=session, **owners)
        check_entry(got, row)
        self.unsettled += 1

    def update(self, data: st.DataObject) -> None:
        ns = self._namespace(data)
        id = self._target(data, ns)
        what = data.draw(st.sampled_from(["content", "tags", "both"]))
        change: dict[str, Any] = {}
        if what != "tags":
            change["content"] = self._content(data)
        if what != "content":
            change["tags"] = data.draw(st.lists(st.sampled_from(TAGS), unique=True, max_size=2))
        got = self._store.call("update", id, namespace=ns, **change)
        row = self.model.get(ns, id)
        if row is None:
            check_failure(got, "not_found", id)
            return
        row.content = change.get("content", row.content)
        row.tags = tuple(change.get("tags", row.tags))
        check_entry(got, row)
        self.unsettled += 1

    def supersede(self, data: st.DataObject) -> None:
        ns = self._namespace(data)
        id, content = self._target(data, ns, current=True), self._content(data)
        mode = data.draw(st.sampled_from(["none", "fresh", "taken"]))
        own = [i for n, i in self.model.ids() if n == ns]
        new_id = {
            "none": None,
            "fresh": str(data.draw(st.uuids())),
            "taken": pick(data, own),
        }[mode]
        body = {"content": content, **({} if new_id is None else {"id": new_id})}
        got = self._store.call("supersede", id, body, namespace=ns)
        row = self.model.get(ns, id)
        if row is None:
            check_failure(got, "not_found", id)
        elif row.superseded_by is not None:
            check_failure(got, "conflict")
        elif new_id is not None and self.model.get(ns, new_id) is not None:
            check_failure(got, "id_conflict", new_id)
        else:
            assert isinstance(got, dict), got
            new = self.model.insert(
                ns,
                got["id"],
                row.kind,
                content,
                supersedes=id,
                session_id=row.session_id,
                user_id=row.user_id,
                agent_id=row.agent_id,
                tags=row.tags,
            )
            row.superseded_by = new.id
            check_entry(got, new)
            self.seen["superseded"] += 1
            self.unsettled += 1

    def delete(self, data: st.DataObject) -> None:
        ns = self._namespace(data)
        id = self._target(data, ns)
        newer = [r.id for r in self.model.in_namespace(ns) if r.supersedes is not None]
        aim, newest = data.draw(st.integers(0, 2)) == 0, pick(data, newer)
        if aim and newest is not None:  # what it superseded is current again
            id = newest
        got = self._store.call("delete", id, namespace=ns)
        if self.model.get(ns, id) is None:
            check_failure(got, "not_found", id)
            return
        assert got is None, got
        self.model.delete(ns, id)
        self.seen["deleted"] += 1
        self.unsettled += 1

    def forget(self, data: st.DataObject) -> None:
        scope: dict[str, str] = {}
        how = data.draw(st.sampled_from(["namespace", "user", "agent"]))
        if how != "namespace":
            key = f"{how}_id"
            scope[key] = data.draw(st.sampled_from(USERS[1:] if how == "user" else AGENTS[1:]))
        if how == "namespace" or data.draw(st.booleans()):
            scope["namespace"] = self._namespace(data)
        got = self._store.call("forget", **scope)
        doomed = [
            r
            for r in self.model.rows.values()
            if all(getattr(r, field) == value for field, value in scope.items())
        ]
        assert isinstance(got, dict), got
        counts = {k: v for k, v in got["memories"].items() if v}
        assert counts == dict(Counter(r.kind for r in doomed)), (counts, scope)
        for row in doomed:
            self.model.delete(row.namespace, row.id)
            self.unsettled += 1
        self.seen[f"forget {how}"] += 1

    # --- kv and state -------------------------------------------------------
    def set_value(self, data: st.DataObject) -> None:
        state, value = data.draw(st.booleans()), data.draw(VALUES)
        ns, key = self._namespace(data), data.draw(st.sampled_from(KEYS))
        session = data.draw(st.sampled_from(SESSIONS))
        if state:
            id, kind = state_id(ns, session, key), "state"
            got = self._store.call("set_state", session, key, value, namespace=ns)
        else:
            id, kind = kv_id(ns, key), "kv"
            got = self._store.call("kv_set", key, value, namespace=ns)
        row = self.model.get(ns, id)
        if row is None:
            extra = {"session_id": session} if state else {}
            row = self.model.insert(ns, id, kind, value_content(key, value), **extra)
        row.content, row.value = value_content(key, value), value
        check_entry(got, row)
        self.unsettled += 1

    def _value_key(self, data: st.DataObject) -> tuple[str, bool, list[str], str, Row | None]:
        """A kv key or state (session, key), mostly one that is set: namespace, state?,
        the call's arguments, the entry id and the model's row."""
        ns, state = self._namespace(data), data.draw(st.booleans())
        key, session = data.draw(st.sampled_from(KEYS)), data.draw(st.sampled_from(SESSIONS))
        # Mostly a value that is set, in any namespace: with a few set_value steps per
        # example, drawing the namespace and kind first would often miss all of them.
        stored = sorted(
            (r for r in self.model.rows.values() if r.kind in ("kv", "state")),
            key=lambda r: r.seq,
        )
        prefer, row = data.draw(st.booleans()), pick(data, stored)
        if prefer and row is not None:
            ns, state = row.namespace, row.kind == "state"
            key, session = row.content.split(":", 1)[0], row.session_id or session
        id = state_id(ns, session, key) if state else kv_id(ns, key)
        return ns, state, [session, key] if state else [key], id, self.model.get(ns, id)

    def delete_value(self, data: st.DataObject) -> None:
        ns, state, where, id, row = self._value_key(data)
        got = self._store.call("delete_state" if state else "kv_delete", *where, namespace=ns)
        assert got is (row is not None), (got, row)
        if row is not None:
            self.model.delete(ns, id)
            self.unsettled += 1

    def read_value(self, data: st.DataObject) -> None:
        ns, state, where, id, row = self._value_key(data)
        got = self._store.call("get_state" if state else "kv_get", *where, namespace=ns)
        if row is None:
            check_failure(got, "not_found")
        else:
            assert got == row.value, (got, row.value)
            self.seen["value_read"] += 1


#: What a run must have met at least once (else it proved nothing).
MUST_SEE = {
    "kills",
    "kills during a write",
    "restarts",
    "dedup",
    "id_conflict",
    "superseded",
    "deleted",
    "value_read",
    "search found",
    "search of a gone token",
}


@pytest.fixture
def fork_server(tmp_path: Path, model_cache_dir: Path) -> Iterator[ForkServer]:
    logs = tmp_path / "logs"
    logs.mkdir()
    server = ForkServer("machine.py", model_cache_dir, logs)
    yield server
    server.close()


def test_r9_model_based_state(
    tmp_path: Path, model_cache_dir: Path, fork_server: ForkServer
) -> None:
    seen: Counter[str] = Counter()
    machine = type(
        "StoreMachine_run",
        (StoreMachine,),
        {"server": fork_server, "root": tmp_path, "model_cache": model_cache_dir, "seen": seen},
    )
    started = time.monotonic()
    rounds = run_until_seen(machine, seen, MUST_SEE, EXAMPLES, STEPS)
    took = time.monotonic() - started
    print(
        f"\nR9: {rounds} x {EXAMPLES} examples x {STEPS} steps in {took:.0f} s,"
        f" 0 divergences, {dict(seen)}"
    )
    assert set(seen) >= MUST_SEE, MUST_SEE - set(seen)
