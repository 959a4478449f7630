"""Shared helpers of the reliability child processes (run as scripts, not collected).

Every child talks to its parent test over stdout, one JSON object per line,
flushed at once: ``{"t": "loaded"}``, ``{"t": "ready"}``, ``{"t": "ack", ...}``.
An ``ack`` line is printed only after the call it reports has returned.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from memoryd import Memory, Settings
from memoryd.embeddings import Embedder, create_embedder

WORDS = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike "
    "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu "
    "tea coffee garden river mountain meeting project budget invoice recipe travel python "
    "sqlite vector memory agent kernel laptop bicycle museum concert"
).split()


def emit(kind: str, **fields: Any) -> None:
    """Print one protocol line (with ``ts``, ``time.monotonic()``) and flush it."""
    sys.stdout.write(json.dumps({"t": kind, "ts": time.monotonic(), **fields}) + "\n")
    sys.stdout.flush()


def settings_for(data_dir: str, model_cache: str, **overrides: Any) -> Settings:
    """Settings of a store in ``data_dir`` that use the shared exported model."""
    return Settings(data_dir=Path(data_dir), model_cache_dir=Path(model_cache), **overrides)


def load_embedder(settings: Settings) -> Embedder:
    """The real local embedder, loaded and warmed up (model load is not timed by parents)."""
    embedder = create_embedder(settings)
    embedder.embed(["warmup"])
    return embedder


def wait_for_go() -> None:
    """Block until the parent writes ``go`` on stdin (exit quietly on EOF)."""
    line = sys.stdin.readline()
    if line.strip() != "go":
        sys.exit(0)


def open_memory(settings: Settings, embedder: Embedder, *, background: bool = True) -> Memory:
    """Open the engine over ``settings.data_dir``."""
    return Memory(settings=settings, embedder=embedder, background=background)


def _forked(out: str, argv: list[str], embedder: Embedder, run: Callable[..., None]) -> None:
    """The forked child: protocol lines to ``out``, stdin from ``/dev/null``, then ``run``.

    Exits 0 when ``run`` returns, 1 when it raises (the traceback goes to stderr).
    """
    code = 1
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        run(argv, embedder)
        code = 0
    except BaseException:
        logging.getLogger("worker").exception("forked worker failed")
    finally:
        sys.stdout.flush()
        os._exit(code)


def fork_server(model_cache: str, run: Callable[[list[str], Embedder], None]) -> None:
    """Load the model once, then fork workers on request (``_support.ForkServer``).

    Prints ``loaded``, then reads JSON commands on stdin:
    ``{"op": "spawn", "out": FILE, "args": [...]}`` forks a child running
    ``run(args, embedder)`` with its stdout on ``FILE`` (it opens its store
    itself, after the fork) and answers ``spawned`` with its pid;
    ``{"op": "reap", "pid": N}`` waits for that child and answers ``reaped``
    with its wait status. The ONNX session is single-threaded, so it survives
    ``fork``.
    """
    settings = settings_for(str(Path(model_cache).parent), model_cache, embedding_threads=1)
    embedder = load_embedder(settings)
    emit("loaded")
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "spawn":
            pid = os.fork()
            if pid == 0:
                _forked(cmd["out"], cmd["args"], embedder, run)
            emit("spawned", pid=pid)
        elif cmd["op"] == "reap":
            _, status = os.waitpid(int(cmd["pid"]), 0)
            emit("reaped", pid=int(cmd["pid"]), status=status)
