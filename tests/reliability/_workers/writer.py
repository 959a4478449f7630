"""R8 second writer process: ``--threads`` threads x ``--writes`` adds through its own Memory.

Usage::

    python tests/reliability/_workers/writer.py DATA_DIR --model-cache DIR
        [--writes N] [--threads T] [--tag B] [--seed S]

Protocol (stdout, JSON lines): ``ready`` once the store is open; it then waits
for ``go`` on stdin, writes, closes its Memory (checkpointing its vector index)
and prints ``ack`` lines (id, namespace, content), then ``done`` with its
latencies (seconds) and every error message a client saw.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import WORDS, emit, load_embedder, open_memory, settings_for, wait_for_go  # noqa: E402

NAMESPACES = ("default", "r8-team")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("--model-cache", required=True)
    parser.add_argument("--writes", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tag", default="B")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    settings = settings_for(args.data_dir, args.model_cache)
    memory = open_memory(settings, load_embedder(settings))
    emit("ready")
    wait_for_go()

    acks: list[dict[str, Any]] = []
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        rng = random.Random(args.seed * 1000 + n)
        for i in range(args.writes):
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14)))
            content = f"{args.tag} t{n} w{i}: {words}"
            ns = rng.choice(NAMESPACES)
            started = time.perf_counter()
            try:
                entry = memory.add(content, namespace=ns)
            except Exception as exc:  # noqa: BLE001 - count every error a client would see
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                continue
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                acks.append({"id": str(entry.id), "ns": ns, "content": content})

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    memory.close()
    for ack in acks:
        emit("ack", **ack)
    emit("done", latencies=latencies, errors=errors)


if __name__ == "__main__":
    main()
