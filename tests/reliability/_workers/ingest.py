"""R1 child: write memories one by one until SIGKILLed, acknowledging each write.

Usage::

    python tests/reliability/_workers/ingest.py DATA_DIR [--model-cache DIR]
        [--cycle N] [--seed S] [--mode ingest|checkpoint] [--wait-go]
    python tests/reliability/_workers/ingest.py --fork-server --model-cache DIR
        [--vfs LIBRARY]

Power loss (R2): with ``--vfs LIBRARY`` the fault VFS (``../vfs``) is loaded
and made SQLite's default before any connection (in the fork server: before
any fork); each writer then applies ``--vfs-config`` (e.g.
``buffer=1;writeback=0.3;seed=7;log=FILE``), opens the store with
``--synchronous FULL|NORMAL`` and ``--wal-autocheckpoint PAGES``, and every
``ack`` carries ``wal_syncs``: the WAL syncs completed when it was printed.

Protocol (stdout, JSON lines): ``loaded`` once the model is loaded; with
``--wait-go`` the child then waits for ``go`` on stdin (so a parent can load
the next child while it checks the previous one); ``ready`` right before the
first write; then one ``ack`` per acknowledged write, printed only after the
call has returned. Modes:

* ``ingest``: a random mix of ``add``, ``add_many`` batches, conversation
  ``append`` turns, ``kv_set`` of fresh keys and of one ``counter`` key whose
  value only grows.
* ``checkpoint``: ``memory.store.vectors.checkpoint()``, then ``add_many`` of
  1-3 memories, in a loop (``ckpt-start``/``ckpt-end``
  lines bracket each checkpoint).

``--fork-server`` exists only to make 100 kill cycles affordable: importing
memoryd and loading the model costs ~1 CPU-second per fresh interpreter. The
server imports and loads once (single-threaded ONNX session, so it survives
``fork``), prints ``loaded``, then reads JSON commands on stdin:
``{"op": "spawn", "out": FILE, "args": [...]}`` forks a writer whose protocol
lines go to ``FILE`` (it runs exactly the code of the plain mode, with the
store opened only after the fork) and answers ``spawned`` with its pid;
``{"op": "reap", "pid": N}`` waits for that (killed) writer and answers
``reaped`` with its wait status.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    WORDS,
    emit,
    fork_server,
    load_embedder,
    open_memory,
    settings_for,
    wait_for_go,
)

NAMESPACES = ("default", "r1-team")
#: The fault VFS when ``--vfs`` is given (see the module docstring).
VFS: Any = None


def _text(rng: random.Random, cycle: int, seq: int) -> str:
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14)))
    return f"c{cycle} n{seq} {words}"


def _ack(op: str, entry: Any, **extra: Any) -> None:
    if VFS is not None:
        extra["wal_syncs"] = VFS.stat("wal_syncs")
    emit("ack", op=op, id=str(entry.id), ns=entry.namespace, content=entry.content, **extra)


def ingest(memory: Any, rng: random.Random, cycle: int) -> None:
    counter = int(memory.kv_get("counter", 0))
    seq = 0
    while True:
        seq += 1
        ns = rng.choice(NAMESPACES)
        roll = rng.random()
        if roll < 0.35:
            _ack("add", memory.add(_text(rng, cycle, seq), namespace=ns, tags=["r1"]))
        elif roll < 0.55:
            items = [
                {"content": _text(rng, cycle, seq * 100 + i), "namespace": ns}
                for i in range(rng.randint(2, 8))
            ]
            for entry in memory.add_many(items):
                _ack("add_many", entry)
        elif roll < 0.80:
            session = f"s-{cycle}-{rng.randint(0, 2)}"
            role = rng.choice(("user", "assistant"))
            entry = memory.append(session, _text(rng, cycle, seq), role=role, namespace=ns)
            _ack("append", entry, session=session)
        elif roll < 0.90:
            key = f"k-{cycle}-{seq}"
            value = {"cycle": cycle, "seq": seq, "word": rng.choice(WORDS)}
            _ack("kv", memory.kv_set(key, value, namespace=ns), key=key, value=value)
        else:
            counter += 1
            entry = memory.kv_set("counter", counter)
            _ack("counter", entry, key="counter", value=counter)


def checkpoint_loop(memory: Any, rng: random.Random, cycle: int) -> None:
    seq = 0
    while True:
        seq += 1
        emit("ckpt-start")
        applied = memory.store.vectors.checkpoint()
        emit("ckpt-end", seq=applied)
        items = [
            {"content": _text(rng, cycle, seq * 10 + i), "namespace": rng.choice(NAMESPACES)}
            for i in range(rng.randint(1, 3))
        ]
        for entry in memory.add_many(items):
            _ack("add_many", entry)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", nargs="?")
    parser.add_argument("--model-cache", default=None)
    parser.add_argument("--cycle", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mode", choices=("ingest", "checkpoint"), default="ingest")
    parser.add_argument("--wait-go", action="store_true")
    parser.add_argument("--fork-server", action="store_true")
    parser.add_argument("--vfs", default=None)
    parser.add_argument("--vfs-config", default="")
    parser.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL")
    parser.add_argument("--wal-autocheckpoint", type=int, default=1000)
    return parser


def _load_vfs(library: str | None) -> None:
    global VFS
    if library is not None and VFS is None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from vfs import load_in_child

        VFS = load_in_child(library, "buffer=0;fail=none")


def write(args: argparse.Namespace, embedder: Any) -> None:
    """Open the store and write until killed."""
    settings = settings_for(
        args.data_dir,
        args.model_cache or str(Path(args.data_dir) / "models"),
        sqlite_synchronous=args.synchronous,
    )
    _load_vfs(args.vfs)
    if VFS is not None:
        VFS.configure(args.vfs_config)
    memory = open_memory(settings, embedder)
    memory.store.pool.writer.execute(f"PRAGMA wal_autocheckpoint={int(args.wal_autocheckpoint)}")
    rng = random.Random(args.seed)
    emit("ready")
    if args.mode == "ingest":
        ingest(memory, rng, args.cycle)
    else:
        checkpoint_loop(memory, rng, args.cycle)


def _run_forked(argv: list[str], embedder: Any) -> None:
    write(_parser().parse_args(argv), embedder)


def main() -> None:
    args = _parser().parse_args()
    if args.fork_server:
        _load_vfs(args.vfs)  # before any fork: every writer inherits it
        fork_server(args.model_cache, _run_forked)
        return
    if args.data_dir is None:
        _parser().error("DATA_DIR is required")
    model_cache = args.model_cache or str(Path(args.data_dir) / "models")
    embedder = load_embedder(settings_for(args.data_dir, model_cache))
    emit("loaded")
    if args.wait_go:
        wait_for_go()
    write(args, embedder)


if __name__ == "__main__":
    main()
