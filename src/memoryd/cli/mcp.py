"""``memoryd mcp``: the stdio MCP server for agent clients (see :mod:`memoryd.mcp.stdio`)."""

from __future__ import annotations

from typing import Annotated

import typer

from memoryd.cli.app import DataDirOption, app, state_of
from memoryd.lifecycle.spawn import prestart
from memoryd.logs import configure_logging

__all__ = ["mcp"]


@app.command()
def mcp(
    ctx: typer.Context,
    data_dir: DataDirOption = None,
    auto_start: Annotated[
        bool | None,
        typer.Option(
            "--auto-start/--no-auto-start",
            help="Start a daemon when none runs (Settings.auto_start, default on).",
        ),
    ] = None,
    fallback: Annotated[
        bool | None,
        typer.Option(
            "--fallback/--no-fallback",
            help="Serve in-process when the daemon fails (Settings.fallback_local, default on).",
        ),
    ] = None,
) -> None:
    """Run the MCP server on stdin/stdout (register this command in your agent client).

    With auto-start on, the daemon is started in the background at once, so it
    is warm by the first tool call; the handshake never waits for it.
    """
    settings = state_of(ctx).settings(data_dir, auto_start=auto_start, fallback_local=fallback)
    configure_logging(settings.log_level, settings.log_format)  # stderr: stdout is the protocol
    if settings.auto_start:
        prestart(settings)  # the daemon boots while this process loads the MCP SDK
    from memoryd.mcp.stdio import run_stdio  # the MCP SDK loads only for this command

    run_stdio(settings)
