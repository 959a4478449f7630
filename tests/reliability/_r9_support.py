"""R9 helpers: a store living in a worker process, driven over a named pipe.

The store of an R9 example is opened by a child forked from
``_workers/machine.py --fork-server`` (model loaded once). The test writes
one JSON command per line to a FIFO the child reads and tails the child's
answers with :class:`~._support.ForkedChild`. A call returns only after the
child's answer line, which the child prints only after the engine call
returned: an answered write is an acknowledged one. :meth:`StoreProcess.kill`
SIGKILLs the child between two calls; :meth:`StoreProcess.restart` closes it
cleanly (``Memory.close``). Either way the next :meth:`StoreProcess.open`
forks a new child over the same data directory.

Also here: the vocabulary of an example (namespaces, texts, owners, keys),
:func:`pick` and the checks of an answer against the model's row.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import strategies as st

from waits import budget

from ._s9_support import Row
from ._support import ChildError, ForkedChild, ForkServer

T = TypeVar("T")

#: The vocabulary of an example.
NAMESPACES = ("r9-a", "r9-b")
WORDS = ("tea", "garden", "invoice", "river", "kernel", "museum")
#: Texts several adds share: dedup, and the same text in both namespaces.
POOL = tuple(f"shared note about {w}" for w in WORDS[:3])
USERS = (None, "u1", "u2")
AGENTS = (None, "g1", "g2")
SESSIONS = ("s1", "s2")
KEYS = ("theme", "lang")
TAGS = ("red", "blue", "green")
VALUES = st.integers(0, 9) | st.fixed_dictionaries(
    {"n": st.integers(0, 9), "w": st.sampled_from(WORDS)}
)

#: Budgets (seconds, before scaling): opening a store, one call, a clean close.
OPEN_S = 120.0
CALL_S = 60.0


@dataclass(frozen=True)
class Failure:
    """A :class:`~memoryd.MemorydError` the child's engine raised, as data."""

    code: str
    status: int
    message: str
    details: dict[str, Any] = field(default_factory=dict)


