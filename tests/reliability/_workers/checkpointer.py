"""Writer that checkpoints the vector index after every write (several run on one store).

Usage::

    python tests/reliability/_workers/checkpointer.py DATA_DIR --model-cache DIR
        [--seconds S] [--seed N] [--tag T]

Protocol: ``ready`` once the store is open; after ``go`` on stdin it loops
for ``--seconds``: ``add`` of one memory with a random unit vector (and, every
fourth round, an ``update`` of its own previous memory to a new vector), then
``memory.store.vectors.checkpoint()``. It then closes the store and prints one
``ack`` per live memory it wrote (id, namespace, vector) and ``done`` with
the number of checkpoints and every error message.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit, load_embedder, open_memory, settings_for, wait_for_go  # noqa: E402

NAMESPACES = ("default", "ckpt-a", "ckpt-b")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("--model-cache", required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tag", default="P")
    args = parser.parse_args()
    settings = settings_for(args.data_dir, args.model_cache)
    memory = open_memory(settings, load_embedder(settings), background=False)
    emit("ready")
    wait_for_go()
    rng = np.random.default_rng(args.seed)
    live: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    checkpoints = 0
    deadline = time.monotonic() + args.seconds
    n = 0
    while time.monotonic() < deadline:
        n += 1
        vector = rng.standard_normal(memory.store.dim).astype(np.float32)
        vector /= np.linalg.norm(vector)
        ns = NAMESPACES[n % len(NAMESPACES)]
        try:
            if n % 4 == 0 and live:
                ack = live[next(reversed(live))]
                memory.update(ack["id"], vector=vector.tolist(), namespace=ack["ns"])
                ack["vector"] = vector.tolist()
            else:
                entry = memory.add(f"{args.tag} {n} checkpoint race", namespace=ns, vector=vector)
                live[str(entry.id)] = {"id": str(entry.id), "ns": ns, "vector": vector.tolist()}
            memory.store.vectors.checkpoint()
            checkpoints += 1
        except Exception as exc:  # noqa: BLE001 - count every error a client would see
            errors.append(f"{type(exc).__name__}: {exc}")
    try:
        memory.close()
    except Exception as exc:  # noqa: BLE001
        errors.append(f"close: {type(exc).__name__}: {exc}")
    for ack in live.values():
        emit("ack", **ack)
    emit("done", checkpoints=checkpoints, errors=errors)


if __name__ == "__main__":
    main()
