"""``memoryd service``: install, control and inspect memoryd as a per-user service.

``install`` writes a systemd user unit (Linux) or a launchd agent (macOS)
for this data dir and this Python and starts it; ``status`` and ``logs``
work for any daemon of the data dir, however it was started.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from memoryd.cli.app import command_group, state_of
from memoryd.cli.render import render
from memoryd.lifecycle.service import (
    ManagerKind,
    ServiceManager,
    daemon_status,
    tail_log,
)

__all__ = ["service_app"]

service_app = command_group(
    "service", "Run memoryd as a user service (systemd on Linux, launchd on macOS)."
)

Kind = Annotated[
    ManagerKind | None,
    typer.Option("--manager", help="systemd or launchd (default: this platform's)."),
]


def _manager(ctx: typer.Context, kind: ManagerKind | None) -> ServiceManager:
    return ServiceManager(state_of(ctx).settings(), kind=kind)


@service_app.command()
def install(
    ctx: typer.Context,
    manager: Kind = None,
    start: Annotated[
        bool, typer.Option("--start/--no-start", help="Enable and start it now.")
    ] = True,
    print_only: Annotated[
        bool, typer.Option("--print", help="Print the unit/agent file; install nothing.")
    ] = False,
) -> None:
    """Install the service for this data dir (and start it)."""
    service = _manager(ctx, manager)
    if print_only:
        sys.stdout.write(service.render().decode("utf-8"))
        return
    path = service.install(start=start)
    render(
        {"installed": str(path), "manager": service.kind, "started": start}, state_of(ctx).output
    )


@service_app.command()
def uninstall(ctx: typer.Context, manager: Kind = None) -> None:
    """Stop, disable and remove the service."""
    service = _manager(ctx, manager)
    render({"removed": str(service.uninstall()), "manager": service.kind}, state_of(ctx).output)


@service_app.command()
def start(ctx: typer.Context, manager: Kind = None) -> None:
    """Start the installed service."""
    _manager(ctx, manager).control("start")


@service_app.command()
def stop(ctx: typer.Context, manager: Kind = None) -> None:
    """Stop the installed service (graceful: in-flight requests finish)."""
    _manager(ctx, manager).control("stop")


@service_app.command()
def restart(ctx: typer.Context, manager: Kind = None) -> None:
    """Restart the installed service."""
    _manager(ctx, manager).control("restart")


@service_app.command()
def status(ctx: typer.Context, manager: Kind = None) -> None:
    """pid, port, uptime, store size and health of this data dir's daemon.

    Exits 0 when a daemon runs and is ready, 3 otherwise (like ``systemctl status``).
    """
    state = state_of(ctx)
    service = _manager(ctx, manager)
    report = daemon_status(service.settings, service.path)
    render(report, state.output)
    if not (report.running and report.ready):
        raise typer.Exit(3)


@service_app.command()
def logs(
    ctx: typer.Context,
    lines: Annotated[int, typer.Option("-n", "--lines", min=0, help="Last N lines.")] = 50,
    follow: Annotated[
        bool, typer.Option("-f", "--follow", help="Keep printing new lines.")
    ] = False,
) -> None:
    """Print the daemon's log (JSON lines); ``-f`` follows it until Ctrl-C."""
    settings = state_of(ctx).settings()
    try:
        for line in tail_log(settings.resolved_log_file, lines=lines, follow=follow):
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
    except KeyboardInterrupt:
        return
