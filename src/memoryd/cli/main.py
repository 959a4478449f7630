"""Entry point of the ``memoryd`` console script (``memoryd.cli.main:main``).

The commands register on :data:`memoryd.cli.app.app` when the app is first
loaded (``main()`` or ``from memoryd.cli.main import app``). ``memoryd mcp``
takes a fast path first: it starts the daemon in the background before the
CLI (typer, rich) and the MCP SDK are imported, so the daemon boots while
this process loads (see :func:`memoryd.lifecycle.spawn.prestart`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["main"]  # and ``app`` (loaded on first access, see __getattr__)


def _load_app() -> Any:
    from memoryd.cli import (  # noqa: F401 - importing registers the commands
        episodes,
        evaluate,
        mcp,
        memories,
        patterns,
        serve,
        service,
        storage,
        transfer,
    )
    from memoryd.cli.app import app

    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        return _load_app()
    raise AttributeError(f"module 'memoryd.cli.main' has no attribute {name!r}")


def _prestart_for_mcp(argv: list[str]) -> None:
    """``memoryd [--data-dir D] mcp ...`` with auto-start on: start the daemon now.

    Only the unambiguous forms take this path (``mcp`` as the first bare
    word); anything else, and any settings error, is left to the normal CLI,
    which reports it.
    """
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--data-dir")
    parser.add_argument("--no-auto-start", action="store_true")
    known, rest = parser.parse_known_args(argv)
    words = [arg for arg in rest if not arg.startswith("-")]
    if not words or words[0] != "mcp" or known.no_auto_start:
        return
    from memoryd.config import load_settings
    from memoryd.errors import MemorydError
    from memoryd.lifecycle.spawn import prestart

    try:
        settings = load_settings(data_dir=known.data_dir)
    except MemorydError:
        return  # the CLI loads the settings again and prints this error
    if settings.auto_start:
        prestart(settings)


def main() -> None:
    """Run the CLI on ``sys.argv`` (exits with the command's status)."""
    _prestart_for_mcp(sys.argv[1:])
    _load_app()()


if __name__ == "__main__":
    main()
