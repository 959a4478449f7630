"""One of two engines racing on one store (issue 11, defect 6): runs the writes it is sent.

Usage::

    python tests/reliability/_workers/racer.py DATA_DIR --model-cache DIR [--url URL]

Without ``--url`` it opens the store in-process like ``memoryd --local``
(``Memory(settings, background=False)``: every write embeds before its
commit); with ``--url`` it writes through ``Client`` to that daemon.

Protocol (stdout, JSON lines): ``ready`` once open; then for each stdin line
``{"op": "add"|"add_id"|"kv", "content": ..., "namespace": ..., "id"/"key": ...}``
it makes the call as soon as the line arrives (the parent sends the same
line to both racers at once: the barrier) and prints ``ack`` with ``id`` or
with the error's ``code`` and ``message``. EOF on stdin: close and print ``done``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit, load_embedder, settings_for  # noqa: E402
from memoryd import Client, Memory, MemorydError  # noqa: E402


def _call(backend: Memory | Client, op: dict[str, Any]) -> str:
    if op["op"] == "add":
        return str(backend.add(op["content"], namespace=op["namespace"]).id)
    if op["op"] == "add_id":
        return str(backend.add(op["content"], namespace=op["namespace"], id=op["id"]).id)
    return str(backend.kv_set(op["key"], op["content"], namespace=op["namespace"]).id)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("--model-cache", required=True)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    settings = settings_for(args.data_dir, args.model_cache)
    backend: Memory | Client
    if args.url is None:
        backend = Memory(settings, embedder=load_embedder(settings), background=False)
    else:
        backend = Client(settings, base_url=args.url, timeout_s=60.0)
    emit("ready")
    for line in sys.stdin:
        op = json.loads(line)
        try:
            emit("ack", id=_call(backend, op), tag=op["tag"])
        except MemorydError as exc:
            emit("ack", code=exc.code, message=exc.message, tag=op["tag"])
    backend.close()
    emit("done")


if __name__ == "__main__":
    main()
