"""The files that install memoryd as a per-user service: a systemd unit and a launchd agent.

Both run ``<python> -m memoryd.server --data-dir <data_dir>`` (the
interpreter of the installing environment, so the service finds the same
packages), restart it when it fails, never for idleness, and log to
``Settings.resolved_log_file`` (``memoryd service logs`` tails it).

systemd (``man systemd.service``): ``Type=notify`` — the daemon sends
``READY=1`` once the store is open and the model warm, and ``STOPPING=1``
on shutdown; ``WatchdogSec=5`` — it pings ``WATCHDOG=1`` from its event
loop, so a loop blocked for 5 s gets it restarted (RELIABILITY.md R15);
``TimeoutStopSec`` leaves room for the 10 s drain (R13).

launchd (``man launchd.plist``): ``Label``, ``ProgramArguments``,
``RunAtLoad`` and ``KeepAlive`` ``{SuccessfulExit: false}`` (restart after a
crash, not after a clean stop).
"""

from __future__ import annotations

import plistlib
import sys
from pathlib import Path

from memoryd.config import Settings

__all__ = [
    "LAUNCHD_LABEL",
    "SYSTEMD_UNIT",
    "launchd_plist",
    "launchd_plist_path",
    "server_command",
    "systemd_unit",
    "systemd_unit_path",
]

SYSTEMD_UNIT = "memoryd.service"
LAUNCHD_LABEL = "dev.memoryd.daemon"
WATCHDOG_S = 5  # RELIABILITY.md R15: liveness fails if the loop is blocked > 5 s


def server_command(settings: Settings, python: str | None = None) -> list[str]:
    """``[python, "-m", "memoryd.server", "--data-dir", <data_dir>]``."""
    return [python or sys.executable, "-m", "memoryd.server", "--data-dir", str(settings.data_dir)]


def _quote(arg: str) -> str:
    """One systemd command-line word (``man systemd.syntax``: double quotes, backslash escapes)."""
    if arg and all(c.isalnum() or c in "/._-:=@+," for c in arg):
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{escaped}"'


def systemd_unit(settings: Settings, python: str | None = None) -> str:
    """The text of ``memoryd.service`` (a systemd user unit)."""
    command = " ".join(_quote(arg) for arg in server_command(settings, python))
    stop_s = int(settings.shutdown_timeout_s) + 10
    return f"""[Unit]
Description=memoryd: local-first memory service for AI agents

[Service]
Type=notify
NotifyAccess=main
ExecStart={command}
Environment=HF_HUB_OFFLINE=1
Restart=on-failure
RestartSec=2
TimeoutStartSec=120
TimeoutStopSec={stop_s}
WatchdogSec={WATCHDOG_S}
KillSignal=SIGTERM
UMask=0077

[Install]
WantedBy=default.target
"""


def launchd_plist(settings: Settings, python: str | None = None) -> bytes:
    """The XML of the launchd agent ``dev.memoryd.daemon``."""
    log_dir = settings.resolved_log_file.parent
    document = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": server_command(settings, python),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ProcessType": "Background",
        "EnvironmentVariables": {"HF_HUB_OFFLINE": "1"},
        "StandardOutPath": str(log_dir / "launchd.out"),
        "StandardErrorPath": str(log_dir / "launchd.err"),
        "ExitTimeOut": int(settings.shutdown_timeout_s) + 10,
        "Umask": 0o077,
    }
    return plistlib.dumps(document, fmt=plistlib.FMT_XML, sort_keys=True)


def systemd_unit_path(home: Path | None = None) -> Path:
    """``~/.config/systemd/user/memoryd.service``."""
    return (home or Path.home()) / ".config" / "systemd" / "user" / SYSTEMD_UNIT


def launchd_plist_path(home: Path | None = None) -> Path:
    """``~/Library/LaunchAgents/dev.memoryd.daemon.plist``."""
    return (home or Path.home()) / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"
