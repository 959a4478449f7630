"""R6 child: the real daemon (``python -m memoryd.server``) with the fault VFS as SQLite's default.

Usage::

    python tests/reliability/_workers/vfs_daemon.py LIBRARY CONFIG [server flags...]

``LIBRARY`` is the built ``faultvfs`` shared object, ``CONFIG`` its
configuration string (e.g. ``"control=/tmp/x/control;log=/tmp/x/events"``).
The VFS is registered before memoryd opens any connection, so every SQLite
file the daemon touches goes through it; settings come from ``MEMORYD_*``
variables as for any daemon.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vfs import load_in_child  # noqa: E402


def main() -> int:
    library, config, *server_args = sys.argv[1:]
    load_in_child(library, config)
    from memoryd.server.__main__ import main as serve

    return serve(server_args)


if __name__ == "__main__":
    sys.exit(main())
