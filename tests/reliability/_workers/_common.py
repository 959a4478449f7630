"""Shared helpers of the reliability child processes (run as scripts, not collected).

Every child talks to its parent test over stdout, one JSON object per line,
flushed at once: ``{"t": "loaded"}``, ``{"t": "ready"}``, ``{"t": "ack", ...}``.
An ``ack`` line is printed only after the call it reports has returned.
"""

from __future__ import annotations

import json
import sys
import time
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
