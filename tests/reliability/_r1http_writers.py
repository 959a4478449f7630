"""R1 over HTTP: client threads writing every REST write kind until the daemon dies.

Each :class:`Writer` owns the memories, keys and sessions it creates (kept in
its :class:`Owned` across kill cycles), so that an id is changed by one thread
only and the order of its records in the :class:`~._daemon.AckLog` is the
order the daemon applied them. A write counts as acknowledged once its 2xx
response has been checked and its record fsynced to the ack log. The request
in flight when the connection breaks is kept as :attr:`Writer.pending`: it
may or may not have committed (allowed: it was never acknowledged).

Records and intents name an entry by ``(namespace, id)`` and its state by a
*fingerprint* (:func:`fingerprint`): the content of memories and messages, the
JSON value of kv and state entries; ``None`` means deleted.
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

import waits

from ._daemon import AckLog
from ._workers._common import WORDS

NAMESPACES = ("default", "r1-team")
#: The kinds whose state is a JSON value (``metadata["value"]``) rather than the content.
VALUE_KINDS = ("kv", "state")


def fingerprint(entry: dict[str, Any]) -> str:
    """The state of a ``MemoryEntry`` (JSON dict) that a write sets: content or value."""
    if entry["kind"] in VALUE_KINDS:
        return "value:" + json.dumps(entry["metadata"]["value"], sort_keys=True)
    return "content:" + str(entry["content"])


def value_fp(value: Any) -> str:
    """The fingerprint a kv or state entry holding ``value`` has."""
    return "value:" + json.dumps(value, sort_keys=True)


@dataclass
class Owned:
    """What one writer created and may still change, across cycles.

    ``live``: ``(namespace, id)`` of its memories (not deleted or superseded);
    ``keys``: ``(namespace, key, id)`` of its kv keys; ``counter_id``: the
    entry of its ``counter-<n>`` key once acknowledged; ``counter``: its last
    acknowledged value.
    """

    live: list[tuple[str, str]] = field(default_factory=list)
    keys: list[tuple[str, str, str]] = field(default_factory=list)
    counter: int = 0
    counter_id: str | None = None


class Writer(threading.Thread):
    """One HTTP client writing a random mix of every REST write until its connection breaks.

    Args:
        n: writer number (names its keys and sessions).
        cycle: kill cycle (names contents and keys).
        url, token: the daemon.
        acks: the shared client-side ack log.
        owned: this writer's entries from earlier cycles (updated in place).
        seed: its random seed.
        go: barrier every writer and the test pass before the first request.

    After :meth:`join`: ``acked`` (records logged), ``broke`` (class name of
    the transport error that ended it), ``pending`` (the intent in flight
    then, or ``None``), ``failure`` (an unexpected answer: the test fails).
    """

    def __init__(
        self,
        n: int,
        cycle: int,
        url: str,
        token: str,
        acks: AckLog,
        owned: Owned,
        seed: int,
        go: threading.Barrier,
    ) -> None:
        super().__init__(name=f"r1http-writer-{n}", daemon=True)
        self.n, self.cycle, self.url, self.token = n, cycle, url, token
        self.acks, self.owned, self.go = acks, owned, go
        self.rng = random.Random(seed)
        self.seq = 0
        self.acked = 0
        self.requests = 0
        self.broke: str | None = None
        self.pending: dict[str, Any] | None = None
        self.failure: str | None = None

    def run(self) -> None:
        """Write until the daemon's death breaks the connection (or an answer is wrong)."""
        headers = {"authorization": f"Bearer {self.token}"}
        try:
            with httpx.Client(
                base_url=self.url, headers=headers, timeout=waits.budget(30), trust_env=False
            ) as http:
                self.go.wait(waits.budget(60))
                while self.failure is None:
                    self._step(http)
        except httpx.TransportError as exc:  # the daemon was killed: the expected end
            self.broke = type(exc).__name__
        except Exception as exc:  # noqa: BLE001 - the test fails with it (never swallowed)
            self.failure = f"{type(exc).__name__}: {exc}"

    # --- one request -----------------------------------------------------------
    def _text(self) -> str:
        words = " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(6, 14)))
        return f"w{self.n} c{self.cycle} n{self.seq} {words}"

    def _send(
        self,
        http: httpx.Client,
        method: str,
        path: str,
        want: int,
        intent: dict[str, Any],
        **kw: Any,
    ) -> httpx.Response | None:
        self.pending = intent
        self.requests += 1
        response = http.request(method, path, **kw)
        if response.status_code != want:
            self.failure = f"{method} {path}: {response.status_code} {response.text[:300]}"
            return None
        return response

    def _ack(self, records: list[dict[str, Any]]) -> None:
        base = {"w": self.n, "cycle": self.cycle}
        self.acks.append([{**base, **r} for r in records])
        self.acked += len(records)
        self.pending = None

    def _entry_record(
        self, op: str, entry: dict[str, Any], sent: str, **extra: Any
    ) -> dict[str, Any]:
        got = fingerprint(entry)
        if got != sent:
            raise AssertionError(f"{op}: the daemon answered {got!r} for {sent!r}")
        return {
            "op": op,
            "ns": entry["namespace"],
            "id": entry["id"],
            "kind": entry["kind"],
            "content": entry["content"],
            "fp": got,
            **extra,
        }

    def _step(self, http: httpx.Client) -> None:
        self.seq += 1
        ns = self.rng.choice(NAMESPACES)
        roll = self.rng.random()
        own = self.owned
        if roll < 0.22:
            self._do_add(http, ns)
        elif roll < 0.34:
            self._do_batch(http, ns)
        elif roll < 0.50:
            self._do_message(http, ns)
        elif roll < 0.58 and own.live:
            self._do_patch(http)
        elif roll < 0.64 and own.live:
            self._do_supersede(http)
        elif roll < 0.68 and own.live:
            self._do_delete(http)
        elif roll < 0.78:
            self._do_kv(http, ns)
        elif roll < 0.82 and own.keys:
            self._do_kv_delete(http)
        elif roll < 0.91:
            self._do_state(http, ns)
        else:
            self._do_counter(http)

    def _take_live(self) -> tuple[str, str]:
        # Taken out before the request: an id whose change may be in flight is never reused.
        return self.owned.live.pop(self.rng.randrange(len(self.owned.live)))

    # --- the write kinds ----------------------------------------------------
    def _do_add(self, http: httpx.Client, ns: str) -> None:
        text = self._text()
        body = {"content": text, "namespace": ns, "tags": ["r1http"]}
        r = self._send(http, "POST", "/v1/memories", 201, {"op": "add", "ns": ns}, json=body)
        if r is not None:
            rec = self._entry_record("add", r.json(), "content:" + text)
            self._ack([rec])
            self.owned.live.append((ns, rec["id"]))

    def _do_batch(self, http: httpx.Client, ns: str) -> None:
        texts = [self._text() + f" b{i}" for i in range(self.rng.randint(2, 8))]
        body = {"items": [{"content": t, "namespace": ns} for t in texts]}
        r = self._send(
            http, "POST", "/v1/memories/batch", 200, {"op": "batch", "ns": ns}, json=body
        )
        if r is not None:
            entries = r.json()
            assert len(entries) == len(texts), f"batch of {len(texts)} answered {len(entries)}"
            recs = [
                self._entry_record("batch", e, "content:" + t)
                for e, t in zip(entries, texts, strict=True)
            ]
            self._ack(recs)
            self.owned.live.extend((ns, rec["id"]) for rec in recs)

    def _do_message(self, http: httpx.Client, ns: str) -> None:
        session = f"s-w{self.n}-{self.rng.randint(0, 2)}"
        text = self._text()
        role = self.rng.choice(("user", "assistant"))
        r = self._send(
            http,
            "POST",
            f"/v1/sessions/{session}/messages",
            201,
            {"op": "message", "ns": ns},
            params={"namespace": ns},
            json={"content": text, "role": role},
        )
        if r is not None:
            self._ack([self._entry_record("message", r.json(), "content:" + text, session=session)])

    def _do_patch(self, http: httpx.Client) -> None:
        ns, id = self._take_live()
        text = self._text() + " patched"
        intent = {"op": "patch", "ns": ns, "id": id, "fp": "content:" + text}
        r = self._send(
            http,
            "PATCH",
            f"/v1/memories/{id}",
            200,
            intent,
            params={"namespace": ns},
            json={"content": text},
        )
        if r is not None:
            self._ack([self._entry_record("patch", r.json(), "content:" + text)])
            self.owned.live.append((ns, id))

    def _do_supersede(self, http: httpx.Client) -> None:
        ns, id = self._take_live()  # superseded: it keeps its content, never changes again
        text = self._text() + " superseding"
        r = self._send(
            http,
            "POST",
            f"/v1/memories/{id}/supersede",
            201,
            {"op": "supersede", "ns": ns},
            params={"namespace": ns},
            json={"content": text},
        )
        if r is not None:
            rec = self._entry_record("supersede", r.json(), "content:" + text, old=id)
            self._ack([rec])
            self.owned.live.append((ns, rec["id"]))

    def _do_delete(self, http: httpx.Client) -> None:
        ns, id = self._take_live()
        intent = {"op": "delete", "ns": ns, "id": id, "fp": None}
        r = self._send(http, "DELETE", f"/v1/memories/{id}", 204, intent, params={"namespace": ns})
        if r is not None:
            self._ack([{"op": "delete", "ns": ns, "id": id, "fp": None}])

    def _do_kv(self, http: httpx.Client, ns: str) -> None:
        key = f"k/w{self.n}/c{self.cycle}/{self.seq}"  # "/" in keys: the route takes the path
        value = {"w": self.n, "cycle": self.cycle, "seq": self.seq, "word": self.rng.choice(WORDS)}
        r = self._send(
            http, "PUT", f"/v1/kv/{key}", 200, {"op": "kv", "ns": ns},
            params={"namespace": ns}, json={"value": value},
        )  # fmt: skip
        if r is not None:
            rec = self._entry_record("kv", r.json(), value_fp(value), key=key, value=value)
            self._ack([rec])
            self.owned.keys.append((ns, key, rec["id"]))

    def _do_kv_delete(self, http: httpx.Client) -> None:
        ns, key, id = self.owned.keys.pop(self.rng.randrange(len(self.owned.keys)))
        intent = {"op": "kv_delete", "ns": ns, "id": id, "fp": None}
        r = self._send(http, "DELETE", f"/v1/kv/{key}", 200, intent, params={"namespace": ns})
        if r is not None:
            assert r.json() == {"deleted": True}, f"kv delete of {key}: {r.text}"
            self._ack([{"op": "kv_delete", "ns": ns, "id": id, "fp": None, "key": key}])

    def _do_state(self, http: httpx.Client, ns: str) -> None:
        session = f"s-w{self.n}-{self.rng.randint(0, 2)}"
        key = f"step-c{self.cycle}-{self.seq}"
        value = [self.cycle, self.seq, self.rng.choice(WORDS)]
        r = self._send(
            http, "PUT", f"/v1/sessions/{session}/state/{key}", 200, {"op": "state", "ns": ns},
            params={"namespace": ns}, json={"value": value},
        )  # fmt: skip
        if r is not None:
            rec = self._entry_record(
                "state", r.json(), value_fp(value), key=key, session=session, value=value
            )
            self._ack([rec])

    def _do_counter(self, http: httpx.Client) -> None:
        own = self.owned
        key = f"counter-{self.n}"
        value = own.counter + 1
        intent: dict[str, Any] = {"op": "counter", "ns": "default"}
        if own.counter_id is not None:  # an update in place of a known entry
            intent.update(id=own.counter_id, fp=value_fp(value))
        r = self._send(http, "PUT", f"/v1/kv/{key}", 200, intent, json={"value": value})
        if r is None:
            return
        rec = self._entry_record("counter", r.json(), value_fp(value), key=key, value=value)
        self._ack([rec])
        own.counter, own.counter_id = value, rec["id"]
