"""The S9 tenant-isolation state machine (``test_s9_tenant_isolation.py`` runs it).

The machine, its model checks and the id modes it draws; the test module
holds the faces it runs through, the coverage it must reach and the sizes.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections import Counter
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule
from mcp.shared.exceptions import MCPError

from memoryd import Conflict, IdConflict, MemorydError, NotFound
from memoryd.types import MemoryEntry

from ._s9_support import (
    DaemonFace,
    Face,
    Model,
    Row,
    kv_id,
    state_id,
    value_content,
)
from ._support import env_int

EXAMPLES = env_int("MEMORYD_S9_EXAMPLES", 25)
STEPS = env_int("MEMORYD_S9_STEPS", 50)
WORDS = ("tea", "garden", "invoice", "river", "kernel", "museum")
CONTENTS = [f"note about {a} and {b}" for a in WORDS[:3] for b in WORDS[3:]]
KEYS = ("theme", "lang")
SESSIONS = ("s1", "s2")
ID_MODES = (
    "none",
    "fresh",
    "own_taken",
    "foreign_taken",
    "own_kv",
    "foreign_kv",
    "own_state",
    "foreign_state",
)
TARGETS = ("own", "own", "foreign", "never")

_RUNS = itertools.count()


class TenantMachine(RuleBasedStateMachine):
    """One example: 2-5 fresh namespaces on the shared store, driven through ``face``."""

    face: Face
    seen: Counter[str]

    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        self.namespaces: list[str] = []
        self.templates: dict[str, tuple[str, dict[str, Any]]] = {}

    # --- choices ------------------------------------------------------------
    def _content(self, data: st.DataObject) -> str:
        """A text of the shared pool (dedup, the same text in several namespaces) or a new one."""
        if data.draw(st.booleans()):
            return data.draw(st.sampled_from(CONTENTS))
        return f"note {self._uuid(data)[:6]} about {data.draw(st.sampled_from(WORDS))}"

    def _namespace(self, data: st.DataObject) -> str:
        self.seen["steps"] += 1
        return data.draw(st.sampled_from(self.namespaces))

    def _other(self, data: st.DataObject, ns: str) -> str:
        return data.draw(st.sampled_from([n for n in self.namespaces if n != ns]))

    def _caller_id(self, data: st.DataObject, ns: str, mode: str | None = None) -> str | None:
        mode = mode or data.draw(st.sampled_from(ID_MODES))
        own = [i for n, i in self.model.ids() if n == ns]
        foreign = [i for n, i in self.model.ids() if n != ns]
        key, session = data.draw(st.sampled_from(KEYS)), data.draw(st.sampled_from(SESSIONS))
        if mode == "none":
            return None
        if mode == "own_taken" and own:
            return data.draw(st.sampled_from(own))
        if mode == "foreign_taken" and foreign:
            return data.draw(st.sampled_from(foreign))
        if mode in ("own_kv", "foreign_kv"):
            return kv_id(ns if mode == "own_kv" else self._other(data, ns), key)
        if mode in ("own_state", "foreign_state"):
            where = ns if mode == "own_state" else self._other(data, ns)
            return state_id(where, session, key)
        return self._uuid(data)

    def _target(self, data: st.DataObject, ns: str) -> str:
        """An id to address in ``ns``: its own, another namespace's, or never used."""
        where = data.draw(st.sampled_from(TARGETS))
        pool = [i for n, i in self.model.ids() if (n == ns) == (where == "own")]
        if pool and where != "never":
            return data.draw(st.sampled_from(pool))
        return self._uuid(data)

    def _uuid(self, data: st.DataObject) -> str:
        """A UUID drawn by hypothesis (so a replay draws the same; repeats are welcome)."""
        return str(data.draw(st.uuids()))

    # --- checks -------------------------------------------------------------
    def _check_entry(self, entry: Any, row: Row) -> None:
        assert isinstance(entry, MemoryEntry), entry
        assert (str(entry.id), entry.namespace, entry.kind) == (row.id, row.namespace, row.kind)
        assert entry.content == row.content
        assert (str(entry.supersedes) if entry.supersedes else None) == row.supersedes
        assert (str(entry.superseded_by) if entry.superseded_by else None) == row.superseded_by

    def _never_used(self, ns: str) -> tuple[str, dict[str, Any]]:
        """Message and details of a never-used id in ``ns``, the id replaced by ``{id}``."""
        if ns not in self.templates:
            never = str(uuid.uuid4())
            error = self.face.attempt(lambda b: b.get(never, namespace=ns))
            assert isinstance(error, NotFound) and error.code == "not_found", error
            self.templates[ns] = (error.message.replace(never, "{id}"), error.details)
        return self.templates[ns]

    def _check_not_found(
        self, code: str, message: str, details: dict[str, Any], ns: str, id: str
    ) -> None:
        template, never_details = self._never_used(ns)
        assert code == "not_found", (code, message)
        assert message == template.replace("{id}", id)
        assert details == {**never_details, "id": id}

    def _check_error(self, outcome: Any, cls: type[MemorydError], ns: str, id: str) -> None:
        assert isinstance(outcome, cls), outcome
        if any(i == id for n, i in self.model.ids() if n != ns) and cls is NotFound:
            self.seen["foreign_id_not_found"] += 1
        if cls is NotFound:
            self._check_not_found(outcome.code, outcome.message, outcome.details, ns, id)
        elif cls is IdConflict:
            assert outcome.code == "id_conflict" and outcome.http_status == 409
            assert outcome.details == {"id": id, "namespace": ns}
            assert not any(other in outcome.message for other in self.namespaces if other != ns)

    # --- writes -------------------------------------------------------------
    @initialize(data=st.data(), count=st.integers(2, 5), plants=st.integers(1, 4))
    def open_namespaces(self, data: st.DataObject, count: int, plants: int) -> None:
        """Fresh namespaces, and entries at kv/state ids of their own or another one
        (a careless or a hostile caller)."""
        run = f"{next(_RUNS)}-{uuid.uuid4().hex[:6]}"  # never an earlier example's namespace
        self.namespaces = [f"s9-{run}-{n}" for n in range(count)]
        for _ in range(plants):
            ns = self._namespace(data)
            mode = data.draw(st.sampled_from(ID_MODES[4:]))
            self._add(ns, "memory", self._content(data), self._caller_id(data, ns, mode))

    @rule(data=st.data())
    def add(self, data: st.DataObject) -> None:
        ns = self._namespace(data)
        kind = data.draw(st.sampled_from(["memory", "memory", "chunk"]))
        self._add(ns, kind, self._content(data), self._caller_id(data, ns))

    @rule(data=st.data())
    def add_again(self, data: st.DataObject) -> None:
        """A text of the pool (often stored already) with an id taken here or elsewhere."""
        ns = self._namespace(data)
        mode = data.draw(st.sampled_from(["none", "own_taken", "foreign_taken"]))
        content = data.draw(st.sampled_from(CONTENTS))
        self._add(ns, "memory", content, self._caller_id(data, ns, mode))

    def _add(self, ns: str, kind: str, content: str, given: str | None) -> None:
        extra = {} if given is None else {"id": given}
        got = self.face.attempt(lambda b: b.add(content, namespace=ns, kind=kind, **extra))
        known = self.model.duplicate(ns, kind, content)
        if known is not None:
            self._check_entry(got, known)
            self.seen["dedup"] += 1
        elif given is not None and self.model.get(ns, given) is not None:
            self._check_error(got, IdConflict, ns, given)
            self.seen["id_conflict"] += 1
        else:
            assert isinstance(got, MemoryEntry), got
            if given is not None and any(i == given for n, i in self.model.ids() if n != ns):
                self.seen["id_of_another_namespace_accepted"] += 1
            assert given is None or str(got.id) == given
            self._check_entry(got, self.model.insert(ns, str(got.id), kind, content))

    @rule(data=st.data(), value=st.integers(0, 9))
    def kv_set(self, data: st.DataObject, value: int) -> None:
        self._set_value(data, value, state=False)

    @rule(data=st.data(), value=st.integers(0, 9))
    def set_state(self, data: st.DataObject, value: int) -> None:
        self._set_value(data, value, state=True)

    def _set_value(self, data: st.DataObject, value: int, *, state: bool) -> None:
        ns, key = self._namespace(data), data.draw(st.sampled_from(KEYS))
        session = data.draw(st.sampled_from(SESSIONS))
        id, kind = (state_id(ns, session, key), "state") if state else (kv_id(ns, key), "kv")
        got = self.face.attempt(
            lambda b: (
                b.set_state(session, key, value, namespace=ns)
                if state
                else b.kv_set(key, value, namespace=ns)
            )
        )
        row = self.model.get(ns, id)
        if row is not None and row.kind != kind:
            self._check_error(got, IdConflict, ns, id)
            self.seen["key_id_held_by_another_kind"] += 1
            return
        if row is None:
            row = self.model.insert(ns, id, kind, value_content(key, value), value=value)
        row.content, row.value = value_content(key, value), value
        self._check_entry(got, row)

    @rule(data=st.data(), state=st.booleans(), remove=st.booleans())
    def read_value(self, data: st.DataObject, state: bool, remove: bool) -> None:
        ns, key = self._namespace(data), data.draw(st.sampled_from(KEYS))
        session = data.draw(st.sampled_from(SESSIONS))
        id, kind = (state_id(ns, session, key), "state") if state else (kv_id(ns, key), "kv")
        row = self.model.get(ns, id)
        mine = row is not None and row.kind == kind
        if remove:
            got = self.face.attempt(
                lambda b: (
                    b.delete_state(session, key, namespace=ns)
                    if state
                    else b.kv_delete(key, namespace=ns)
                )
            )
            assert got is mine
            if mine:
                self.model.delete(ns, id)
            return
        got = self.face.attempt(
            lambda b: (
                b.get_state(session, key, namespace=ns) if state else b.kv_get(key, namespace=ns)
            )
        )
        if mine:
            assert row is not None and got == row.value
        else:
            self._check_error(got, NotFound, ns, id)

    @rule(data=st.data())
    def append(self, data: st.DataObject) -> None:
        ns, session = self._namespace(data), data.draw(st.sampled_from(SESSIONS))
        content = data.draw(st.sampled_from(CONTENTS))
        got = self.face.attempt(lambda b: b.append(session, content, namespace=ns))
        assert isinstance(got, MemoryEntry), got
        self._check_entry(got, self.model.insert(ns, str(got.id), "message", content))

    @rule(data=st.data())
    def update(self, data: st.DataObject) -> None:
        ns = self._namespace(data)
        id, content = self._target(data, ns), data.draw(st.sampled_from(CONTENTS))
        got = self.face.attempt(lambda b: b.update(id, namespace=ns, content=content))
        row = self.model.get(ns, id)
        if row is None:
            self._check_error(got, NotFound, ns, id)
        else:
            row.content = content
            self._check_entry(got, row)

    @rule(data=st.data())
    def supersede(self, data: st.DataObject) -> None:
        ns = self._namespace(data)
        id, content = self._target(data, ns), data.draw(st.sampled_from(CONTENTS))
        given = data.draw(st.sampled_from([None, "fresh", "taken"]))
        new_id = self._caller_id(data, ns) if given == "taken" else given and self._uuid(data)
        body = {"content": content, **({"id": new_id} if new_id else {})}
        got = self.face.attempt(lambda b: b.supersede(id, body, namespace=ns))
        row = self.model.get(ns, id)
        if row is None:
            self._check_error(got, NotFound, ns, id)
        elif row.superseded_by is not None:
            assert type(got) is Conflict and got.code == "conflict", got
        elif new_id is not None and self.model.get(ns, new_id) is not None:
            self._check_error(got, IdConflict, ns, new_id)
        else:
            assert isinstance(got, MemoryEntry), got
            new = self.model.insert(ns, str(got.id), row.kind, content, supersedes=id)
            row.superseded_by = new.id
            self._check_entry(got, new)

    @rule(data=st.data(), how=st.sampled_from(["face", "http", "mcp"]))
    def delete(self, data: st.DataObject, how: str) -> None:
        ns = self._namespace(data)
        id = self._target(data, ns)
        exists = self.model.get(ns, id) is not None
        self.seen[f"delete via {how if self.face.has_daemon else 'face'}"] += 1
        if how == "face" or not self.face.has_daemon:
            got = self.face.attempt(lambda b: b.delete(id, namespace=ns))
            if not exists:
                self._check_error(got, NotFound, ns, id)
        elif how == "http":
            answer = self._daemon.http.delete(f"/v1/memories/{id}", params={"namespace": ns})
            self._check_http(answer, 204 if exists else 404, ns, id)
        else:
            body, failed = self._daemon.mcp.tool("memory_delete", id=id, namespace=ns)
            self._check_mcp(body, failed, exists, ns, id)
        if exists:
            self.model.delete(ns, id)

    # --- reads --------------------------------------------------------------
    @property
    def _daemon(self) -> DaemonFace:
        assert isinstance(self.face, DaemonFace)
        return self.face

    def _check_http(self, answer: Any, status: int, ns: str, id: str) -> None:
        assert answer.status_code == status, answer.text
        assert self.face.data_dir not in answer.text
        if status == 404:
            error = answer.json()["error"]
            self._check_not_found(error["code"], error["message"], error["details"], ns, id)

    def _check_mcp(
        self, body: dict[str, Any], failed: bool, exists: bool, ns: str, id: str
    ) -> None:
        assert failed is not exists, body
        if failed:
            error = body["error"]
            self._check_not_found(error["code"], error["message"], error["details"], ns, id)

    @rule(data=st.data(), how=st.sampled_from(["face", "http", "mcp", "resource"]))
    def get(self, data: st.DataObject, how: str) -> None:
        ns = self._namespace(data)
        id = self._target(data, ns)
        row = self.model.get(ns, id)
        self.seen[f"get via {how if self.face.has_daemon else 'face'}"] += 1
        if how == "face" or not self.face.has_daemon:
            got = self.face.attempt(lambda b: b.get(id, namespace=ns))
            if row is None:
                self._check_error(got, NotFound, ns, id)
            else:
                self._check_entry(got, row)
            return
        if how == "http":
            answer = self._daemon.http.get(f"/v1/memories/{id}", params={"namespace": ns})
            self._check_http(answer, 404 if row is None else 200, ns, id)
            view = answer.json()
        elif how == "mcp":
            body, failed = self._daemon.mcp.tool("memory_get", id=id, namespace=ns)
            self._check_mcp(body, failed, row is not None, ns, id)
            view = body.get("memory", {})
        else:
            view = self._read_resource(ns, id, row)
        if row is not None:
            assert (view["id"], view["namespace"], view["content"]) == (id, ns, row.content)

    def _read_resource(self, ns: str, id: str, row: Row | None) -> dict[str, Any]:
        try:
            text = self._daemon.mcp.resource(f"memory://{ns}/{id}")
        except MCPError as exc:
            assert row is None, exc
            template, _ = self._never_used(ns)
            assert str(exc).endswith(f"not_found: {template.replace('{id}', id)}"), str(exc)
            return {}
        assert row is not None, text
        view: dict[str, Any] = json.loads(text)
        return view

    @rule(data=st.data())
    def history(self, data: st.DataObject) -> None:
        ns = self._namespace(data)
        id = self._target(data, ns)
        got = self.face.attempt(lambda b: b.history(id, namespace=ns))
        if self.model.get(ns, id) is None:
            self._check_error(got, NotFound, ns, id)
            return
        assert [str(e.id) for e in got] == self.model.history(ns, id)
        for entry in got:
            self._check_entry(entry, self.model.rows[(ns, str(entry.id))])

    @rule(data=st.data(), how=st.sampled_from(["face", "mcp"]))
    def list_current(self, data: st.DataObject, how: str) -> None:
        ns = self._namespace(data)
        current = {r.id: r for r in self.model.in_namespace(ns) if r.superseded_by is None}
        if how == "face" or not self.face.has_daemon:
            page = self.face.attempt(lambda b: b.list(namespace=ns, limit=1000))
            for entry in page.items:
                self._check_entry(entry, current[str(entry.id)])
            assert {str(e.id) for e in page.items} == set(current)
            return
        body, failed = self._daemon.mcp.tool("memory_list", namespace=ns, limit=200)
        assert not failed, body
        assert {(v["id"], v["namespace"]) for v in body["items"]} == {(i, ns) for i in current}

    @rule(
        data=st.data(),
        mode=st.sampled_from(["keyword", "hybrid"]),
        how=st.sampled_from(["face", "mcp"]),
    )
    def search(self, data: st.DataObject, mode: str, how: str) -> None:
        ns, query = self._namespace(data), data.draw(st.sampled_from(CONTENTS))
        current = {r.id: r for r in self.model.in_namespace(ns) if r.superseded_by is None}
        if how == "face" or not self.face.has_daemon:
            result = self.face.attempt(
                lambda b: b.search(query, namespace=ns, mode=mode, limit=200)
            )
            found = [(str(h.entry.id), h.entry.namespace, h.entry.content) for h in result.hits]
        else:
            body, failed = self._daemon.mcp.tool(
                "memory_search", query=query, namespace=ns, mode=mode, limit=50
            )
            assert not failed, body
            found = [
                (h["memory"]["id"], h["memory"]["namespace"], h["memory"]["content"])
                for h in body["hits"]
            ]
        for id, namespace, content in found:
            assert namespace == ns and id in current, (id, namespace, ns)
            assert content == current[id].content
        if mode == "keyword":  # every current entry holding the exact text is found
            exact = {i for i, r in current.items() if r.content == query}
            assert exact <= {id for id, _, _ in found}

    @rule(data=st.data())
    def export(self, data: st.DataObject) -> None:
        ns = self._namespace(data)
        got = self.face.attempt(lambda b: list(b.export(namespace=ns)))
        assert sorted((e.namespace, str(e.id)) for e in got) == [
            (ns, r.id) for r in sorted(self.model.in_namespace(ns), key=lambda r: r.id)
        ]
        for entry in got:
            self._check_entry(entry, self.model.rows[(ns, str(entry.id))])

    def teardown(self) -> None:
        for ns in self.namespaces:
            exported = self.face.attempt(lambda b, ns=ns: list(b.export(namespace=ns)))
            assert {str(e.id) for e in exported} == {r.id for r in self.model.in_namespace(ns)}
            for entry in exported:
                self._check_entry(entry, self.model.rows[(ns, str(entry.id))])
