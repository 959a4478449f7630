"""S9 helpers: the model of one example's namespaces, and the faces the operations go through.

The model keeps every row of the example's namespaces as the engine should:
ids unique per namespace, dedup of ``memory``/``chunk`` by content among
current entries, kv/state rows at their deterministic ids, supersede links
inside a namespace. A face runs an operation and returns its value or the
:class:`~memoryd.MemorydError` it raised (anything else propagates).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Collection, Set
from dataclasses import dataclass, field
from typing import Any

import anyio.from_thread
import httpx
import httpx2
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test
from mcp import Client as McpClient
from mcp.client.streamable_http import streamable_http_client

from memoryd import Client, Memory, MemorydError
from memoryd.ids import deterministic_id


def kv_id(namespace: str, key: str) -> str:
    return str(deterministic_id(namespace, "kv", key))


def state_id(namespace: str, session_id: str, key: str) -> str:
    return str(deterministic_id(namespace, "state", f"{session_id}/{key}"))


def value_content(key: str, value: Any) -> str:
    """What a kv/state entry's ``content`` holds (``collections/state.py``)."""
    return f"{key}: {json.dumps(value, ensure_ascii=False, sort_keys=True)}"


@dataclass
class Row:
    """One entry as the model expects it."""

    id: str
    namespace: str
    kind: str
    content: str
    seq: int
    value: Any = None
    supersedes: str | None = None
    superseded_by: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    agent_id: str | None = None
    tags: tuple[str, ...] = ()


@dataclass
class Model:
    """The rows of one example, keyed by ``(namespace, id)``."""

    rows: dict[tuple[str, str], Row] = field(default_factory=dict)
    seq: int = 0

    def get(self, namespace: str, id: str) -> Row | None:
        return self.rows.get((namespace, id))

    def in_namespace(self, namespace: str) -> list[Row]:
        return sorted((r for r in self.rows.values() if r.namespace == namespace), key=_seq)

    def ids(self) -> list[tuple[str, str]]:
        """``(namespace, id)`` of every row in insertion order (a replay draws the same rows:
        ids the engine generated differ from run to run, their order does not)."""
        return [(r.namespace, r.id) for r in sorted(self.rows.values(), key=_seq)]

    def duplicate(self, namespace: str, kind: str, content: str) -> Row | None:
        """The entry a dedup-kind add of ``content`` resolves to (oldest current match)."""
        if kind not in ("memory", "chunk"):
            return None
        for row in self.in_namespace(namespace):
            if (row.kind, row.content, row.superseded_by) == (kind, content, None):
                return row
        return None

    def insert(self, namespace: str, id: str, kind: str, content: str, **extra: Any) -> Row:
        self.seq += 1
        row = Row(id, namespace, kind, content, self.seq, **extra)
        self.rows[(namespace, id)] = row
        return row

    def delete(self, namespace: str, id: str) -> None:
        del self.rows[(namespace, id)]
        for row in self.in_namespace(namespace):
            if row.superseded_by == id:
                row.superseded_by = None

    def history(self, namespace: str, id: str) -> list[str]:
        """The supersede chain the engine walks (``Revisions.history``), as ids."""
        chain = [self.rows[(namespace, id)]]
        while chain[0].supersedes is not None and self.get(namespace, chain[0].supersedes):
            chain.insert(0, self.rows[(namespace, chain[0].supersedes)])
        while chain[-1].superseded_by is not None and self.get(namespace, chain[-1].superseded_by):
            chain.append(self.rows[(namespace, chain[-1].superseded_by)])
        return [row.id for row in chain]


def _seq(row: Row) -> int:
    return row.seq


class Face:
    """Operations through :class:`Memory` (the library face)."""

    name = "library"
    has_daemon = False

    def __init__(self, backend: Memory | Client, data_dir: str) -> None:
        self.backend = backend
        self.data_dir = data_dir

    def attempt(self, call: Callable[[Any], Any]) -> Any:
        """``call(backend)``'s value, or the memoryd error it raised (checked: no 5xx, no path)."""
        try:
            return call(self.backend)
        except MemorydError as exc:
            assert exc.http_status < 500, f"{exc.code}: {exc.message} {exc.details}"
            assert self.data_dir not in f"{exc.message} {exc.details}", exc.message
            return exc


class McpSession:
    """A real MCP client session on the daemon's ``/mcp``, driven from synchronous code."""

    def __init__(self, url: str, token: str) -> None:
        self._stack = contextlib.ExitStack()
        self.portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        self.client: McpClient = self._stack.enter_context(
            self.portal.wrap_async_context_manager(self._open(url, token))
        )

    @contextlib.asynccontextmanager
    async def _open(self, url: str, token: str) -> AsyncIterator[McpClient]:
        headers = {"authorization": f"Bearer {token}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            McpClient(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
        ):
            yield client

    def tool(self, name: str, **arguments: Any) -> tuple[dict[str, Any], bool]:
        """The tool's JSON result and whether it is an error (``{"error": {...}}``)."""
        result = self.portal.call(self.client.call_tool, name, arguments)
        text = result.content[0].text  # type: ignore[union-attr]
        return json.loads(text), bool(result.is_error)

    def resource(self, uri: str) -> str:
        """The resource's text; raises ``mcp.shared.exceptions.MCPError`` when it fails."""
        result = self.portal.call(self.client.read_resource, uri)
        return str(result.contents[0].text)  # type: ignore[union-attr]

    def close(self) -> None:
        self._stack.close()


class DaemonFace(Face):
    """Operations through a real daemon: :class:`Client`, raw HTTP and the MCP client."""

    name = "daemon"
    has_daemon = True

    def __init__(self, client: Client, data_dir: str, url: str, token: str) -> None:
        super().__init__(client, data_dir)
        self.http = httpx.Client(
            base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=60.0
        )
        self.mcp = McpSession(url, token)

    def close(self) -> None:
        self.mcp.close()
        self.http.close()


def machine_settings(examples: int, steps: int) -> settings:
    """Hypothesis settings of a state-machine run: ``examples`` × ``steps``, no deadline.

    No example database (each run starts fresh in a tmp dir); the health checks
    for slow and filtered draws are off, as every step drives a real store.
    """
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        database=None,
    )


#: Rounds of a state-machine run at most, until every outcome it must meet was met.
MAX_ROUNDS = 3


def run_until_seen(
    machine: type[RuleBasedStateMachine],
    seen: Collection[str],
    must: Set[str],
    examples: int,
    steps: int,
) -> int:
    """Run ``machine`` in rounds of ``examples`` × ``steps`` until ``seen`` holds ``must``.

    A round draws at random, so a small one can miss a rare outcome (a read of
    a value that is set, a search that finds its token); up to
    :data:`MAX_ROUNDS` rounds run, each checking every step against the model.
    Returns the number of rounds; the caller asserts ``must`` was met.
    """
    rounds = 0
    while rounds < MAX_ROUNDS and not set(seen) >= must:
        rounds += 1
        run_state_machine_as_test(machine, settings=machine_settings(examples, steps))
    return rounds
