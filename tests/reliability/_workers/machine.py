"""R9 child: one store driven by JSON commands, until told to close or SIGKILLed.

Usage::

    python tests/reliability/_workers/machine.py DATA_DIR --model-cache DIR --commands FIFO
    python tests/reliability/_workers/machine.py --fork-server --model-cache DIR

The child opens ``Memory`` over ``DATA_DIR`` (background workers on, as in a
daemon), prints ``ready`` and then reads one command per line from the named
pipe ``FIFO``: ``{"seq": N, "op": NAME, "args": [...], "kwargs": {...}}``.
``op`` is a public ``Memory`` method, called as ``memory.NAME(*args,
**kwargs)``, or one of:

* ``snapshot``: every stored entry (``Memory.export``, vectors left out) and
  ``consistency_report`` of the store (quick_check; FTS, vectors + queue and
  HNSW id sets against the table);
* ``close``: ``Memory.close()``, then exit 0.

Each command is answered, only after the call returned, by one line
``{"t": "r", "seq": N, "value": ...}`` or, for a :class:`~memoryd.MemorydError`,
``{"t": "r", "seq": N, "error": {"code", "status", "message", "details"}}``;
any other exception ends the child (exit 1, traceback on stderr), which the
parent reports. Results are plain JSON: entries as
``MemoryEntry.model_dump(mode="json")`` without ``vector``, a ``Page`` as its
items, a ``SearchResult`` as its hits' entries.

``--fork-server`` (``_common.fork_server``) loads the model once and forks
one such child per store opening: an R9 run reopens its store hundreds of
times, which fresh interpreters (~1 CPU-second each) would not afford.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pydantic import BaseModel  # noqa: E402

from _common import emit, fork_server, load_embedder, open_memory, settings_for  # noqa: E402
from memoryd import Memory, MemorydError  # noqa: E402
from memoryd.store.maintenance import consistency_report  # noqa: E402
from memoryd.types import MemoryEntry, Page, SearchResult  # noqa: E402


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data (see the module docstring)."""
    if isinstance(value, MemoryEntry):
        return value.model_dump(mode="json", exclude={"vector"})
    if isinstance(value, Page):
        return [plain(e) for e in value.items]
    if isinstance(value, SearchResult):
        return [plain(h.entry) for h in value.hits]
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def call(memory: Memory, op: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Run one command on ``memory``; its plain result."""
    if op == "snapshot":
        entries = [plain(e) for e in memory.export()]
        return {"entries": entries, "consistency": consistency_report(memory.store)}
    if op.startswith("_") or op in ("close", "store"):
        raise SystemExit(f"not a command: {op}")
    return plain(getattr(memory, op)(*args, **kwargs))


def serve(argv: list[str], embedder: Any) -> None:
    """Open the store, answer commands until ``close`` (or until killed)."""
    args = _parser().parse_args(argv)
    settings = settings_for(args.data_dir, args.model_cache)
    memory = open_memory(settings, embedder)
    emit("ready", index_source=memory.index_source)
    with open(args.commands, encoding="utf-8") as commands:
        for line in commands:
            cmd = json.loads(line)
            seq = cmd["seq"]
            if cmd["op"] == "close":
                memory.close()
                emit("r", seq=seq, value=None)
                return
            try:
                value = call(memory, cmd["op"], cmd.get("args", []), cmd.get("kwargs", {}))
            except MemorydError as exc:
                error = {
                    "code": exc.code,
                    "status": exc.http_status,
                    "message": exc.message,
                    "details": exc.details,
                }
                emit("r", seq=seq, error=error)
            else:
                emit("r", seq=seq, value=value)
    raise SystemExit("the command pipe closed before close")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", nargs="?")
    parser.add_argument("--model-cache", required=True)
    parser.add_argument("--commands")
    parser.add_argument("--fork-server", action="store_true")
    return parser


def main() -> None:
    args = _parser().parse_args()
    if args.fork_server:
        fork_server(args.model_cache, serve)
        return
    if args.data_dir is None or args.commands is None:
        _parser().error("DATA_DIR and --commands are required")
    serve(sys.argv[1:], load_embedder(settings_for(args.data_dir, args.model_cache)))


if __name__ == "__main__":
    main()