class StoreProcess:
    """The store of ``data_dir`` in a forked child (see the module docstring).

    Args:
        server: the fork server (``machine.py --fork-server``).
        data_dir: the store's directory (created by the child's ``Memory``).
        model_cache: the shared exported model.
        log_dir: where FIFOs and answer files go.
        name: prefix of the children's names.
    """

    def __init__(
        self, server: ForkServer, data_dir: Path, model_cache: Path, log_dir: Path, name: str
    ) -> None:
        self.server = server
        self.data_dir = data_dir
        self.model_cache = model_cache
        self.log_dir = log_dir
        self.name = name
        self.child: ForkedChild | None = None
        self.opens = 0
        self._fifo: Path | None = None
        self._fd: int | None = None
        self._seq = 0
        self._answered = 0  # the last sequence number whose answer was read

    def open(self) -> dict[str, Any]:
        """Fork a child over the data directory; its ``ready`` line (``index_source``)."""
        assert self.child is None, "already open"
        self.opens += 1
        label = f"{self.name}-{self.opens}"
        self._fifo = self.log_dir / f"{label}.fifo"
        os.mkfifo(self._fifo, 0o600)
        # Read-write: the open does not wait for the reader, and a dead reader never
        # turns a write into SIGPIPE (the answer that never comes is the failure).
        self._fd = os.open(self._fifo, os.O_RDWR)
        args = [str(self.data_dir), "--model-cache", str(self.model_cache)]
        self.child = self.server.spawn([*args, "--commands", str(self._fifo)], label)
        return self.child.expect("ready", budget(OPEN_S))

    def submit(self, op: str, *args: Any, **kwargs: Any) -> int:
        """Send ``memory.op(*args, **kwargs)`` to the child without waiting; its sequence number."""
        assert self.child is not None and self._fd is not None, "not open"
        self._seq += 1
        line = json.dumps({"seq": self._seq, "op": op, "args": args, "kwargs": kwargs})
        os.write(self._fd, (line + "\n").encode())
        return self._seq

    def call(self, op: str, *args: Any, **kwargs: Any) -> Any:
        """``memory.op(*args, **kwargs)`` in the child: its plain value or a :class:`Failure`.

        Raises:
            ChildError: the child died or did not answer within the budget.
        """
        seq = self.submit(op, *args, **kwargs)
        assert self.child is not None
        outcome = _outcome(self.child.expect("r", budget(CALL_S)), seq)
        self._answered = seq
        return outcome

    def restart(self) -> None:
        """Close the store cleanly (``Memory.close``, exit 0) and open it again."""
        assert self.call("close") is None
        child = self._detach()
        child.status = self.server.reap(child.pid)
        if not (os.WIFEXITED(child.status) and os.WEXITSTATUS(child.status) == 0):
            raise ChildError(
                f"{child.name}: close ended with {child.status}\n{child.stderr_tail()}"
            )
        self.open()

    def kill(self) -> list[Any]:
        """SIGKILL the child, then open the store again.

        Returns:
            The outcomes (value or :class:`Failure`) of the calls :meth:`submit`
            sent whose answers the child printed before it died, in order:
            those calls were acknowledged; the others may or may not have committed.
        """
        assert self.child is not None, "not open"
        self.child.kill()  # first: with the pipe closed, the child would exit by itself
        child = self._detach()
        if child.killed_at is None:
            raise ChildError(f"{child.name} died by itself\n{child.stderr_tail()}")
        answered = [m for m in child.of("r") if m["seq"] > self._answered]
        self._answered = self._seq
        self.open()
        return [_outcome(m, int(m["seq"])) for m in answered]

    def close(self) -> None:
        """Close the store cleanly and end the child (idempotent)."""
        if self.child is None:
            return
        assert self.call("close") is None
        child = self._detach()
        child.status = self.server.reap(child.pid)
        assert os.WIFEXITED(child.status) and os.WEXITSTATUS(child.status) == 0, child.status

    def _detach(self) -> ForkedChild:
        assert self.child is not None and self._fd is not None and self._fifo is not None
        child, self.child = self.child, None
        os.close(self._fd)
        self._fifo.unlink()
        self._fd = self._fifo = None
        return child


def _outcome(answer: dict[str, Any], seq: int) -> Any:
    """The value or :class:`Failure` of answer line ``answer`` to command ``seq``."""
    assert answer["seq"] == seq, (answer, seq)
    if "error" in answer:
        return Failure(**answer["error"])
    return answer["value"]


def pick(data: st.DataObject, pool: Sequence[T]) -> T | None:
    """An element of ``pool`` (``None`` if empty), drawn the same way whatever its size.

    A kill during a write leaves the write committed or not, by timing; the
    model then differs between a run and its replay. Drawing a fixed-range
    index (rather than ``sampled_from(pool)``) keeps the sequence of draws
    the same, which hypothesis requires (else ``FlakyStrategyDefinition``).
    """
    index = data.draw(st.integers(0, 1 << 16))
    return pool[index % len(pool)] if pool else None


def check_entry(got: Any, row: Row) -> None:
    """``got`` (an entry as the child returns it) is the model's ``row``, field by field."""
    assert isinstance(got, dict), got
    assert (got["id"], got["namespace"], got["kind"]) == (row.id, row.namespace, row.kind)
    assert got["content"] == row.content, (got["content"], row.content)
    assert (got["supersedes"], got["superseded_by"]) == (row.supersedes, row.superseded_by)
    assert (got["session_id"], got["user_id"], got["agent_id"]) == (
        row.session_id,
        row.user_id,
        row.agent_id,
    )
    assert tuple(got["tags"]) == row.tags, (got["tags"], row.tags)


def check_failure(got: Any, code: str, id: str | None = None) -> None:
    """``got`` is the error ``code`` (never a 5xx), about ``id`` when given."""
    assert isinstance(got, Failure) and got.code == code, (got, code)
    assert got.status < 500, got
    if id is not None and code in ("not_found", "id_conflict"):
        assert got.details.get("id") == id, got
