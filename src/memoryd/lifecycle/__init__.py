"""The daemon's lifecycle seen from outside: find it, start it, report to service managers.

* :mod:`.runtime` — ``<data_dir>/daemon.json`` (pid, address, start mode) and
  :func:`discover`, which tells a live daemon from a stale file.
* :mod:`.ports` — bind the listening socket, naming the program that holds a busy port.
* :mod:`.spawn` — :func:`start_daemon`: one auto-started daemon per data dir,
  however many clients ask at once.
* :mod:`.notify` — ``sd_notify`` READY/STOPPING for systemd ``Type=notify`` units.
* :mod:`.service` — systemd user unit and launchd agent: generate, install, control.
"""

from memoryd.lifecycle.runtime import RuntimeInfo, discover, read_runtime
from memoryd.lifecycle.spawn import start_daemon

__all__ = ["RuntimeInfo", "discover", "read_runtime", "start_daemon"]
