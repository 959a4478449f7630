"""R8 CLI-like reader: opens the store, reads, closes, again and again, until told to stop.

Usage::

    python tests/reliability/_workers/reader.py DATA_DIR --model-cache DIR [--seed S]

Each round is what one CLI command does: ``Memory(...)`` (migrations check,
PRAGMA verification, index load and catch-up), ``stats``, ``list``, a
keyword and a hybrid ``search``, ``get`` of a listed entry, then ``close``
(which checkpoints the vector index if it changed). Protocol: ``ready`` after
the model is loaded; rounds run until ``stop`` arrives on stdin; then
``done`` with the number of rounds, rows seen and every error message.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import WORDS, emit, load_embedder, open_memory, settings_for  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("--model-cache", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    settings = settings_for(args.data_dir, args.model_cache)
    embedder = load_embedder(settings)
    stop = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.readline()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    rng = random.Random(args.seed)
    rounds = 0
    max_rows = 0
    errors: list[str] = []
    emit("ready")
    while not stop.is_set():
        rounds += 1
        try:
            with open_memory(settings, embedder, background=False) as memory:
                max_rows = max(max_rows, memory.stats().total)
                page = memory.list(limit=20, namespace=rng.choice(("default", "r8-team")))
                query = " ".join(rng.choice(WORDS) for _ in range(3))
                memory.search(query, mode="keyword", limit=5)
                memory.search(query, limit=5)
                if page.items:
                    memory.get(page.items[0].id, namespace=page.items[0].namespace)
        except Exception as exc:  # noqa: BLE001 - count every error a client would see
            errors.append(f"{type(exc).__name__}: {exc}")
    emit("done", rounds=rounds, max_rows=max_rows, errors=errors)


if __name__ == "__main__":
    main()
