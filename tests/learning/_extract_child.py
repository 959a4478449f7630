"""Child process of the restart test: drains the extraction queue one episode at a time.

Usage: ``python _extract_child.py DATA_DIR MODEL_CACHE_DIR``. Prints one JSON
line ``{"done": n}`` after each committed episode; the parent kills it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from memoryd import Memory, Settings


def main() -> None:
    settings = Settings(data_dir=Path(sys.argv[1]), model_cache_dir=Path(sys.argv[2]))
    memory = Memory(settings, background=False)
    done = 0
    while True:
        report = memory.extract_patterns(limit=1)
        done += report.episodes
        print(json.dumps({"done": done, "left": report.queue_remaining}), flush=True)
        if report.queue_remaining == 0:
            time.sleep(600)


if __name__ == "__main__":
    main()
