"""``memoryd serve``: run the daemon (a thin command over :func:`memoryd.server.run`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from memoryd.cli.app import app, state_of

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
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Store folder (Settings.data_dir).")
    ] = None,
) -> None:
    """Run the memoryd daemon (REST + MCP over HTTP) until SIGTERM/SIGINT."""
    state = state_of(ctx)
    overrides: dict[str, Any] = {"host": host, "port": port}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    settings = state.settings(**overrides)
    from memoryd.server import run  # FastAPI and uvicorn load only for this command

    run(settings)
