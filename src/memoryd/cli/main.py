"""Entry point of the ``memoryd`` console script (``memoryd.cli.main:main``).

Importing this module registers every command on :data:`memoryd.cli.app.app`.
"""

from __future__ import annotations

from memoryd.cli import episodes, evaluate, mcp, memories, patterns, serve, service, transfer
from memoryd.cli.app import app

__all__ = ["app", "main"]

_COMMANDS = (episodes, evaluate, mcp, memories, patterns, serve, service, transfer)


def main() -> None:
    """Run the CLI on ``sys.argv`` (exits with the command's status)."""
    app()


if __name__ == "__main__":
    main()
