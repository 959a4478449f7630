"""``memoryd serve``: run the daemon (a thin command over :func:`memoryd.server.run`)."""

from __future__ import annotations

from typing import Annotated

import typer

from memoryd.cli.app import DataDirOption, app, state_of

__all__ = ["serve"]


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option("--host", help="Bind address (Settings.host; loopback default).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=0, max=65535, help="TCP port (Settings.port).")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run the memoryd daemon (REST + MCP over HTTP) until SIGTERM/SIGINT."""
    settings = state_of(ctx).settings(data_dir, host=host, port=port)
    from memoryd.server import run  # FastAPI and uvicorn load only for this command

    run(settings)
