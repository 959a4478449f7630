"""``python -m memoryd.server``: run the daemon in the foreground.

Flags override ``MEMORYD_*`` environment variables and the config file; every
other setting comes from those. Errors print ``error[code]: message`` on one
line of stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from memoryd.config import load_settings
from memoryd.errors import MemorydError
from memoryd.server.runner import run


def main(argv: list[str] | None = None) -> int:
    """Parse flags, load settings, serve until a signal; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m memoryd.server", description=__doc__)
    parser.add_argument("--data-dir", type=Path, help="data directory (store, token, models)")
    parser.add_argument("--host", help="bind address (loopback unless allow_remote)")
    parser.add_argument("--port", type=int, help="TCP port")
    parser.add_argument(
        "--auto-started",
        action="store_true",
        help="started on demand by a client: stop after idle_timeout_s idle seconds",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings(data_dir=args.data_dir, host=args.host, port=args.port)
        run(settings, auto_started=args.auto_started)
    except MemorydError as exc:
        print(f"error[{exc.code}]: {exc.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
