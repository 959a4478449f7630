"""R9 machine, first half: an example's state, the choices of its steps, and the reads.

Reads (get, list with filters, the last N turns, keyword search) are checked
against the model. ``test_r9_state_machine.StoreMachine`` adds the writes,
the restarts and kills, the invariant and the step rule.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine

from ._r9_support import (
    AGENTS,
    NAMESPACES,
    POOL,
    SESSIONS,
    TAGS,
    USERS,
    WORDS,
    StoreProcess,
    check_entry,
    check_failure,
    pick,
)
from ._s9_support import Model


class ReadingMachine(RuleBasedStateMachine):
    """An R9 example's state, its choices and its read operations (one step each;
    ``data`` draws the arguments). ``seen`` counts what a run met."""

    seen: Counter[str]

    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        self.tokens: list[str] = []
        self.store: StoreProcess | None = None
        #: Writes acknowledged since the store was last opened.
        self.unsettled = 0

    # --- choices ------------------------------------------------------------
    def _content(self, data: st.DataObject) -> str:
        """A text of :data:`POOL`, or a new one holding a unique token (``tok<N>q``)."""
        if data.draw(st.integers(0, 3)) == 0:
            return data.draw(st.sampled_from(POOL))
        self.tokens.append(f"tok{len(self.tokens)}q")
        return f"note {self.tokens[-1]} about {data.draw(st.sampled_from(WORDS))}"

    def _namespace(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(NAMESPACES))

    def _target(self, data: st.DataObject, ns: str, *, current: bool = False) -> str:
        """An id to address in ``ns``: mostly its own (``current``: not superseded),
        else another namespace's or a new one."""
        own = [r.id for r in self.model.in_namespace(ns) if not current or r.superseded_by is None]
        foreign = [i for n, i in self.model.ids() if n != ns]
        where = data.draw(st.sampled_from(["own", "own", "own", "foreign", "never"]))
        taken, fresh = pick(data, own if where == "own" else foreign), str(data.draw(st.uuids()))
        return taken if taken is not None and where != "never" else fresh

    def _owners(self, data: st.DataObject) -> dict[str, str]:
        user, agent = data.draw(st.sampled_from(USERS)), data.draw(st.sampled_from(AGENTS))
        return {k: v for k, v in (("user_id", user), ("agent_id", agent)) if v is not None}

    @property
    def _store(self) -> StoreProcess:
        assert self.store is not None
        return self.store

    # --- reads --------------------------------------------------------------
    def get(self, data: st.DataObject) -> None:
        ns = self._namespace(data)
        id = self._target(data, ns)
        got = self._store.call("get", id, namespace=ns)
        row = self.model.get(ns, id)
        if row is None:
            check_failure(got, "not_found", id)
        else:
            check_entry(got, row)

    def list_entries(self, data: st.DataObject) -> None:
        ns = self._namespace(data)
        how = data.draw(st.sampled_from(["all", "kinds", "session", "tags", "history"]))
        params: dict[str, Any] = {}
        rows = self.model.in_namespace(ns)
        if how == "kinds":
            params["kinds"] = data.draw(
                st.lists(
                    st.sampled_from(["memory", "chunk", "message", "kv", "state"]),
                    min_size=1,
                    unique=True,
                )
            )
            rows = [r for r in rows if r.kind in params["kinds"]]
        elif how == "session":
            params["session_id"] = data.draw(st.sampled_from(SESSIONS))
            rows = [r for r in rows if r.session_id == params["session_id"]]
        elif how == "tags":
            params["tags"] = data.draw(st.lists(st.sampled_from(TAGS), min_size=1, unique=True))
            rows = [r for r in rows if set(r.tags) & set(params["tags"])]
        if how == "history":
            params["include_superseded"] = True
        else:
            rows = [r for r in rows if r.superseded_by is None]
        got = self._store.call("list", namespace=ns, limit=1000, **params)
        assert isinstance(got, list), got
        assert sorted(e["id"] for e in got) == sorted(r.id for r in rows), (how, params)
        for entry in got:
            check_entry(entry, self.model.rows[(ns, entry["id"])])

    def last_messages(self, data: st.DataObject) -> None:
        n = data.draw(st.integers(1, 6))
        ns, session = self._namespace(data), data.draw(st.sampled_from(SESSIONS))
        turns = [
            r
            for r in self.model.in_namespace(ns)
            if (r.kind, r.session_id, r.superseded_by) == ("message", session, None)
        ]
        got = self._store.call("last_messages", session, n, namespace=ns)
        assert [e["id"] for e in got] == [r.id for r in turns[-n:]], (session, n)
        for entry, row in zip(got, turns[-n:], strict=True):
            check_entry(entry, row)

    def search(self, data: st.DataObject) -> None:
        """Keyword search for a token: its current holders are found, nothing dead comes back."""
        ns = self._namespace(data)
        held = [
            t for r in self.model.in_namespace(ns) for t in r.content.split() if t in self.tokens
        ]
        prefer, mine, any_token = (
            data.draw(st.booleans()),
            pick(data, held),
            pick(data, self.tokens),
        )
        token = mine if prefer and mine is not None else any_token
        if token is None:
            return
        got = self._store.call("search", token, namespace=ns, mode="keyword", limit=200)
        assert isinstance(got, list), got
        current = {r.id: r for r in self.model.in_namespace(ns) if r.superseded_by is None}
        for entry in got:
            assert entry["namespace"] == ns and entry["id"] in current, (token, entry)
            check_entry(entry, current[entry["id"]])
        holders = {i for i, r in current.items() if token in r.content.split()}
        assert holders <= {e["id"] for e in got}, (token, holders)
        self.seen["search found" if holders else "search of a gone token"] += 1
